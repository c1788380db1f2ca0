import type { ChangeRow } from '../release/function/change.js';
import { putCodeSigningConfig, readCodeSigningConfig } from '../release/function/code-signing.js';
import type { DesiredConfig } from '../release/function/desired-config.js';
import type { FunctionState } from '../release/function/function.js';
import { applyTags, planTags, readTags } from '../release/function/tags.js';
import type { DeploySettings, PreviewModeSettings } from '../settings.js';
import type { RunContext } from './context.js';

/**
 * Tags and the code signing configuration of an existing function: read, compared and (unless a
 * dry run) applied. They are not part of a version, so they never make a run publish. Returns
 * what changed, for the summary.
 */
export async function syncFunctionLevel(
  ctx: RunContext<DeploySettings | PreviewModeSettings>,
  fn: FunctionState,
  desired: DesiredConfig,
): Promise<ChangeRow[]> {
  const { clients, logger, settings } = ctx;
  const name = settings.functionName;
  const rows: ChangeRow[] = [];
  if (desired.codeSigningConfigArn) {
    const current = await readCodeSigningConfig(clients.lambda, name);
    if (current !== desired.codeSigningConfigArn) {
      rows.push({
        field: 'codeSigning',
        label: 'code signing config',
        before: current ?? '(not set)',
        after: desired.codeSigningConfigArn,
      });
      if (!settings.dryRun)
        await putCodeSigningConfig(clients.lambda, name, desired.codeSigningConfigArn);
    }
  }
  if (desired.tags) {
    const arn = (fn.arn ?? '').replace(/:\$LATEST$/, '');
    const plan = planTags(await readTags(clients.lambda, arn), desired.tags);
    rows.push(...plan.rows);
    if (!settings.dryRun) await applyTags(clients.lambda, arn, plan);
    if (plan.rows.length > 0)
      logger.info(`Tags: ${plan.rows.map((r) => `${r.label.slice(4)}=${r.after}`).join(', ')}`);
  }
  return rows;
}
