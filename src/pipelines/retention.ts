import {
  deleteVersion,
  listAliases,
  listVersions,
  protectedVersions,
  versionsToDelete,
} from '../release/function/versions.js';
import type { DeploySettings, PreviewModeSettings } from '../settings.js';
import type { RunContext } from './context.js';
import type { StepTimer } from './steps.js';

/**
 * keep-versions: after success, delete all but the newest N versions that no alias serves, weights
 * or records as its previous version (the rollback target).
 */
export async function applyRetention(
  ctx: RunContext<DeploySettings | PreviewModeSettings>,
  steps: StepTimer,
  keep: number,
): Promise<void> {
  if (keep <= 0) return;
  const { clients, settings, logger } = ctx;
  await steps.run(`Retention (keep ${keep})`, async () => {
    // Read the aliases after the versions, so a version aliased in between is seen as referenced.
    const versions = await listVersions(clients.lambda, settings.functionName);
    const protectedReasons = protectedVersions(
      await listAliases(clients.lambda, settings.functionName),
    );
    const referenced = new Set(protectedReasons.keys());
    const doomed = versionsToDelete(
      versions.map((v) => v.version),
      referenced,
      keep,
    );
    for (const version of doomed) {
      await deleteVersion(clients.lambda, settings.functionName, version);
      logger.info(`Deleted version ${version}`);
    }
    const kept = versions.map((v) => v.version).filter((v) => !doomed.includes(v));
    ctx.report.section('Retention', [
      doomed.length > 0
        ? `Deleted ${doomed.length} unaliased version(s): ${doomed.join(', ')}.`
        : 'No version to delete.',
      `Kept: ${kept.join(', ') || '(none)'} (protected: ${[...referenced].sort((a, b) => Number(a) - Number(b)).join(', ') || 'none'}).`,
    ]);
  });
}
