import { errorMessage } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { InvocationResult } from './invoke.js';
import { matchCase } from './smoke-match.js';
import type { SmokeCase } from './smoke-spec.js';

export interface SmokeCaseResult {
  name: string;
  passed: boolean;
  /** Absent when the invocation itself could not be made. */
  latencyMs?: number;
  reasons: string[];
  diff?: string;
  functionError?: string;
  /** Execution log tail, for failures worth a look. */
  logTail?: string;
}

export interface SmokeRunResult {
  passed: boolean;
  /** In spec order, one per case. */
  results: SmokeCaseResult[];
}

export interface SmokeRunOptions {
  cases: readonly SmokeCase[];
  invoke: (smokeCase: SmokeCase) => Promise<InvocationResult>;
  /** Invocations in flight at most (default 4). */
  concurrency?: number;
  /**
   * Run the first case on its own before the others, so that exactly one invocation meets the
   * fresh version cold and its log tail (results[0].logTail) carries that cold start's REPORT.
   */
  firstAlone?: boolean;
  logger?: Logger;
}

export const DEFAULT_SMOKE_CONCURRENCY = 4;

/** Runs `task` over `items` with at most `limit` in flight; results keep the input order. */
export async function mapBounded<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index], index);
    }
  };
  const workers = Math.max(1, Math.min(Math.floor(limit) || 1, items.length));
  await Promise.all(Array.from({ length: workers }, worker));
  return results;
}

function logResult(logger: Logger | undefined, result: SmokeCaseResult): void {
  if (!logger) return;
  const latency = result.latencyMs === undefined ? '' : ` (${Math.round(result.latencyMs)} ms)`;
  if (result.passed) {
    logger.info(`PASS ${result.name}${latency}`);
    return;
  }
  logger.warning(`FAIL ${result.name}${latency}: ${result.reasons.join('; ')}`);
  if (result.diff) logger.info(`  diff for ${result.name}:\n${indent(result.diff)}`);
  if (result.logTail && result.functionError)
    logger.info(`  log tail for ${result.name}:\n${indent(result.logTail.trimEnd())}`);
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');
}

/** Invokes every case (bounded parallelism), judges each, and keeps every result in spec order. */
export async function runSmokeTests(options: SmokeRunOptions): Promise<SmokeRunResult> {
  const concurrency = options.concurrency ?? DEFAULT_SMOKE_CONCURRENCY;
  const runCase = async (smokeCase: SmokeCase): Promise<SmokeCaseResult> => {
    let invocation: InvocationResult;
    try {
      invocation = await options.invoke(smokeCase);
    } catch (error) {
      const result: SmokeCaseResult = {
        name: smokeCase.name,
        passed: false,
        reasons: [`invocation failed: ${errorMessage(error)}`],
      };
      logResult(options.logger, result);
      return result;
    }
    const verdict = matchCase(smokeCase, invocation);
    const result: SmokeCaseResult = {
      name: smokeCase.name,
      passed: verdict.passed,
      latencyMs: invocation.latencyMs,
      reasons: verdict.reasons,
    };
    if (verdict.diff) result.diff = verdict.diff;
    if (invocation.functionError) result.functionError = invocation.functionError;
    if (invocation.logTail) result.logTail = invocation.logTail;
    logResult(options.logger, result);
    return result;
  };
  const first = options.firstAlone && options.cases.length > 1 ? 1 : 0;
  const head = await mapBounded(options.cases.slice(0, first), 1, runCase);
  const rest = await mapBounded(options.cases.slice(first), concurrency, runCase);
  const results = [...head, ...rest];
  return { passed: results.every((r) => r.passed), results };
}

/** One line for an error message: which cases failed and why (the first reason of each). */
export function describeSmokeFailure(run: SmokeRunResult): string {
  const failed = run.results.filter((r) => !r.passed);
  if (failed.length === 0) return `all ${run.results.length} smoke cases passed`;
  const parts = failed.map((r) => `'${r.name}' (${r.reasons[0] ?? 'failed'})`);
  return `${failed.length} of ${run.results.length} smoke cases failed: ${parts.join(', ')}`;
}
