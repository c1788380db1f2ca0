import type { Built } from '../packaging/built.js';
import { MANIFEST_ENV } from '../packaging/model-manifest.js';
import { planChange, type ChangeDecision, type ChangePlan } from '../release/function/change.js';
import { desiredConfigFrom, type DesiredConfig } from '../release/function/desired-config.js';
import {
  missingFunctionError,
  readFunction,
  type FunctionState,
} from '../release/function/function.js';
import { waitForVersionActive } from '../release/function/snap-start.js';
import { loadSmokeSpec, type SmokeSpec } from '../release/smoke/smoke-spec.js';
import type { AliasState } from '../release/traffic/alias-plan.js';
import { readAlias } from '../release/traffic/alias.js';
import { reportPlan, reportPush } from '../report/build-report.js';
import { reportConfigChanges } from '../report/config-report.js';
import type { DeploySettings, PreviewModeSettings } from '../settings.js';
import {
  applyToLatest,
  publishChecked,
  shipCode,
  smokeCandidate,
  type Candidate,
} from './candidate-steps.js';
import type { RunContext } from './context.js';
import { syncFunctionLevel } from './function-level.js';
import { imageUriFor, packageTypeMismatch, rememberDependencies } from './image-steps.js';
import type { StepTimer } from './steps.js';

export { buildArtifacts } from './build-artifacts.js';

type BuildingSettings = DeploySettings | PreviewModeSettings;

export type { Candidate } from './candidate-steps.js';

export function loadSpec(
  ctx: RunContext<BuildingSettings>,
  steps: StepTimer,
): Promise<SmokeSpec | undefined> {
  const file = ctx.settings.release.smokeTests;
  if (!file) {
    steps.skip('Smoke-test spec', 'no smoke-tests input');
    return Promise.resolve(undefined);
  }
  return steps.run('Smoke-test spec', async () => {
    const spec = await loadSmokeSpec(file);
    ctx.logger.info(`${spec.cases.length} smoke cases in ${file}`);
    return spec;
  });
}

/**
 * Upload, function code and configuration, publish, smoke tests: everything before traffic moves.
 * Returns undefined on a dry run. Throws when the smoke tests fail (nothing served has changed).
 */
export async function publishCandidate(
  ctx: RunContext<BuildingSettings>,
  steps: StepTimer,
  built: Built,
  spec: SmokeSpec | undefined,
  aliasName: string,
): Promise<Candidate | undefined> {
  const { settings, result } = ctx;
  const desired = desiredFor(settings, built);
  const { fn, aliasBefore, plan } = await steps.run('Compare with what is deployed', () =>
    compareDeployed(ctx, built, desired, aliasName),
  );
  const decision = plan.decision;
  if (aliasBefore.functionVersion) result.previousVersion = aliasBefore.functionVersion;
  if (fn.arn) result.functionArn = fn.arn.replace(/:\$LATEST$/, '');
  if (decision.kind === 'create' && !settings.fn.createFunction)
    throw missingFunctionError(settings.functionName);

  await syncAndReportChanges(ctx, steps, fn, desired, plan);

  if (settings.dryRun) {
    reportPlan(ctx.report, built, decision, aliasBefore, aliasName);
    result.changed = decision.kind !== 'unchanged';
    result.smokeResult = 'skipped';
    return undefined;
  }
  if (decision.kind === 'unchanged') {
    await keepUnchanged(ctx, steps, built, decision.version, aliasName);
    const { version } = decision;
    const functionArn = fn.arn ?? '';
    return {
      built,
      decision,
      plan,
      version,
      functionArn,
      codeSha256: built.codeSha256,
      aliasBefore,
    };
  }

  const shipped = await shipCode(ctx, steps, built, decision);
  const latest = await steps.run(
    decision.kind === 'create' ? 'Create function' : 'Update function',
    () => applyToLatest(ctx, { built, fn, desired, plan, code: shipped.code }),
  );
  if (latest.functionArn) result.functionArn = latest.functionArn.replace(/:\$LATEST$/, '');
  const published = await steps.run('Publish version', () =>
    publishChecked(ctx, { built, fn, desired, aliasName, revisionId: latest.revisionId }),
  );
  result.version = published.version;
  if (desired.snapStart) await waitForSnapshot(ctx, steps, published.version);
  const candidate: Candidate = {
    built,
    decision,
    plan,
    version: published.version,
    functionArn: latest.functionArn || published.arn.replace(/:\d+$/, ''),
    codeSha256: published.codeSha256,
    aliasBefore,
    upload: shipped.upload,
  };
  return smokeCandidate(ctx, steps, candidate, spec);
}

/**
 * Tags and code signing belong to the function, not to a version: synced on every deploy run (a
 * preview for a pull request leaves what the function itself carries alone). Then the summary's
 * before -> after table.
 */
