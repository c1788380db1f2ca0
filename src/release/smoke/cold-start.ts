import { formatDuration } from '../../log.js';

/** What Lambda's REPORT line says about one invocation. */
export interface LambdaReport {
  durationMs: number;
  billedDurationMs?: number;
  memorySizeMb?: number;
  maxMemoryUsedMb?: number;
  /** Present on the first invocation of an execution environment (a cold start). */
  initDurationMs?: number;
  /** SnapStart: the environment was restored from a snapshot instead of initialised. */
  restoreDurationMs?: number;
}

/** The smoke spec's optional budgets for the version as a whole. */
export interface ColdStartBudget {
  maxInitMs?: number;
  /** Percent over the served version's recorded cold start, e.g. 50 for "50%". */
  maxRegressionPercent?: number;
}

export interface MemoryBudget {
  /** Warn when max memory used is above this percent of the memory size. */
  maxUsedPercent: number;
}

/** Used when the spec has no `memory` section: a handler this close to its limit is at risk. */
export const DEFAULT_MEMORY_WARN_PERCENT = 90;

const FIELD = /([A-Za-z][A-Za-z ]*?):\s*([\d.]+)\s*(ms|MB)/g;

/**
 * The last REPORT line of a log tail (LogType Tail), or undefined when there is none. The last one
 * is taken because the tail holds the handler's own output before it.
 */
export function parseReport(logTail: string | undefined): LambdaReport | undefined {
  if (!logTail) return undefined;
  const lines = logTail.split(/\r?\n/).filter((line) => line.startsWith('REPORT RequestId:'));
  const line = lines[lines.length - 1];
  if (!line) return undefined;
  const fields = new Map<string, number>();
  for (const match of line.matchAll(FIELD)) {
    const value = Number(match[2]);
    if (Number.isFinite(value)) fields.set(match[1].trim(), value);
  }
  const duration = fields.get('Duration');
  if (duration === undefined) return undefined;
  const report: LambdaReport = { durationMs: duration };
  const set = (key: keyof LambdaReport, name: string) => {
    const value = fields.get(name);
    if (value !== undefined) report[key] = value;
  };
  set('billedDurationMs', 'Billed Duration');
  set('memorySizeMb', 'Memory Size');
  set('maxMemoryUsedMb', 'Max Memory Used');
  set('initDurationMs', 'Init Duration');
  set('restoreDurationMs', 'Restore Duration');
  return report;
}

/** The cold-start time a caller waits for: init, or restore under SnapStart. */
export function coldStartMs(report: LambdaReport | undefined): number | undefined {
  return report?.initDurationMs ?? report?.restoreDurationMs;
}

/** "50%" or 50 -> 50. Undefined for anything else. */
export function parsePercent(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const match = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(value);
  return match ? Number(match[1]) : undefined;
}

export interface Baseline {
  version: string;
  coldStartMs: number;
}

export interface ColdStartInput {
  /** REPORT of the first invocation of the new version; undefined when the tail had none. */
  report?: LambdaReport;
  /** The served version's recorded cold start, when there is one. */
  baseline?: Baseline;
  /** The version the alias serves (to say "no record" about it). */
  servedVersion?: string;
  coldStart?: ColdStartBudget;
  memory?: MemoryBudget;
}

export interface ColdStartVerdict {
  passed: boolean;
  /** Why the version is over budget, one line each (empty when passed). */
  reasons: string[];
  warnings: string[];
  coldStartMs?: number;
  /** Percent change against the baseline (e.g. 155 for +155%). */
  changePercent?: number;
  memoryUsedPercent?: number;
  /** One line for the summary: "cold start 2.3 s, was 0.9 s (+155%)". */
  summary: string;
}

/** Like formatDuration, with a decimal below 10 ms (a light handler imports in a millisecond). */
export function formatMs(ms: number): string {
  return ms < 10 ? `${ms.toFixed(1)} ms` : formatDuration(ms);
}

function signed(percent: number): string {
  const rounded = Math.round(percent);
  return `${rounded >= 0 ? '+' : ''}${rounded}%`;
}

