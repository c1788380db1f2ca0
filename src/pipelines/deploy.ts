import { ActionError, errorMessage } from '../errors.js';
import { alarmWatch, checkAlarmsExist, type AlarmStatus } from '../release/traffic/alarms.js';
import { describeAliasState, planTraffic } from '../release/traffic/alias-plan.js';
import { shiftTraffic } from '../release/traffic/bake.js';
import { SHIFT_STATE, shiftStateValue } from '../release/traffic/shift-state.js';
import { smokeTestVersion } from '../release/smoke/smoke.js';
import { describeSmokeFailure } from '../release/smoke/smoke-run.js';
import type { DeploySettings } from '../settings.js';
import type { RunContext } from './context.js';
import { buildArtifacts, loadSpec, publishCandidate } from './candidate.js';
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
 * (all at once, canary or linear, rolled back on any failure) -> retention.
 */
export async function deployPipeline(ctx: RunContext<DeploySettings>): Promise<void> {
  const { settings, clients, logger, report, result } = ctx;
  const steps = new StepTimer(logger, ctx.clock);
  const aliasName = settings.alias;
  result.rolledBack = false;
  try {
    const spec = await loadSpec(ctx, steps);
    const checkUrl = endpointChecksWanted(settings, spec);
    const watchAlarms =
      settings.release.strategy !== 'all-at-once' && settings.release.alarms.length > 0;
    let initialAlarms: AlarmStatus[] = [];
    if (watchAlarms) {
      initialAlarms = await steps.run('Check watched alarms', async () => {
        const alarms = await checkAlarmsExist(clients.cloudwatch, settings.release.alarms, {
          logger,
        });
        logger.info(alarms.map((a) => `${a.name}: ${a.state}`).join(', '));
        return alarms;
      });
    }

    const built = await buildArtifacts(ctx, steps);
    const candidate = await publishCandidate(ctx, steps, built, spec, aliasName);
    if (!candidate) {
      report.setHeadline(`🔍 Dry run: nothing was uploaded, published or moved.`);
      return;
    }
    const before = candidate.aliasBefore;
    if (candidate.decision.kind === 'unchanged') {
      result.changed = false;
      result.smokeResult = 'skipped';
      if (before.aliasArn) result.aliasArn = before.aliasArn;
      if (before.exists) await setUpEndpoint(ctx, steps);
      if (checkUrl) steps.skip('Endpoint checks', 'nothing was shifted');
      report.setHeadline(
        `✅ Unchanged: \`${aliasName}\` already serves version ${candidate.version} with this bundle, layers and configuration; nothing was published.`,
      );
      return;
    }
    result.changed = true;

    if (candidate.smoke && !candidate.smoke.passed) {
      result.rolledBack = true;
      const where = before.exists
        ? `still serves ${describeAliasState(before)}`
        : 'was not created';
      report.setHeadline(
        `❌ Smoke tests failed on version ${candidate.version}: \`${aliasName}\` ${where}.`,
      );
      throw new ActionError(
        `Version ${candidate.version} failed its smoke tests, so alias '${aliasName}' ${where}: ${describeSmokeFailure(candidate.smoke)}.`,
      );
    }
    if (!spec)
      logger.warning(
        `No smoke-tests input: version ${candidate.version} goes live without being invoked first. Add a smoke-test spec.`,
      );

    await provisionCandidate(ctx, steps, candidate.version);

    const plan = planTraffic({
      strategy: settings.release.strategy,
      canaryPercent: settings.release.canaryPercent,
      linearSteps: settings.release.linearSteps,
      intervalMs: settings.release.canaryIntervalMs,
    });
    const pollMs = Math.max(
      1000,
      Math.min(30_000, Math.floor(settings.release.canaryIntervalMs / 5)),
    );
    const shift = await steps.run(`Shift '${aliasName}' (${settings.release.strategy})`, () =>
      shiftTraffic({
        plan,
        lambda: clients.lambda,
        functionName: settings.functionName,
        alias: aliasName,
        newVersion: candidate.version,
        snapshot: before,
        commitSha: ctx.github.sha || undefined,
        logger,
        bake: {
          pollMs,
          clock: ctx.clock,
          ...(watchAlarms
            ? {
                checkAlarms: alarmWatch(
                  clients.cloudwatch,
                  settings.release.alarms,
                  initialAlarms,
                  { logger },
                ),
              }
            : {}),
          ...(spec
            ? {
                reinvoke: () =>
                  smokeTestVersion(spec, {
                    lambda: clients.lambda,
                    functionName: settings.functionName,
                    version: candidate.version,
                    logger,
                  }),
              }
            : {}),
        },
        onStep: (event) => {
          // With endpoint checks to come, the shift is not finished at its last step: the post
          // step still restores the alias if this step dies while they run.
          const final =
            !checkUrl && (event.stepIndex === plan.length - 1 || event.stepIndex === -1);
          ctx.state.save(
            SHIFT_STATE,
            shiftStateValue(before, candidate.version, event, final, settings.auth),
          );
        },
      }),
    );
    await releaseProvisioned(ctx, steps);
    if (shift.rolledBack) {
      result.rolledBack = true;
      report.section('Rollback', [
        `Alias \`${aliasName}\` was put back: ${describeAliasState(shift.restore.after)} (${shift.restore.action}).`,
        '',
        `Why: ${shift.reason}`,
      ]);
      report.setHeadline(
        `❌ Rolled back: \`${aliasName}\` serves ${describeAliasState(shift.restore.after)} again.`,
      );
      throw new ActionError(
        `Traffic shift to version ${candidate.version} was rolled back: ${shift.reason}.`,
      );
    }
    if (shift.state.aliasArn) result.aliasArn = shift.state.aliasArn;
    let endpoint;
    try {
      endpoint = await setUpEndpoint(ctx, steps);
    } catch (error) {
      if (!checkUrl) throw error;
      // The checks cannot run without the URL: the new version is not served unchecked.
      await rollBackAlias(ctx, steps, before, candidate.version, errorMessage(error));
      ctx.state.save(SHIFT_STATE, 'done');
      result.rolledBack = true;
      throw new ActionError(
        `${errorMessage(error)} The endpoint checks could not run, so alias '${aliasName}' was put back.`,
      );
    }
    if (checkUrl && spec && endpoint.url) {
      const checked = await runEndpointChecks(
        ctx,
        steps,
        spec,
        endpoint.url,
        before,
        candidate.version,
      );
      ctx.state.save(SHIFT_STATE, 'done');
      if (checked.restore) {
        result.rolledBack = true;
        const failed = checked.run.results.filter((r) => !r.passed);
        const why = failed
          .map((r) => `endpoint case '${r.name}' failed: ${r.reasons[0] ?? 'failed'}`)
          .join('; ');
        report.section('Rollback', [
          `Alias \`${aliasName}\` was put back: ${describeAliasState(checked.restore.after)} (${checked.restore.action}).`,
          '',
          `Why: ${why}`,
        ]);
        report.setHeadline(
          `❌ Rolled back after the endpoint checks: \`${aliasName}\` serves ${describeAliasState(checked.restore.after)} again.`,
        );
        throw new ActionError(
          `Traffic shift to version ${candidate.version} was rolled back: ${why}.`,
        );
      }
    }
    report.table(
      'Alias',
      ['alias', 'before', 'after'],
      [
        [
          aliasName,
          before.exists ? describeAliasState(before) : '(none)',
          describeAliasState(shift.state),
        ],
      ],
    );
    report.setHeadline(
      `✅ \`${aliasName}\` now serves version ${candidate.version}${before.functionVersion ? ` (was ${before.functionVersion})` : ''}.`,
    );

    await applyRetention(ctx, steps, settings.release.keepVersions);
  } finally {
    report.table('Steps', ['step', 'outcome', 'time', 'note'], steps.rows());
  }
}
