import { ActionError } from '../errors.js';
import type { RunContext } from './context.js';
import { deployPipeline } from './deploy.js';

/** One orchestrator per mode; the settings' mode picks it (and narrows the settings type). */
export async function runPipeline(ctx: RunContext): Promise<void> {
  const settings = ctx.settings;
  switch (settings.mode) {
    case 'deploy':
      return deployPipeline({ ...ctx, settings });
    case 'preview':
    case 'preview-cleanup':
    case 'rollback':
      throw new ActionError(`Input 'mode': '${settings.mode}' is not implemented yet; use mode: deploy.`);
  }
}
