import { ActionError, InputError } from '../errors.js';
import {
  describeAliasState,
  formatAliasDescription,
  isMidShift,
  parseAliasDescription,
  routesAs,
  type AliasState,
} from '../release/traffic/alias-plan.js';
import { AliasConflictError, pointAlias, readAlias } from '../release/traffic/alias.js';
import { readFunction, type FunctionState } from '../release/function/function.js';
import { smokeTestVersion } from '../release/smoke/smoke.js';
import { describeSmokeFailure } from '../release/smoke/smoke-run.js';
import { loadSmokeSpec } from '../release/smoke/smoke-spec.js';
import { reportSmoke } from '../report/smoke-table.js';
import type { RollbackSettings } from '../settings.js';
import type { RunContext } from './context.js';
import { StepTimer } from './steps.js';

export type RollbackTarget =
  /** Move the alias to `version` (from the input, or the description marker). */
  | { kind: 'move'; version: string; source: 'input' | 'previous' }
  /** The alias already serves `version` alone: nothing to do. */
  | { kind: 'noop'; version: string; source: 'input' | 'previous' };

/**
 * Where `rollback-to` sends the alias: a number as given, or `previous` from the alias's
 * description marker (`lambda-ml-deploy: previous=N`, written on every shift). Pure; throws a
 * message that says what to do when there is no target.
 */
export function resolveRollbackTarget(
  alias: AliasState,
  rollbackTo: 'previous' | number,
): RollbackTarget {
  if (!alias.exists) {
    throw new ActionError(
      `Alias '${alias.alias}' of function '${alias.functionName}' does not exist, so there is nothing to roll back. ` +
        `Check the alias input (it names the alias that serves traffic, default prod).`,
    );
  }
  let version: string;
  let source: 'input' | 'previous';
  if (rollbackTo === 'previous') {
    const previous = parseAliasDescription(alias.description)?.previous;
    if (!previous) {
      throw new InputError(
        'rollback-to',
        `alias '${alias.alias}' has no recorded previous version (its description has no \`lambda-ml-deploy: previous=N\` marker: ` +
          `it was not moved by this action yet, or it was created by it). Pass a version number instead, e.g. \`rollback-to: 12\`.`,
      );
    }
    version = previous;
    source = 'previous';
  } else {
    version = String(rollbackTo);
    source = 'input';
  }
  const served = routesAs(alias, { version, weights: {} });
  return { kind: served ? 'noop' : 'move', version, source };
}

/** The commit a version was published from, when its description records one (`commit abc123`). Pure. */
export function commitOfVersion(description: string | undefined): string | undefined {
  return /(?:^|\|)\s*commit ([0-9a-f]{7,40})\b/i.exec(description ?? '')?.[1];
}

/**
 * rollback (workflow_dispatch): resolve the target (a number, or `previous` from the alias
 * description), check it exists, run the smoke tests against it, then move the alias to it in one
 * RevisionId-guarded update that records the version served before (so rolling back again with
 * `previous` rolls forward).
 */
export async function rollbackPipeline(ctx: RunContext<RollbackSettings>): Promise<void> {
  const { settings, clients, logger, report, result } = ctx;
  const steps = new StepTimer(logger, ctx.clock);
  const aliasName = settings.alias;
  result.rolledBack = false;
  try {
    const before = await steps.run(`Read alias '${aliasName}'`, () =>
      readAlias(clients.lambda, settings.functionName, aliasName, { logger }),
    );
    if (before.aliasArn) result.aliasArn = before.aliasArn;
    if (before.functionVersion) result.previousVersion = before.functionVersion;
    const target = resolveRollbackTarget(before, settings.rollbackTo);
    logger.info(
      `'${aliasName}': ${describeAliasState(before)}; target: version ${target.version} (${target.source === 'previous' ? 'recorded previous version' : 'rollback-to'})`,
    );
    const version = await steps.run(`Check version ${target.version}`, () =>
      readTargetVersion(ctx, target),
    );
    result.version = target.version;
    if (stopsEarly(ctx, before, target)) return;

    await smokeTestTarget(ctx, steps, before, target.version);
    const after = await steps.run(`Move '${aliasName}' to version ${target.version}`, () =>
      moveAliasBack(ctx, before, target.version, version.description),
    );
    result.changed = true;
    if (after.aliasArn) result.aliasArn = after.aliasArn;
    reportRollback(ctx, before, after, target.version);
  } finally {
    report.table('Steps', ['step', 'outcome', 'time', 'note'], steps.rows());
  }
}

/** The target version as published; a named input error when it does not exist. */
async function readTargetVersion(
  ctx: RunContext<RollbackSettings>,
  target: RollbackTarget,
): Promise<FunctionState> {
  const { settings, clients, logger, result } = ctx;
  const fn = settings.functionName;
  const state = await readFunction(clients.lambda, fn, { logger }, target.version);
  if (!state.exists) {
    const how =
      target.source === 'previous'
        ? `the previous version recorded on alias '${settings.alias}'`
        : 'the rollback-to input';
    throw new InputError(
      'rollback-to',
      `version ${target.version} of function '${fn}' does not exist (${how}; deleted by keep-versions or by hand?). ` +
        `Pass a published version: \`aws lambda list-versions-by-function --function-name ${fn}\` lists them.`,
    );
  }
  if (state.arn) result.functionArn = state.arn.replace(/:[^:]+$/, '');
  return state;
}

