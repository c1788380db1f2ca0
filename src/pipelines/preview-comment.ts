import type { PreviewCommentOptions } from '../report/pr-comment.js';
import type { PreviewCleanupSettings, PreviewModeSettings } from '../settings.js';
import type { RunContext } from './context.js';

/** Where the sticky preview comment goes, and with which token: the same for preview and cleanup. */
export function previewCommentTarget(
  ctx: RunContext<PreviewModeSettings | PreviewCleanupSettings>,
): Pick<
  PreviewCommentOptions,
  'token' | 'apiUrl' | 'fetch' | 'repository' | 'prNumber' | 'logger'
> {
  return {
    token: ctx.settings.githubToken,
    apiUrl: ctx.github.apiUrl,
    fetch: ctx.fetch,
    repository: ctx.github.repository,
    prNumber: ctx.settings.preview.prNumber,
    logger: ctx.logger,
  };
}
