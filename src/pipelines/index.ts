import { ActionError } from '../errors.js';
import type { Mode } from '../settings.js';
import type { Pipeline } from './context.js';

/** One orchestrator per mode. */
export function pipelineFor(mode: Mode): Pipeline {
  switch (mode) {
    case 'deploy':
      // The build and release steps arrive next; until then a deploy only verifies access.
      return async (ctx) => {
        ctx.logger.notice('The deploy pipeline is not implemented yet: credentials and identity were verified, nothing was changed.');
      };
    case 'preview':
    case 'preview-cleanup':
    case 'rollback':
      return async () => {
        throw new ActionError(`Input 'mode': '${mode}' is not implemented yet; use mode: deploy.`);
      };
  }
}
