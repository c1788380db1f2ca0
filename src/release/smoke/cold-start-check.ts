import type { LambdaClient } from '@aws-sdk/client-lambda';
import { errorMessage } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { Sleep } from '../../retry.js';
import {
  formatMs,
  judgeColdStart,
  parseReport,
  type ColdStartVerdict,
  type LambdaReport,
} from './cold-start.js';
import { baselineFor, readRecords, writeRecord } from './cold-start-record.js';
import type { SmokeRunResult } from './smoke-run.js';
import type { SmokeSpec } from './smoke-spec.js';

export interface ColdStartCheck {
  report?: LambdaReport;
  verdict: ColdStartVerdict;
}

export interface ColdStartCheckOptions {
  lambda: LambdaClient;
  /** Unqualified: the records are tags on the function. */
  functionArn: string;
  /** The new version, whose first invocation is results[0]. */
  version: string;
  /** The version the alias serves now: the baseline. */
  servedVersion?: string;
  spec: SmokeSpec;
  run: SmokeRunResult;
  logger: Logger;
  sleep?: Sleep;
}

/**
 * Reads the REPORT line of the new version's first invocation, judges it against the spec's
 * budgets and the served version's record, and records the new version's figure. The records are
 * a convenience: failing to read or write them warns and never blocks a release on its own.
 */
export async function checkColdStart(options: ColdStartCheckOptions): Promise<ColdStartCheck> {
  const { logger, spec } = options;
  const report = parseReport(options.run.results[0]?.logTail);
  const store = { lambda: options.lambda, functionArn: options.functionArn, sleep: options.sleep };
  let records = new Map<string, number>();
  try {
    records = await readRecords(store);
  } catch (error) {
    logger.warning(`Could not read the recorded cold starts (ListTags): ${errorMessage(error)}`);
  }
  const verdict = judgeColdStart({
    report,
    baseline: baselineFor(records, options.servedVersion),
    servedVersion: options.servedVersion,
    coldStart: spec.coldStart,
    memory: spec.memory,
  });
  logger.info(`Version ${options.version}: ${verdict.summary}`);
  for (const warning of verdict.warnings) logger.warning(warning);
  if (verdict.coldStartMs !== undefined) {
    try {
      const pruned = await writeRecord(
        store,
        records,
        options.version,
        verdict.coldStartMs,
        options.servedVersion,
      );
      logger.info(
        `Recorded ${formatMs(verdict.coldStartMs)} for version ${options.version}${pruned.length ? ` (dropped ${pruned.length} old record(s))` : ''}`,
      );
    } catch (error) {
      logger.warning(
        `Could not record the cold start of version ${options.version} (TagResource): ${errorMessage(error)}; the next run has no baseline to compare with`,
      );
    }
  }
  const check: ColdStartCheck = { verdict };
  if (report) check.report = report;
  return check;
}

/** The summary's lines for the cold start of a version. Pure. */
export function describeCheck(version: string, check: ColdStartCheck): string[] {
  const { report, verdict } = check;
  const lines = [`Version ${version}: ${verdict.summary}.`];
  if (report) {
    const memory =
      report.maxMemoryUsedMb !== undefined
        ? `max memory used ${report.maxMemoryUsedMb} MB of ${report.memorySizeMb ?? '?'} MB${verdict.memoryUsedPercent !== undefined ? ` (${Math.round(verdict.memoryUsedPercent)}%)` : ''}`
        : 'max memory used not reported';
    lines.push('', `First invocation: duration ${formatMs(report.durationMs)}, ${memory}.`);
  }
  for (const reason of verdict.reasons) lines.push('', `❌ ${reason}.`);
  for (const warning of verdict.warnings) lines.push('', `⚠️ ${warning}.`);
  return lines;
}
