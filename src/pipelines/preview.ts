import { ActionError, errorMessage, InputError } from '../errors.js';
import type { GithubContext } from '../github-context.js';
import {
  describeAliasState,
  formatAliasDescription,
  isPreviewAliasOf,
  previewDescription,
  userDescription,
  type AliasState,
} from '../release/traffic/alias-plan.js';
import { createAlias, pointAlias } from '../release/traffic/alias.js';
import { ensureFunctionUrl } from '../release/function/function-url.js';
import { describeSmokeFailure } from '../release/smoke/smoke-run.js';
import { deleteVersions, listAliases } from '../release/function/versions.js';
import { publishPreviewComment, type PreviewCommentInfo } from '../report/pr-comment.js';
import type { PreviewModeSettings } from '../settings.js';
import { buildArtifacts, loadSpec, publishCandidate } from './candidate.js';
import type { RunContext } from './context.js';
import { previewCommentTarget } from './preview-comment.js';
import { planVersionCleanup, previewAliasName } from './preview-cleanup.js';
import { applyRetention } from './retention.js';
import { StepTimer } from './steps.js';

/** The commit the preview was built from: the PR head when the event says, else GITHUB_SHA. Pure. */
export function previewCommit(github: Pick<GithubContext, 'payload' | 'sha'>): string {
  const head = (github.payload.pull_request as { head?: { sha?: unknown } } | undefined)?.head?.sha;
  return typeof head === 'string' && head ? head : github.sha;
}

/**
 * preview (pull_request opened / synchronize / reopened): the deploy's build -> publish -> smoke
 * path, then `<prefix><PR number>` points at the new version (all at once; `alias` is never
 * touched), a function URL on it, and one sticky PR comment. The version the preview served
 * before, or a new one that failed its smoke tests, is deleted when nothing else needs it, so a PR
 * has one version at most.
 */
