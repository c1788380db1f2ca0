import { checkColdStart, describeCheck } from '../release/smoke/cold-start-check.js';
import type { SmokeSpec } from '../release/smoke/smoke-spec.js';
import type { DeploySettings, PreviewModeSettings } from '../settings.js';
import type { SmokeRunResult } from '../release/smoke/smoke-run.js';
import type { RunContext } from './context.js';

/**
 * The cold-start budgets judge the first invocation of the new version; a version over budget
 * fails like a failing smoke case (a row in the smoke table), so it never reaches the alias.
 */
export async function gateColdStart(
  ctx: RunContext<DeploySettings | PreviewModeSettings>,
  candidate: {
    version: string;
    /** Unqualified. */
    functionArn: string;
    /** The version the alias serves now: the baseline. */
    servedVersion?: string;
    smoke: SmokeRunResult;
  },
  spec: SmokeSpec,
): Promise<void> {
  const smoke = candidate.smoke;
  const check = await checkColdStart({
    lambda: ctx.clients.lambda,
    functionArn: candidate.functionArn,
    version: candidate.version,
    servedVersion: candidate.servedVersion,
    spec,
    run: smoke,
    logger: ctx.logger,
  });
  const { verdict, report } = check;
  if (verdict.coldStartMs !== undefined) ctx.result.coldStartMs = Math.round(verdict.coldStartMs);
  if (report?.maxMemoryUsedMb !== undefined) ctx.result.maxMemoryMb = report.maxMemoryUsedMb;
  ctx.report.section('Cold start', describeCheck(candidate.version, check));
  if (!verdict.passed) {
    smoke.results.push({ name: 'cold-start budget', passed: false, reasons: verdict.reasons });
    smoke.passed = false;
  }
}
