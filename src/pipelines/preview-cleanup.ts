import type { AliasConfiguration } from '@aws-sdk/client-lambda';
import { ActionError } from '../errors.js';
import {
  isPreviewAliasOf,
  parseAliasDescription,
  type AliasState,
} from '../release/traffic/alias-plan.js';
import { deleteAlias, readAlias } from '../release/traffic/alias.js';
import { deleteFunctionUrl } from '../release/function/function-url.js';
import {
  deleteVersions,
  listAliases,
  listVersions,
  protectedVersions,
} from '../release/function/versions.js';
import { publishPreviewComment } from '../report/pr-comment.js';
import type { PreviewCleanupSettings, PreviewSettings } from '../settings.js';
import type { RunContext } from './context.js';
import { previewCommentTarget } from './preview-comment.js';
import { StepTimer } from './steps.js';

/** `pr-7`: the preview alias of a pull request. */
export function previewAliasName(
  preview: Pick<PreviewSettings, 'aliasPrefix' | 'prNumber'>,
): string {
  return `${preview.aliasPrefix}${preview.prNumber}`;
}

/** Versions a preview alias is responsible for: what it serves (weights too) and its recorded previous. Pure. */
export function previewCandidates(alias: AliasState): string[] {
  if (!alias.exists) return [];
  const found = [
    alias.functionVersion,
    ...Object.keys(alias.weights),
    parseAliasDescription(alias.description)?.previous,
  ];
  return [...new Set(found.filter((v): v is string => v !== undefined && /^\d+$/.test(v)))];
}

export interface VersionCleanupPlan {
  /** Preview-only versions that exist and nothing else needs, oldest first. */
  delete: string[];
  /** Candidates that stay, and why. */
  keep: Array<{ version: string; reason: string }>;
}

/**
 * Which of a preview's versions can go: those that still exist and that no other alias serves or
 * records as its previous version. Pure.
 */
export function planVersionCleanup(
  candidates: readonly string[],
  existing: readonly string[],
  aliases: readonly AliasConfiguration[],
  /** The preview alias being removed: what it serves does not protect a version. */
  previewAlias?: string,
): VersionCleanupPlan {
  const present = new Set(existing);
  const reasons = protectedVersions(aliases, previewAlias);
  const plan: VersionCleanupPlan = { delete: [], keep: [] };
  for (const version of [...new Set(candidates)].sort((a, b) => Number(a) - Number(b))) {
    if (!/^\d+$/.test(version) || !present.has(version)) continue;
    const reason = reasons.get(version);
    if (reason) plan.keep.push({ version, reason });
    else plan.delete.push(version);
  }
  return plan;
}

/**
 * preview-cleanup (pull_request closed): the preview alias's function URL, then the alias, then
 * the versions only it needed; the PR comment says so. A second run finds nothing and succeeds.
 */
export async function previewCleanupPipeline(
  ctx: RunContext<PreviewCleanupSettings>,
): Promise<void> {
  const { settings, clients, logger, report, result } = ctx;
  const steps = new StepTimer(logger, ctx.clock);
  const aliasName = previewAliasName(settings.preview);
  result.rolledBack = false;
  result.smokeResult = 'skipped';
  try {
    if (aliasName === settings.alias) {
      throw new ActionError(
        `Refusing to clean up '${aliasName}': it is the alias that serves traffic (input 'alias'). ` +
          'Use a preview-alias-prefix such as pr- that no serving alias starts with.',
      );
    }
    const alias = await steps.run(`Read alias '${aliasName}'`, () =>
      readAlias(clients.lambda, settings.functionName, aliasName, { logger }),
    );
    if (!isOurs(ctx, alias)) return;
    if (alias.functionVersion) result.previousVersion = alias.functionVersion;
    const candidates = previewCandidates(alias);
    logger.info(
      alias.exists
        ? `'${aliasName}' serves version ${alias.functionVersion}; preview versions: ${candidates.join(', ')}`
        : `'${aliasName}' does not exist.`,
    );
    if (settings.dryRun) return await reportDryRun(ctx, alias, candidates);

    const urlDeleted = await deleteAliasAndUrl(ctx, steps, alias);
    const deleted = await deletePreviewVersions(ctx, steps, candidates);
    result.changed = alias.exists || urlDeleted || deleted.length > 0;
    const removed = { alias: alias.exists, url: urlDeleted, versions: deleted };
    reportCleanup(ctx, alias, removed);
    await steps.run('PR comment', () =>
      publishPreviewComment({
        ...previewCommentTarget(ctx),
        createIfMissing: false,
        info: {
          functionName: settings.functionName,
          alias: aliasName,
          status: 'cleaned-up',
          removed,
          ...(ctx.github.runUrl ? { runUrl: ctx.github.runUrl } : {}),
        },
      }),
    );
  } finally {
    report.table('Steps', ['step', 'outcome', 'time', 'note'], steps.rows());
  }
}

