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
import { describeSmokeFailure, type SmokeRunResult } from '../release/smoke/smoke-run.js';
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
  const { settings, report, result } = ctx;
  const steps = new StepTimer(ctx.logger, ctx.clock);
  const aliasName = previewAliasName(settings.preview);
  result.rolledBack = false;
  try {
    checkPreviewAliasName(aliasName, settings.alias);
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
    checkOwnPreview(before, settings.preview.prNumber);
    const unchanged = candidate.decision.kind === 'unchanged';
    result.changed = !unchanged;
    if (candidate.smoke && !candidate.smoke.passed)
      return await failPreview(ctx, steps, candidate.version, before, candidate.smoke);
    if (!spec)
      ctx.logger.warning(
        `No smoke-tests input: preview version ${candidate.version} is served without being invoked first. Add a smoke-test spec.`,
      );

    const after = await pointPreviewAlias(ctx, steps, before, candidate.version, unchanged);
    if (after.aliasArn) result.aliasArn = after.aliasArn;
    const url = await previewUrl(ctx, steps, candidate.version);
    reportPreview(ctx, { before, after, url, version: candidate.version, unchanged });
    await commentOnPr(ctx, steps, {
      status: 'ready',
      version: candidate.version,
      unchanged,
      ...(url ? { url, urlAuth: settings.preview.urlAuth } : {}),
      ...(candidate.smoke ? { smoke: candidate.smoke } : {}),
    });
    if (!unchanged) await deleteSuperseded(ctx, steps, before.functionVersion, candidate.version);
    await applyRetention(ctx, steps, settings.release.keepVersions);
  } finally {
    report.table('Steps', ['step', 'outcome', 'time', 'note'], steps.rows());
  }
}

function checkPreviewAliasName(aliasName: string, servingAlias: string): void {
  if (aliasName === servingAlias) {
    throw new InputError(
      'preview-alias-prefix',
      `makes the preview alias '${aliasName}' the same as alias '${servingAlias}', which previews must never touch; use a prefix such as pr-`,
    );
  }
  if (aliasName.length > 128)
    throw new InputError(
      'preview-alias-prefix',
      `makes the preview alias '${aliasName}' longer than Lambda's 128 characters`,
    );
}

/** An existing alias of that name must be this PR's preview, made by this action. */
function checkOwnPreview(before: AliasState, pr: number): void {
  if (!before.exists || isPreviewAliasOf(before, pr)) return;
  throw new ActionError(
    `Alias '${before.alias}' exists but was not created by this action as the preview of PR #${pr} ` +
      `(its description has no 'pr=${pr}' marker); it was left as it is. ` +
      'Choose another preview-alias-prefix, or delete the alias if it is a stale one.',
  );
}

type CommentFields = Omit<PreviewCommentInfo, 'functionName' | 'alias' | 'commit' | 'runUrl'>;

/** The sticky PR comment, with the fields every preview comment carries. */
async function commentOnPr(
  ctx: RunContext<PreviewModeSettings>,
  steps: StepTimer,
  info: CommentFields,
): Promise<void> {
  const commit = previewCommit(ctx.github);
  await steps.run('PR comment', () =>
    publishPreviewComment({
      ...previewCommentTarget(ctx),
      info: {
        functionName: ctx.settings.functionName,
        alias: previewAliasName(ctx.settings.preview),
        ...(commit ? { commit } : {}),
        ...(ctx.github.runUrl ? { runUrl: ctx.github.runUrl } : {}),
        ...info,
      },
    }),
  );
}

/** The new version failed its smoke tests: comment, delete it, and fail the run. */
async function failPreview(
  ctx: RunContext<PreviewModeSettings>,
  steps: StepTimer,
  version: string,
  before: AliasState,
  smoke: SmokeRunResult,
): Promise<never> {
  const why = describeSmokeFailure(smoke);
  const where = before.exists ? `still serves ${describeAliasState(before)}` : 'was not created';
  ctx.report.setHeadline(
    `❌ Smoke tests failed on version ${version}: preview alias \`${before.alias}\` ${where}.`,
  );
  await commentOnPr(ctx, steps, {
    status: 'smoke-failed',
    version,
    aliasVersionAfter: before.functionVersion ?? 'none',
    smoke,
    reason: why,
  });
  await deleteFailedVersion(ctx, steps, version);
  throw new ActionError(
    `Version ${version} failed its smoke tests, so preview alias '${before.alias}' ${where}: ${why}.`,
  );
}

