import { errorMessage } from '../errors.js';
import {
  deleteVersions,
  listAliases,
  listVersions,
  pinnedValues,
  protectedVersions,
  versionsToDelete,
} from '../release/function/versions.js';
import { MANIFEST_ENV } from '../packaging/model-manifest.js';
import { deleteUnreferencedModelObjects } from '../packaging/model-retention.js';
import type { DeploySettings, PreviewModeSettings } from '../settings.js';
import type { RunContext } from './context.js';
import type { StepTimer } from './steps.js';

/**
 * keep-versions: after success, delete all but the newest N versions that no alias serves, weights
 * or records as its previous version (the rollback target); with model-store s3, then the model
 * files and manifests no remaining version pins.
 */
export async function applyRetention(
  ctx: RunContext<DeploySettings | PreviewModeSettings>,
  steps: StepTimer,
  keep: number,
): Promise<void> {
  if (keep <= 0) return;
  try {
    await retain(ctx, steps, keep);
  } catch (error) {
    // The release itself succeeded: a cleanup that failed must not turn the job red.
    ctx.logger.warning(
      `keep-versions ${keep}: deleting old versions failed after a successful release (${errorMessage(error)}). ` +
        'Nothing was undone; the old versions stay until the next run.',
    );
    ctx.report.section('Retention', [`⚠️ Not applied: ${errorMessage(error)}`]);
  }
}

async function retain(
  ctx: RunContext<DeploySettings | PreviewModeSettings>,
  steps: StepTimer,
  keep: number,
): Promise<void> {
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
    const deleted = await deleteVersions(clients.lambda, settings.functionName, doomed, logger);
    const kept = versions.map((v) => v.version).filter((v) => !deleted.includes(v));
    const modelLines: string[] = [];
    if (settings.build.modelStore === 's3') {
      // Read after the deletions: what the remaining versions (and $LATEST) pin is kept.
      const pinned = await pinnedValues(clients.lambda, settings.functionName, MANIFEST_ENV);
      const removed = await deleteUnreferencedModelObjects(clients.s3, {
        bucket: settings.build.s3Bucket,
        prefix: settings.build.s3Prefix,
        manifestUris: pinned,
        now: ctx.clock.now(),
        logger,
        sleep: ctx.clock.sleep,
      });
      modelLines.push(
        `Model store: ${removed.length} object(s) no remaining version pins deleted; ${pinned.size} manifest(s) pinned.`,
      );
      logger.info(modelLines[0] ?? '');
    }
    ctx.report.section('Retention', [
      deleted.length > 0
        ? `Deleted ${deleted.length} unaliased version(s): ${deleted.join(', ')}.`
        : 'No version to delete.',
      `Kept: ${kept.join(', ') || '(none)'} (protected: ${[...referenced].sort((a, b) => Number(a) - Number(b)).join(', ') || 'none'}).`,
      ...modelLines,
    ]);
  });
}
