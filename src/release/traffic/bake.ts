import type { LambdaClient } from '@aws-sdk/client-lambda';
import { ActionError, errorMessage } from '../../errors.js';
import { formatDuration, type Clock, type Logger } from '../../log.js';
import {
  describeAliasState,
  formatAliasDescription,
  routesAs,
  stepTarget,
  type AliasSnapshot,
  type AliasState,
  type AliasTarget,
  type TrafficStep,
} from './alias-plan.js';
import {
  AliasConflictError,
  createAlias,
  pointAlias,
  readAlias,
  restoreAlias,
  type AliasCallOptions,
  type RestoreResult,
} from './alias.js';

/** A watched alarm that fails the bake (alarms.ts's AlarmStatus fits). */
export interface FiringAlarm {
  name: string;
  reason: string;
  /** ALARM (the default), or INSUFFICIENT_DATA for an alarm that had data before. */
  state?: string;
}

/** What a bake needs to know about smoke cases re-run against the new version. */
export interface ReinvokeResult {
  passed: boolean;
  results: ReadonlyArray<{ name: string; passed: boolean; reasons: readonly string[] }>;
}

export interface BakeOptions {
  durationMs: number;
  /** Time between polls (alarms and re-invocations). */
  pollMs: number;
  clock: Clock;
  /** Returns the watched alarms that are in ALARM now (e.g. alarmsInAlarm bound to a client). */
  checkAlarms?: () => Promise<readonly FiringAlarm[]>;
  /** Re-runs the smoke cases against the new version (e.g. runSmokeTests with caseInvoker). */
  reinvoke?: () => Promise<ReinvokeResult>;
  logger?: Logger;
  /** For log lines, e.g. "canary at 10%". */
  label?: string;
}

export type BakeOutcome =
  { failed: false; polls: number } | { failed: true; reason: string; polls: number };

async function pollOnce(options: BakeOptions): Promise<string | undefined> {
  if (options.checkAlarms) {
    let firing: readonly FiringAlarm[];
    try {
      firing = await options.checkAlarms();
    } catch (error) {
      return `could not read the watched alarms: ${errorMessage(error)}`;
    }
    if (firing.length > 0) {
      return firing
        .map((a) => `alarm ${a.name} in ${a.state ?? 'ALARM'}: ${a.reason || '(no reason given)'}`)
        .join('; ');
    }
  }
  if (options.reinvoke) {
    let run: ReinvokeResult;
    try {
      run = await options.reinvoke();
    } catch (error) {
      return `re-running the smoke cases failed: ${errorMessage(error)}`;
    }
    if (!run.passed) {
      return run.results
        .filter((r) => !r.passed)
        .map(
          (r) =>
            `smoke case ${r.name} failed during bake${r.reasons[0] ? `: ${r.reasons[0]}` : ''}`,
        )
        .join('; ');
    }
  }
  return undefined;
}

/**
 * Watches a shifted alias for `durationMs`: polls the alarms and re-runs the smoke cases right
 * away, then every `pollMs`, and once more when the time is up. The first failure ends the bake.
 */
export async function bake(options: BakeOptions): Promise<BakeOutcome> {
  const start = options.clock.now();
  const pollMs = Math.max(1, options.pollMs);
  const label = options.label ? `${options.label}: ` : '';
  options.logger?.info(
    `${label}baking for ${formatDuration(options.durationMs)} (checks every ${formatDuration(pollMs)})`,
  );
  for (let polls = 1; ; polls++) {
    const failure = await pollOnce(options);
    if (failure) {
      options.logger?.warning(`${label}bake failed: ${failure}`);
      return { failed: true, reason: failure, polls };
    }
    const elapsed = options.clock.now() - start;
    if (elapsed >= options.durationMs) {
      options.logger?.info(`${label}bake passed (${polls} ${polls === 1 ? 'check' : 'checks'})`);
      return { failed: false, polls };
    }
    await options.clock.sleep(Math.min(pollMs, options.durationMs - elapsed));
  }
}

export type ShiftPhase = 'shifting' | 'shifted' | 'rolling-back' | 'rolled-back';

/** Passed to onStep so the caller can save state (the post step restores a half-done shift). */
export interface ShiftEvent {
  phase: ShiftPhase;
  /** Index in the plan (-1 for the first-deploy create). */
  stepIndex: number;
  percent: number;
  target?: AliasTarget;
  /** The alias after the step (shifted) or after the restore (rolled-back). */
  state?: AliasState;
  reason?: string;
}

export interface ShiftOptions {
  plan: readonly TrafficStep[];
  lambda: LambdaClient;
  functionName: string;
  alias: string;
  newVersion: string;
  /** The alias as read before this run touched it (readAlias). */
  snapshot: AliasSnapshot;
  /** Recorded in the alias description marker with the previous version. */
  commitSha?: string;
  /** Overrides the description (default: the snapshot's text plus the marker). */
  description?: string;
  /** How the bake after each non-final step watches: poll interval, clock, alarms, re-invocations. */
  bake: Omit<BakeOptions, 'durationMs' | 'logger' | 'label'>;
  onStep?: (event: ShiftEvent) => void | Promise<void>;
  logger: Logger;
  aliasOptions?: AliasCallOptions;
}

export type ShiftResult =
  | { rolledBack: false; changed: boolean; state: AliasState }
  | { rolledBack: true; reason: string; restore: RestoreResult };

