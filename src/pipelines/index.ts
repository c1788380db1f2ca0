import type { RunContext } from './context.js';
import { deployPipeline } from './deploy.js';
import { previewCleanupPipeline } from './preview-cleanup.js';
import { previewPipeline } from './preview.js';
import { rollbackPipeline } from './rollback.js';

/** One orchestrator per mode; the settings' mode picks it (and narrows the settings type). */
export async function runPipeline(ctx: RunContext): Promise<void> {
  const settings = ctx.settings;
  switch (settings.mode) {
    case 'deploy':
      return deployPipeline({ ...ctx, settings });
    case 'preview':
      return previewPipeline({ ...ctx, settings });
    case 'preview-cleanup':
      return previewCleanupPipeline({ ...ctx, settings });
    case 'rollback':
      return rollbackPipeline({ ...ctx, settings });
  }
}