export async function previewPipeline(ctx: RunContext<PreviewModeSettings>): Promise<void> {
  const { settings, clients, logger, report, result } = ctx;
  const steps = new StepTimer(logger, ctx.clock);
  const fn = settings.functionName;
  const aliasName = previewAliasName(settings.preview);
  const commit = previewCommit(ctx.github);
  const aliasOptions = { logger };
  result.rolledBack = false;

  const comment = (
    info: Omit<PreviewCommentInfo, 'functionName' | 'alias' | 'commit' | 'runUrl'>,
  ) =>
    steps.run('PR comment', () =>
      publishPreviewComment({
        ...previewCommentTarget(ctx),
        info: {
          functionName: fn,
          alias: aliasName,
          ...(commit ? { commit } : {}),
          ...(ctx.github.runUrl ? { runUrl: ctx.github.runUrl } : {}),
          ...info,
        },
      }),
    );

  try {
    if (aliasName === settings.alias) {
      throw new InputError(
        'preview-alias-prefix',
        `makes the preview alias '${aliasName}' the same as alias '${settings.alias}', which previews must never touch; use a prefix such as pr-`,
      );
    }
    if (aliasName.length > 128)
      throw new InputError(
        'preview-alias-prefix',
        `makes the preview alias '${aliasName}' longer than Lambda's 128 characters`,
      );

    const spec = await loadSpec(ctx, steps);
    const built = await buildArtifacts(ctx, steps);
    const candidate = await publishCandidate(ctx, steps, built, spec, aliasName);
    if (!candidate) {
      report.setHeadline(
        `🔍 Dry run: nothing was uploaded, published or moved; \`${aliasName}\` is unchanged.`,
      );
      return;
    }
    const before = candidate.aliasBefore;
    if (before.exists && !isPreviewAliasOf(before, settings.preview.prNumber)) {
      throw new ActionError(
        `Alias '${aliasName}' exists but was not created by this action as the preview of PR #${settings.preview.prNumber} ` +
          `(its description has no 'pr=${settings.preview.prNumber}' marker); it was left as it is. ` +
          'Choose another preview-alias-prefix, or delete the alias if it is a stale one.',
      );
    }
    const unchanged = candidate.decision.kind === 'unchanged';
    result.changed = !unchanged;

    if (candidate.smoke && !candidate.smoke.passed) {
      const why = describeSmokeFailure(candidate.smoke);
      const where = before.exists
        ? `still serves ${describeAliasState(before)}`
        : 'was not created';
      report.setHeadline(
        `❌ Smoke tests failed on version ${candidate.version}: preview alias \`${aliasName}\` ${where}.`,
      );
      await comment({
        status: 'smoke-failed',
        version: candidate.version,
        aliasVersionAfter: before.functionVersion ?? 'none',
        smoke: candidate.smoke,
        reason: why,
      });
      await deleteFailedVersion(ctx, steps, candidate.version);
      throw new ActionError(
        `Version ${candidate.version} failed its smoke tests, so preview alias '${aliasName}' ${where}: ${why}.`,
      );
    }
    if (!spec)
      logger.warning(
        `No smoke-tests input: preview version ${candidate.version} is served without being invoked first. Add a smoke-test spec.`,
      );

    let after: AliasState = before;
    if (unchanged) {
      result.smokeResult = 'skipped';
      steps.skip(
        `Point '${aliasName}'`,
        `it already serves version ${candidate.version} with this bundle`,
      );
    } else {
      after = await steps.run(`Point '${aliasName}' at version ${candidate.version}`, () => {
        const description = formatAliasDescription(
          userDescription(before.description) || previewDescription(settings.preview.prNumber),
          {
            ...(before.functionVersion ? { previous: before.functionVersion } : {}),
            ...(commit ? { sha: commit.slice(0, 12) } : {}),
            pr: settings.preview.prNumber,
          },
        );
        if (!before.exists)
          return createAlias(
            clients.lambda,
            { functionName: fn, alias: aliasName, version: candidate.version, description },
            aliasOptions,
          );
        // Guarded by the revision read before publishing: another run's change is never overwritten.
        return pointAlias(
          clients.lambda,
          {
            functionName: fn,
            alias: aliasName,
            version: candidate.version,
            weights: {},
            revisionId: before.revisionId ?? '',
            description,
          },
          aliasOptions,
        );
      });
    }
    if (after.aliasArn) result.aliasArn = after.aliasArn;

    let url: string | undefined;
    if (settings.preview.url) {
      const ensured = await steps.run(`Function URL (${settings.preview.urlAuth})`, () =>
        ensureFunctionUrl(
          clients.lambda,
          { functionName: fn, qualifier: aliasName, authType: settings.preview.urlAuth },
          aliasOptions,
        ),
      );
      url = ensured.url;
      logger.info(`${ensured.url} (${ensured.authType}, ${ensured.action})`);
      if (ensured.authType === 'NONE')
        logger.warning(
          `The preview URL ${ensured.url} is public (preview-url-auth: NONE): anyone with the link can invoke version ${candidate.version}.`,
        );
      result.previewUrl = url;
    } else {
      steps.skip('Function URL', 'preview-url is false');
    }

    report.table(
      'Preview',
      ['alias', 'before', 'after', 'URL'],
      [
        [
          aliasName,
          before.exists ? describeAliasState(before) : '(none)',
          describeAliasState(after),
          url ?? '—',
        ],
      ],
    );
    report.setHeadline(
      unchanged
        ? `✅ Unchanged: preview \`${aliasName}\` already serves version ${candidate.version} with this bundle${url ? ` at ${url}` : ''}.`
        : `✅ Preview \`${aliasName}\` now serves version ${candidate.version}${before.functionVersion ? ` (was ${before.functionVersion})` : ''}${url ? ` at ${url}` : ''}; \`${settings.alias}\` was not touched.`,
    );

    await comment({
      status: 'ready',
      version: candidate.version,
      unchanged,
      ...(url ? { url, urlAuth: settings.preview.urlAuth } : {}),
      ...(candidate.smoke ? { smoke: candidate.smoke } : {}),
    });

    const superseded = before.functionVersion;
    if (!unchanged && superseded && superseded !== candidate.version) {
      await steps.run(`Delete superseded preview version ${superseded}`, async () => {
        const plan = planVersionCleanup(
          [superseded],
          [superseded],
          await listAliases(clients.lambda, fn),
          aliasName,
        );
        for (const k of plan.keep) logger.info(`Keeping version ${k.version}: ${k.reason}.`);
        await deleteVersions(
          clients.lambda,
          fn,
          plan.delete,
          logger,
          `: only '${aliasName}' served it.`,
        );
      });
    }

    await applyRetention(ctx, steps, settings.release.keepVersions);
  } finally {
    report.table('Steps', ['step', 'outcome', 'time', 'note'], steps.rows());
  }
}

/**
 * A preview version that failed its smoke tests serves nobody: delete it, unless an alias serves it
 * or records it as previous (PublishVersion returns an existing version when nothing changed).
 * Best effort: the smoke failure is what the step reports.
 */
async function deleteFailedVersion(
  ctx: RunContext<PreviewModeSettings>,
  steps: StepTimer,
  version: string,
): Promise<void> {
  const { clients, logger, settings } = ctx;
  try {
    await steps.run(`Delete failed version ${version}`, async () => {
      const plan = planVersionCleanup(
        [version],
        [version],
        await listAliases(clients.lambda, settings.functionName),
      );
      for (const k of plan.keep) logger.info(`Keeping version ${k.version}: ${k.reason}.`);
      await deleteVersions(
        clients.lambda,
        settings.functionName,
        plan.delete,
        logger,
        ': it failed its smoke tests and nothing serves it.',
      );
    });
  } catch (error) {
    logger.warning(
      `Could not delete the failed preview version ${version}: ${errorMessage(error)}`,
    );
  }
}