/**
 * Walks the traffic plan: for each step, reads the alias, checks nobody else moved it since, and
 * points it with the revision just read; bakes after every step but the last. A failed bake or a
 * failed step puts the alias back as the snapshot had it (restoreAlias) and returns the reason.
 * An AliasConflictError (another writer) is thrown as is: that alias is not ours to restore.
 */
export async function shiftTraffic(options: ShiftOptions): Promise<ShiftResult> {
  const { lambda, functionName, alias, newVersion, snapshot, logger } = options;
  const aliasOptions: AliasCallOptions = { logger, ...options.aliasOptions };
  const emit = async (event: ShiftEvent) => options.onStep?.(event);
  const oldVersion = snapshot.exists ? snapshot.functionVersion : undefined;
  const description =
    options.description ??
    formatAliasDescription(snapshot.description, {
      ...(oldVersion !== undefined ? { previous: oldVersion } : {}),
      ...(options.commitSha !== undefined ? { sha: options.commitSha } : {}),
    });
  const promoted: AliasTarget = { version: newVersion, weights: {} };

  if (routesAs(snapshot, promoted)) {
    logger.info(`${describeAliasState(snapshot)} already: nothing to shift`);
    return { rolledBack: false, changed: false, state: snapshot };
  }

  if (!snapshot.exists) {
    logger.info(
      `Alias '${alias}' does not exist yet: creating it at version ${newVersion} (first deploy, no traffic to shift from)`,
    );
    await emit({ phase: 'shifting', stepIndex: -1, percent: 100, target: promoted });
    const state = await createAlias(
      lambda,
      { functionName, alias, version: newVersion, description },
      aliasOptions,
    );
    await emit({ phase: 'shifted', stepIndex: -1, percent: 100, target: promoted, state });
    return { rolledBack: false, changed: true, state };
  }

  let expected: AliasTarget = { version: snapshot.functionVersion!, weights: snapshot.weights };
  let expectedRevision = snapshot.revisionId;
  let state: AliasState = snapshot;
  for (const [stepIndex, step] of options.plan.entries()) {
    const target = stepTarget(step, oldVersion, newVersion);
    const final = stepIndex === options.plan.length - 1;
    try {
      const current = await readAlias(lambda, functionName, alias, aliasOptions);
      const sameRevision =
        !expectedRevision || !current.revisionId || current.revisionId === expectedRevision;
      if (!routesAs(current, expected) || !sameRevision) {
        throw new AliasConflictError(
          functionName,
          alias,
          `expected '${describeAliasState({ ...current, exists: true, functionVersion: expected.version, weights: expected.weights })}' before step ${stepIndex + 1} (${step.percent}%), found '${describeAliasState(current)}'` +
            (sameRevision ? '' : ` (revision ${current.revisionId}, expected ${expectedRevision})`),
        );
      }
      await emit({ phase: 'shifting', stepIndex, percent: step.percent, target });
      state = await pointAlias(
        lambda,
        {
          functionName,
          alias,
          version: target.version,
          weights: target.weights,
          revisionId: current.revisionId!,
          description,
        },
        aliasOptions,
      );
      expected = target;
      expectedRevision = state.revisionId;
      logger.info(`Step ${stepIndex + 1}/${options.plan.length}: ${describeAliasState(state)}`);
      await emit({ phase: 'shifted', stepIndex, percent: step.percent, target, state });
      if (final) break;
      const outcome = await bake({
        ...options.bake,
        durationMs: step.bakeMs,
        logger,
        label: `${alias} at ${step.percent}% on version ${newVersion}`,
      });
      if (outcome.failed)
        return await rollBack(
          options,
          `${outcome.reason} (bake after ${step.percent}%)`,
          stepIndex,
          step.percent,
        );
    } catch (error) {
      if (error instanceof AliasConflictError) throw error;
      return await rollBack(
        options,
        `step ${stepIndex + 1} (${step.percent}%) failed: ${errorMessage(error)}`,
        stepIndex,
        step.percent,
      );
    }
  }
  return { rolledBack: false, changed: true, state };
}

async function rollBack(
  options: ShiftOptions,
  reason: string,
  stepIndex: number,
  percent: number,
): Promise<ShiftResult> {
  const { lambda, snapshot, logger, newVersion } = options;
  logger.warning(`Rolling back '${options.alias}' to '${describeAliasState(snapshot)}': ${reason}`);
  await options.onStep?.({ phase: 'rolling-back', stepIndex, percent, reason });
  let restore: RestoreResult;
  try {
    restore = await restoreAlias(lambda, snapshot, {
      logger,
      ...options.aliasOptions,
      ownVersion: newVersion,
    });
  } catch (error) {
    const next =
      error instanceof AliasConflictError
        ? 'Another writer owns the alias now; it was left as that writer set it.'
        : `The alias may still send traffic to version ${newVersion}; the post step retries the restore.`;
    throw new ActionError(
      `${reason}; then restoring alias '${options.alias}' to '${describeAliasState(snapshot)}' failed: ${errorMessage(error)}. ${next}`,
    );
  }
  logger.info(`Alias restored: ${describeAliasState(restore.after)} (${restore.action})`);
  await options.onStep?.({
    phase: 'rolled-back',
    stepIndex,
    percent,
    state: restore.after,
    reason,
  });
  return { rolledBack: true, reason, restore };
}