async function syncAndReportChanges(
  ctx: RunContext<BuildingSettings>,
  steps: StepTimer,
  fn: FunctionState,
  desired: DesiredConfig,
  plan: ChangePlan,
): Promise<void> {
  const functionLevel =
    ctx.settings.mode === 'deploy' && fn.exists && (desired.tags || desired.codeSigningConfigArn)
      ? await steps.run('Function tags and code signing', () => syncFunctionLevel(ctx, fn, desired))
      : [];
  const rows = [...plan.rows, ...functionLevel];
  reportConfigChanges(ctx.report, rows, plan.decision.kind === 'create');
}

/** With SnapStart, a published version is invocable once its snapshot is taken. */
function waitForSnapshot(
  ctx: RunContext<BuildingSettings>,
  steps: StepTimer,
  version: string,
): Promise<void> {
  return steps.run(`SnapStart snapshot of version ${version}`, () =>
    waitForVersionActive(ctx.clients.lambda, ctx.settings.functionName, version, {
      clock: ctx.clock,
      logger: ctx.logger,
    }),
  );
}

/** The configuration this run wants, with the S3 model store's manifest variable when used. */
function desiredFor(settings: BuildingSettings, built: Built): DesiredConfig {
  return desiredConfigFrom(
    settings.build,
    settings.fn,
    built.kind === 'zip' ? built.layer.layerVersionArn : undefined,
    settings.coldStart.snapStart,
    built.kind === 'zip' && built.modelStore
      ? {
          variable: MANIFEST_ENV,
          manifestUri: built.modelStore.plan.manifestUri,
          ephemeralMb: built.modelStore.ephemeralMb,
        }
      : undefined,
  );
}

/** $LATEST, the alias and the version it serves, and the change plan against them. */
async function compareDeployed(
  ctx: RunContext<BuildingSettings>,
  built: Built,
  desired: DesiredConfig,
  aliasName: string,
): Promise<{ fn: FunctionState; aliasBefore: AliasState; plan: ChangePlan }> {
  const { clients, logger } = ctx;
  const fnName = ctx.settings.functionName;
  const fn = await readFunction(clients.lambda, fnName, { logger });
  const mismatch = fn.exists
    ? packageTypeMismatch(fnName, fn.packageType, desired.packageType ?? 'Zip')
    : undefined;
  if (mismatch) throw mismatch;
  const aliasBefore = await readAlias(clients.lambda, fnName, aliasName, { logger }).catch(
    (error: unknown) => {
      if (fn.exists) throw error;
      const none: AliasState = {
        functionName: fnName,
        alias: aliasName,
        exists: false,
        weights: {},
      };
      return none;
    },
  );
  const served = await servedVersionConfig(ctx, aliasBefore);
  const plan = planChange({
    fn,
    codeSha256: built.codeSha256,
    desired,
    alias: aliasBefore,
    servedVersion: served,
  });
  logger.info(
    `Function: ${fn.exists ? `CodeSha256 ${fn.codeSha256}` : 'does not exist'}; alias '${aliasName}': ${aliasBefore.exists ? `version ${aliasBefore.functionVersion}` : 'none'}; decision: ${describeDecision(plan.decision)}`,
  );
  for (const row of plan.rows)
    logger.info(`  ${row.label}: ${row.before} -> ${row.after}`.replace(/\n/g, ', '));
  return { fn, aliasBefore, plan };
}

/** Nothing to publish: the alias already serves this code and configuration. */
async function keepUnchanged(
  ctx: RunContext<BuildingSettings>,
  steps: StepTimer,
  built: Built,
  version: string,
  aliasName: string,
): Promise<void> {
  steps.skip(
    'Upload, update and publish',
    `alias '${aliasName}' already serves version ${version} with this bundle, layers and configuration`,
  );
  ctx.result.version = version;
  if (built.kind !== 'image') return;
  const imageUri = await imageUriFor(ctx, built, false);
  reportPush(ctx.report, imageUri, undefined);
  ctx.result.imageUri = imageUri;
  await rememberDependencies(ctx, built);
}

async function servedVersionConfig(
  ctx: RunContext<BuildingSettings>,
  alias: AliasState,
): Promise<FunctionState | undefined> {
  if (!alias.exists || !alias.functionVersion || Object.keys(alias.weights).length > 0)
    return undefined;
  return readFunction(
    ctx.clients.lambda,
    ctx.settings.functionName,
    { logger: ctx.logger },
    alias.functionVersion,
  );
}

export function describeDecision(decision: ChangeDecision): string {
  switch (decision.kind) {
    case 'create':
      return 'create the function';
    case 'update':
      return `update ${[decision.code && 'code', decision.config && 'configuration'].filter(Boolean).join(' and ')}, publish a version`;
    case 'publish-only':
      return '$LATEST already holds this bundle; publish it';
    case 'unchanged':
      return `nothing changed (version ${decision.version} already serves this bundle)`;
  }
}