/** False (and nothing deleted) when the alias exists but is not this PR's preview. */
function isOurs(ctx: RunContext<PreviewCleanupSettings>, alias: AliasState): boolean {
  const { settings, logger, report, result } = ctx;
  const pr = settings.preview.prNumber;
  if (!alias.exists || isPreviewAliasOf(alias, pr)) return true;
  logger.warning(
    `Alias '${alias.alias}' was not created by this action as the preview of PR #${pr} ` +
      `(its description has no 'pr=${pr}' marker): nothing was deleted.`,
  );
  result.changed = false;
  report.setHeadline(
    `⚠️ \`${alias.alias}\` is not a preview this action created: left as it is, nothing deleted.`,
  );
  return false;
}

async function reportDryRun(
  ctx: RunContext<PreviewCleanupSettings>,
  alias: AliasState,
  candidates: string[],
): Promise<void> {
  const { settings, clients, report, result } = ctx;
  const fn = settings.functionName;
  const existing = (await listVersions(clients.lambda, fn)).map((v) => v.version);
  const plan = planVersionCleanup(
    candidates,
    existing,
    await listAliases(clients.lambda, fn),
    alias.alias,
  );
  report.section('Plan (dry run)', [
    alias.exists
      ? `Would delete the function URL of \`${alias.alias}\` (if any) and the alias.`
      : `\`${alias.alias}\` does not exist: nothing to delete.`,
    plan.delete.length > 0
      ? `Would delete version(s) ${plan.delete.join(', ')}.`
      : 'No version to delete.',
    ...plan.keep.map((k) => `Keeps version ${k.version}: ${k.reason}.`),
  ]);
  report.setHeadline(`🔍 Dry run: nothing was deleted.`);
  result.changed = false;
}

/** The alias's function URL, then the alias; returns whether there was a URL. */
async function deleteAliasAndUrl(
  ctx: RunContext<PreviewCleanupSettings>,
  steps: StepTimer,
  alias: AliasState,
): Promise<boolean> {
  const { settings, clients, logger } = ctx;
  const fn = settings.functionName;
  if (!alias.exists) {
    steps.skip(
      'Delete function URL and alias',
      `'${alias.alias}' does not exist (already cleaned up?)`,
    );
    return false;
  }
  const url = await steps.run('Delete function URL', () =>
    deleteFunctionUrl(clients.lambda, fn, alias.alias, { logger }),
  );
  logger.info(url.deleted ? `Deleted ${url.url}` : `'${alias.alias}' had no function URL.`);
  await steps.run(`Delete alias '${alias.alias}'`, () =>
    deleteAlias(clients.lambda, fn, alias.alias, { logger }),
  );
  return url.deleted;
}

/** The preview's versions no other alias uses; returns those deleted. */
async function deletePreviewVersions(
  ctx: RunContext<PreviewCleanupSettings>,
  steps: StepTimer,
  candidates: string[],
): Promise<string[]> {
  const { settings, clients, logger } = ctx;
  const fn = settings.functionName;
  if (candidates.length === 0) {
    steps.skip('Delete preview-only versions', 'no version to consider');
    return [];
  }
  return steps.run('Delete preview-only versions', async () => {
    // Read the versions first and the aliases after: a version aliased in between is seen as referenced.
    const existing = (await listVersions(clients.lambda, fn)).map((v) => v.version);
    const others = await listAliases(clients.lambda, fn);
    const plan = planVersionCleanup(
      candidates,
      existing,
      others,
      previewAliasName(settings.preview),
    );
    for (const k of plan.keep) logger.info(`Keeping version ${k.version}: ${k.reason}.`);
    return deleteVersions(clients.lambda, fn, plan.delete, logger);
  });
}

function reportCleanup(
  ctx: RunContext<PreviewCleanupSettings>,
  alias: AliasState,
  removed: { alias: boolean; url: boolean; versions: string[] },
): void {
  const { report } = ctx;
  const name = alias.alias;
  report.table(
    'Cleanup',
    ['what', 'result'],
    [
      [
        'alias',
        alias.exists
          ? `\`${name}\` (version ${alias.functionVersion}) deleted`
          : `no alias \`${name}\``,
      ],
      ['function URL', removed.url ? 'deleted' : 'none'],
      [
        'versions',
        removed.versions.length > 0 ? `deleted ${removed.versions.join(', ')}` : 'none deleted',
      ],
    ],
  );
  const changed = removed.alias || removed.url || removed.versions.length > 0;
  report.setHeadline(
    changed
      ? `🧹 Preview \`${name}\` cleaned up.`
      : `✅ Nothing to clean up: there is no alias \`${name}\`.`,
  );
}