/** Percent change from `before` to `after`; undefined when `before` is not positive. */
export function changePercent(before: number, after: number): number | undefined {
  return before > 0 ? ((after - before) / before) * 100 : undefined;
}

/** Describes the measured cold start against its baseline, e.g. "cold start 2.3 s, was 0.9 s (+155%)". */
export function describeColdStart(
  ms: number | undefined,
  baseline: Baseline | undefined,
  restore = false,
): string {
  if (ms === undefined) return 'no cold start measured';
  const what = restore ? 'cold start (SnapStart restore)' : 'cold start';
  if (!baseline) return `${what} ${formatMs(ms)}`;
  const change = changePercent(baseline.coldStartMs, ms);
  return `${what} ${formatMs(ms)}, was ${formatMs(baseline.coldStartMs)} on version ${baseline.version}${change === undefined ? '' : ` (${signed(change)})`}`;
}

/**
 * Judges the first invocation of a new version against the spec's budgets. Pure. A cold-start
 * budget that cannot be checked (no REPORT line) fails: the user asked for the check.
 */
export function judgeColdStart(input: ColdStartInput): ColdStartVerdict {
  const { report, baseline, coldStart } = input;
  const reasons: string[] = [];
  const warnings: string[] = [];
  const ms = coldStartMs(report);
  const restore = report?.initDurationMs === undefined && report?.restoreDurationMs !== undefined;
  const verdict: ColdStartVerdict = {
    passed: true,
    reasons,
    warnings,
    summary: describeColdStart(ms, baseline, restore),
  };
  if (ms !== undefined) verdict.coldStartMs = ms;
  const budgeted =
    coldStart?.maxInitMs !== undefined || coldStart?.maxRegressionPercent !== undefined;

  if (!report) {
    if (budgeted)
      reasons.push(
        'no REPORT line in the log tail of the first invocation, so the cold-start budget cannot be checked (is LogType Tail allowed for this role?)',
      );
    else warnings.push('no REPORT line in the log tail of the first invocation');
  } else if (ms === undefined) {
    warnings.push(
      'the first invocation reported no Init Duration (an execution environment was already warm), so no cold start was measured',
    );
  }

  if (ms !== undefined && coldStart?.maxInitMs !== undefined && ms > coldStart.maxInitMs) {
    reasons.push(
      `cold start ${formatMs(ms)} is over the budget of ${formatMs(coldStart.maxInitMs)} (max-init-ms ${coldStart.maxInitMs}) by ${formatMs(ms - coldStart.maxInitMs)}`,
    );
  }
  if (ms !== undefined && baseline) {
    const change = changePercent(baseline.coldStartMs, ms);
    if (change !== undefined) verdict.changePercent = change;
    const limit = coldStart?.maxRegressionPercent;
    if (limit !== undefined && change !== undefined && change > limit) {
      reasons.push(
        `cold start ${formatMs(ms)} is ${signed(change)} against ${formatMs(baseline.coldStartMs)} on version ${baseline.version}, over the allowed regression of ${limit}%`,
      );
    }
  } else if (ms !== undefined && coldStart?.maxRegressionPercent !== undefined) {
    warnings.push(
      input.servedVersion
        ? `no cold start recorded for version ${input.servedVersion} (the served one), so max-regression was not checked`
        : 'no served version to compare with, so max-regression was not checked',
    );
  }

  const used = report?.maxMemoryUsedMb;
  const size = report?.memorySizeMb;
  if (used !== undefined && size !== undefined && size > 0) {
    const percent = (used / size) * 100;
    verdict.memoryUsedPercent = percent;
    const threshold = input.memory?.maxUsedPercent ?? DEFAULT_MEMORY_WARN_PERCENT;
    if (percent > threshold) {
      warnings.push(
        `max memory used ${used} MB is ${Math.round(percent)}% of the memory size ${size} MB (over ${threshold}%): a bigger request may run out of memory; raise memory-size`,
      );
    }
  }
  verdict.passed = reasons.length === 0;
  return verdict;
}