/** Creates the preview alias or moves it (guarded by the revision read before publishing). */
async function pointPreviewAlias(
  ctx: RunContext<PreviewModeSettings>,
  steps: StepTimer,
  before: AliasState,
  version: string,
  unchanged: boolean,
): Promise<AliasState> {
  const { settings, clients, logger, result } = ctx;
  const aliasName = before.alias;
  if (unchanged) {
    result.smokeResult = 'skipped';
    steps.skip(`Point '${aliasName}'`, `it already serves version ${version} with this bundle`);
    return before;
  }
  const commit = previewCommit(ctx.github);
  return steps.run(`Point '${aliasName}' at version ${version}`, () => {
    const description = formatAliasDescription(
      userDescription(before.description) || previewDescription(settings.preview.prNumber),
      {
        ...(before.functionVersion ? { previous: before.functionVersion } : {}),
        ...(commit ? { sha: commit.slice(0, 12) } : {}),
        pr: settings.preview.prNumber,
      },
    );
    const target = { functionName: settings.functionName, alias: aliasName, version, description };
    if (!before.exists) return createAlias(clients.lambda, target, { logger });
    // Another run's change is never overwritten.
    return pointAlias(
      clients.lambda,
      { ...target, weights: {}, revisionId: before.revisionId ?? '' },
      { logger },
    );
  });
}

/** The preview alias's function URL when `preview-url` asks for one. */
async function previewUrl(
  ctx: RunContext<PreviewModeSettings>,
  steps: StepTimer,
  version: string,
): Promise<string | undefined> {
  const { settings, clients, logger, result } = ctx;
  if (!settings.preview.url) {
    steps.skip('Function URL', 'preview-url is false');
    return undefined;
  }
  const qualifier = previewAliasName(settings.preview);
  const ensured = await steps.run(`Function URL (${settings.preview.urlAuth})`, () =>
    ensureFunctionUrl(
      clients.lambda,
      { functionName: settings.functionName, qualifier, authType: settings.preview.urlAuth },
      { logger },
    ),
  );
  logger.info(`${ensured.url} (${ensured.authType}, ${ensured.action})`);
  if (ensured.authType === 'NONE')
    logger.warning(
      `The preview URL ${ensured.url} is public (preview-url-auth: NONE): anyone with the link can invoke version ${version}.`,
    );
  result.previewUrl = ensured.url;
  return ensured.url;
}

function reportPreview(
  ctx: RunContext<PreviewModeSettings>,
  preview: {
    before: AliasState;
    after: AliasState;
    url: string | undefined;
    version: string;
    unchanged: boolean;
  },
): void {
  const { before, after, url, version } = preview;
  const aliasName = after.alias;
  ctx.report.table(
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
  const at = url ? ` at ${url}` : '';
  ctx.report.setHeadline(
    preview.unchanged
      ? `✅ Unchanged: preview \`${aliasName}\` already serves version ${version} with this bundle${at}.`
      : `✅ Preview \`${aliasName}\` now serves version ${version}${before.functionVersion ? ` (was ${before.functionVersion})` : ''}${at}; \`${ctx.settings.alias}\` was not touched.`,
  );
}

/** The version the preview served before, once nothing else needs it. */
async function deleteSuperseded(
  ctx: RunContext<PreviewModeSettings>,
  steps: StepTimer,
  superseded: string | undefined,
  version: string,
): Promise<void> {
  if (!superseded || superseded === version) return;
  const aliasName = previewAliasName(ctx.settings.preview);
  await steps.run(`Delete superseded preview version ${superseded}`, () =>
    deleteUnserved(ctx, superseded, `: only '${aliasName}' served it.`, aliasName),
  );
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
  try {
    await steps.run(`Delete failed version ${version}`, () =>
      deleteUnserved(ctx, version, ': it failed its smoke tests and nothing serves it.'),
    );
  } catch (error) {
    ctx.logger.warning(
      `Could not delete the failed preview version ${version}: ${errorMessage(error)}`,
    );
  }
}

/** Deletes `version` unless an alias (other than `ignoredAlias`) serves or records it. */
async function deleteUnserved(
  ctx: RunContext<PreviewModeSettings>,
  version: string,
  why: string,
  ignoredAlias?: string,
): Promise<void> {
  const { clients, logger, settings } = ctx;
  const plan = planVersionCleanup(
    [version],
    [version],
    await listAliases(clients.lambda, settings.functionName),
    ignoredAlias,
  );
  for (const k of plan.keep) logger.info(`Keeping version ${k.version}: ${k.reason}.`);
  await deleteVersions(clients.lambda, settings.functionName, plan.delete, logger, why);
}