/** True when there is nothing to move (the alias already serves the target) or a dry run. */
function stopsEarly(
  ctx: RunContext<RollbackSettings>,
  before: AliasState,
  target: RollbackTarget,
): boolean {
  const { settings, logger, report, result } = ctx;
  const aliasName = settings.alias;
  if (target.kind === 'noop') {
    logger.notice(
      `Alias '${aliasName}' already serves version ${target.version}: nothing to roll back.`,
    );
    result.changed = false;
    result.smokeResult = 'skipped';
    report.setHeadline(
      `✅ Nothing to do: \`${aliasName}\` already serves version ${target.version}.`,
    );
    return true;
  }
  if (isMidShift(before))
    logger.warning(
      `'${aliasName}' is mid-shift (${describeAliasState(before)}); the rollback sends all traffic to version ${target.version}.`,
    );
  if (!settings.dryRun) return false;
  result.changed = false;
  result.smokeResult = 'skipped';
  report.section('Plan (dry run)', [
    `Would run the smoke tests on version ${target.version}, then move \`${aliasName}\`: ${describeAliasState(before)} → ${target.version}.`,
  ]);
  report.setHeadline(`🔍 Dry run: \`${aliasName}\` was not moved.`);
  return true;
}

/** The smoke cases on the target version; throws (the alias unmoved) when they fail. */
async function smokeTestTarget(
  ctx: RunContext<RollbackSettings>,
  steps: StepTimer,
  before: AliasState,
  version: string,
): Promise<void> {
  const { settings, clients, logger, report, result } = ctx;
  const aliasName = settings.alias;
  const smokeFile = settings.smokeTests;
  if (!smokeFile) {
    steps.skip('Smoke tests', 'no smoke-tests input');
    result.smokeResult = 'skipped';
    logger.warning(
      `No smoke-tests input: '${aliasName}' moves to version ${version} without it being invoked first.`,
    );
    return;
  }
  const spec = await steps.run('Smoke-test spec', () => loadSmokeSpec(smokeFile));
  const smoke = await steps.run(`Smoke tests on version ${version}`, () =>
    smokeTestVersion(spec, {
      lambda: clients.lambda,
      functionName: settings.functionName,
      version,
      logger,
    }),
  );
  reportSmoke(report, `Smoke tests on version ${version}`, smoke);
  result.smokeResult = smoke.passed ? 'passed' : 'failed';
  if (smoke.passed) return;
  result.changed = false;
  report.setHeadline(
    `❌ Smoke tests failed on version ${version}: \`${aliasName}\` still serves ${describeAliasState(before)}.`,
  );
  throw new ActionError(
    `Version ${version} failed its smoke tests, so alias '${aliasName}' was not moved (still ${describeAliasState(before)}): ${describeSmokeFailure(smoke)}.`,
  );
}

/**
 * One RevisionId-guarded update to `version`, recording the version served before. The revision
 * is read just before the update: a deploy that moved the alias meanwhile wins.
 */
async function moveAliasBack(
  ctx: RunContext<RollbackSettings>,
  before: AliasState,
  version: string,
  versionDescription: string | undefined,
): Promise<AliasState> {
  const { settings, clients, logger } = ctx;
  const fn = settings.functionName;
  const aliasName = settings.alias;
  const current = await readAlias(clients.lambda, fn, aliasName, { logger });
  if (
    !current.exists ||
    !routesAs(current, { version: before.functionVersion ?? '', weights: before.weights })
  ) {
    throw new AliasConflictError(
      fn,
      aliasName,
      `it read '${describeAliasState(before)}' when this rollback started and '${describeAliasState(current)}' now`,
    );
  }
  const sha = commitOfVersion(versionDescription);
  const description = formatAliasDescription(current.description, {
    ...(current.functionVersion ? { previous: current.functionVersion } : {}),
    ...(sha ? { sha } : {}),
  });
  return pointAlias(
    clients.lambda,
    {
      functionName: fn,
      alias: aliasName,
      version,
      weights: {},
      revisionId: current.revisionId ?? '',
      description,
    },
    { logger },
  );
}

function reportRollback(
  ctx: RunContext<RollbackSettings>,
  before: AliasState,
  after: AliasState,
  version: string,
): void {
  const { settings, logger, report } = ctx;
  const aliasName = settings.alias;
  report.table(
    'Alias',
    ['alias', 'before', 'after'],
    [[aliasName, describeAliasState(before), describeAliasState(after)]],
  );
  report.setHeadline(`✅ Rollback: \`${aliasName}\` ${before.functionVersion} → ${version}.`);
  logger.info(
    `'${aliasName}' now serves version ${version} (was ${before.functionVersion}); rollback-to: previous would return to ${before.functionVersion}.`,
  );
}
