import { ActionError, errorMessage } from '../errors.js';
import { alarmWatch, checkAlarmsExist, type AlarmStatus } from '../release/traffic/alarms.js';
import { describeAliasState, planTraffic, type AliasState } from '../release/traffic/alias-plan.js';
import { shiftTraffic, type ShiftResult } from '../release/traffic/bake.js';
import { SHIFT_STATE, shiftStateValue } from '../release/traffic/shift-state.js';
import { smokeTestVersion } from '../release/smoke/smoke.js';
import { describeSmokeFailure } from '../release/smoke/smoke-run.js';
import type { SmokeSpec } from '../release/smoke/smoke-spec.js';
import type { DeploySettings } from '../settings.js';
import type { RunContext } from './context.js';
import { buildArtifacts, loadSpec, publishCandidate, type Candidate } from './candidate.js';
import { applyRetention } from './retention.js';
import { StepTimer } from './steps.js';
import { provisionCandidate, releaseProvisioned } from './provisioned.js';
import {
  endpointChecksWanted,
  rollBackAlias,
  runEndpointChecks,
  setUpEndpoint,
} from './endpoint.js';

/**
 * deploy: spec -> layer -> bundle -> upload -> function -> publish -> smoke -> shift `alias`
 * (all at once, canary or linear, rolled back on any failure) -> endpoint checks -> retention.
 */
export async function deployPipeline(ctx: RunContext<DeploySettings>): Promise<void> {
  const { settings, logger, report, result } = ctx;
  const steps = new StepTimer(logger, ctx.clock);
  result.rolledBack = false;
  try {
    const spec = await loadSpec(ctx, steps);
    const checkUrl = endpointChecksWanted(settings, spec);
    const initialAlarms = await readWatchedAlarms(ctx, steps);
    const built = await buildArtifacts(ctx, steps);
    const candidate = await publishCandidate(ctx, steps, built, spec, settings.alias);
    if (!candidate) {
      report.setHeadline(`🔍 Dry run: nothing was uploaded, published or moved.`);
      return;
    }
    if (candidate.decision.kind === 'unchanged')
      return await finishUnchanged(ctx, steps, candidate, checkUrl);
    result.changed = true;
    failOnSmoke(ctx, candidate);
    if (!spec)
      logger.warning(
        `No smoke-tests input: version ${candidate.version} goes live without being invoked first. Add a smoke-test spec.`,
      );

    await provisionCandidate(ctx, steps, candidate.version);
    const shift = await shiftAlias(ctx, steps, candidate, { spec, initialAlarms, checkUrl });
    await releaseProvisioned(ctx, steps);
    if (shift.rolledBack)
      failRolledBack(ctx, candidate.version, shift.restore, shift.reason, 'Rolled back');
    if (shift.state.aliasArn) result.aliasArn = shift.state.aliasArn;
    await checkEndpoint(ctx, steps, candidate, spec, checkUrl);
    reportDeployed(ctx, candidate, shift.state);
    await applyRetention(ctx, steps, settings.release.keepVersions);
  } finally {
    report.table('Steps', ['step', 'outcome', 'time', 'note'], steps.rows());
  }
}

/** The alarms a canary or linear bake watches, as they are before anything moves. */
async function readWatchedAlarms(
  ctx: RunContext<DeploySettings>,
  steps: StepTimer,
): Promise<AlarmStatus[] | undefined> {
  const { settings, clients, logger } = ctx;
  const { strategy, alarms } = settings.release;
  if (strategy === 'all-at-once' || alarms.length === 0) return undefined;
  return steps.run('Check watched alarms', async () => {
    const found = await checkAlarmsExist(clients.cloudwatch, alarms, { logger });
    logger.info(found.map((a) => `${a.name}: ${a.state}`).join(', '));
    return found;
  });
}

async function finishUnchanged(
  ctx: RunContext<DeploySettings>,
  steps: StepTimer,
  candidate: Candidate,
  checkUrl: boolean,
): Promise<void> {
  const { result, report } = ctx;
  const before = candidate.aliasBefore;
  result.changed = false;
  result.smokeResult = 'skipped';
  if (before.aliasArn) result.aliasArn = before.aliasArn;
  if (before.exists) await setUpEndpoint(ctx, steps);
  if (checkUrl) steps.skip('Endpoint checks', 'nothing was shifted');
  report.setHeadline(
    `✅ Unchanged: \`${ctx.settings.alias}\` already serves version ${candidate.version} with this bundle, layers and configuration; nothing was published.`,
  );
}

/** Throws when the new version failed its smoke tests: nothing has moved. */
function failOnSmoke(ctx: RunContext<DeploySettings>, candidate: Candidate): void {
  if (!candidate.smoke || candidate.smoke.passed) return;
  const aliasName = ctx.settings.alias;
  const before = candidate.aliasBefore;
  ctx.result.rolledBack = true;
  const where = before.exists ? `still serves ${describeAliasState(before)}` : 'was not created';
  ctx.report.setHeadline(
    `❌ Smoke tests failed on version ${candidate.version}: \`${aliasName}\` ${where}.`,
  );
  throw new ActionError(
    `Version ${candidate.version} failed its smoke tests, so alias '${aliasName}' ${where}: ${describeSmokeFailure(candidate.smoke)}.`,
  );
}

