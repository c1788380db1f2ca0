import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { Logger } from '../../log.js';
import { caseInvoker } from './invoke.js';
import { runSmokeTests, type SmokeRunResult } from './smoke-run.js';
import type { SmokeSpec } from './smoke-spec.js';

export interface SmokeTarget {
  lambda: LambdaClient;
  functionName: string;
  /** A published version number: smoke tests never go through an alias. */
  version: string;
  logger: Logger;
}

/**
 * Runs every case of the spec against the version, a few at a time, and logs each result. The
 * first case runs alone: on a fresh version it is the cold start the budgets judge.
 */
export async function smokeTestVersion(
  spec: SmokeSpec,
  target: SmokeTarget,
): Promise<SmokeRunResult> {
  const invoke = caseInvoker({
    lambda: target.lambda,
    functionName: target.functionName,
    version: target.version,
    logger: target.logger,
    ...(spec.defaults.timeoutMs !== undefined ? { defaultTimeoutMs: spec.defaults.timeoutMs } : {}),
  });
  const run = await runSmokeTests({
    cases: spec.cases,
    invoke,
    concurrency: spec.concurrency,
    firstAlone: true,
    logger: target.logger,
  });
  return run;
}