/**
 * The traffic shift by the strategy, baked between steps (alarms, smoke cases re-run). Each step
 * is saved for the post step; with endpoint checks to come, the shift is not finished at its last
 * step, so the post step still restores the alias if this step dies while they run.
 */
async function shiftAlias(
  ctx: RunContext<DeploySettings>,
  steps: StepTimer,
  candidate: Candidate,
  watch: { spec?: SmokeSpec; initialAlarms?: AlarmStatus[]; checkUrl: boolean },
): Promise<ShiftResult> {
  const { settings, clients, logger } = ctx;
  const { release } = settings;
  const { spec, initialAlarms } = watch;
  const plan = planTraffic({
    strategy: release.strategy,
    canaryPercent: release.canaryPercent,
    linearSteps: release.linearSteps,
    intervalMs: release.canaryIntervalMs,
  });
  const pollMs = Math.max(1000, Math.min(30_000, Math.floor(release.canaryIntervalMs / 5)));
  const version = candidate.version;
  return steps.run(`Shift '${settings.alias}' (${release.strategy})`, () =>
    shiftTraffic({
      plan,
      lambda: clients.lambda,
      functionName: settings.functionName,
      alias: settings.alias,
      newVersion: version,
      snapshot: candidate.aliasBefore,
      commitSha: ctx.github.sha || undefined,
      logger,
      bake: {
        pollMs,
        clock: ctx.clock,
        ...(initialAlarms
          ? {
              checkAlarms: alarmWatch(clients.cloudwatch, release.alarms, initialAlarms, {
                logger,
              }),
            }
          : {}),
        ...(spec
          ? {
              reinvoke: () =>
                smokeTestVersion(spec, {
                  lambda: clients.lambda,
                  functionName: settings.functionName,
                  version,
                  logger,
                }),
            }
          : {}),
      },
      onStep: (event) => {
        const last = event.stepIndex === plan.length - 1 || event.stepIndex === -1;
        ctx.state.save(
          SHIFT_STATE,
          shiftStateValue(
            candidate.aliasBefore,
            version,
            event,
            last && !watch.checkUrl,
            settings.auth,
          ),
        );
      },
    }),
  );
}

/** The alias was put back (a failed bake or endpoint check): report it and fail the run. */
function failRolledBack(
  ctx: RunContext<DeploySettings>,
  version: string,
  restore: { after: AliasState; action: string },
  why: string,
  headline: string,
): never {
  const { after } = restore;
  const aliasName = ctx.settings.alias;
  ctx.result.rolledBack = true;
  ctx.report.section('Rollback', [
    `Alias \`${aliasName}\` was put back: ${describeAliasState(after)} (${restore.action}).`,
    '',
    `Why: ${why}`,
  ]);
  ctx.report.setHeadline(
    `❌ ${headline}: \`${aliasName}\` serves ${describeAliasState(after)} again.`,
  );
  throw new ActionError(`Traffic shift to version ${version} was rolled back: ${why}.`);
}

/**
 * The alias's URL and API Gateway permission, then the endpoint checks through the URL. Without
 * the URL the checks cannot run, so the new version is not left served unchecked.
 */
async function checkEndpoint(
  ctx: RunContext<DeploySettings>,
  steps: StepTimer,
  candidate: Candidate,
  spec: SmokeSpec | undefined,
  checkUrl: boolean,
): Promise<void> {
  const before = candidate.aliasBefore;
  let endpoint;
  try {
    endpoint = await setUpEndpoint(ctx, steps);
  } catch (error) {
    if (!checkUrl) throw error;
    await rollBackAlias(ctx, steps, before, candidate.version, errorMessage(error));
    ctx.state.save(SHIFT_STATE, 'done');
    ctx.result.rolledBack = true;
    throw new ActionError(
      `${errorMessage(error)} The endpoint checks could not run, so alias '${ctx.settings.alias}' was put back.`,
    );
  }
  if (!checkUrl || !spec || !endpoint.url) return;
  const checked = await runEndpointChecks(
    ctx,
    steps,
    spec,
    endpoint.url,
    before,
    candidate.version,
  );
  ctx.state.save(SHIFT_STATE, 'done');
  if (!checked.restore) return;
  const why = checked.run.results
    .filter((r) => !r.passed)
    .map((r) => `endpoint case '${r.name}' failed: ${r.reasons[0] ?? 'failed'}`)
    .join('; ');
  failRolledBack(
    ctx,
    candidate.version,
    checked.restore,
    why,
    'Rolled back after the endpoint checks',
  );
}

function reportDeployed(
  ctx: RunContext<DeploySettings>,
  candidate: Candidate,
  after: AliasState,
): void {
  const aliasName = ctx.settings.alias;
  const before = candidate.aliasBefore;
  ctx.report.table(
    'Alias',
    ['alias', 'before', 'after'],
    [[aliasName, before.exists ? describeAliasState(before) : '(none)', describeAliasState(after)]],
  );
  ctx.report.setHeadline(
    `✅ \`${aliasName}\` now serves version ${candidate.version}${before.functionVersion ? ` (was ${before.functionVersion})` : ''}.`,
  );
}
