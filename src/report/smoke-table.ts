import type { SmokeRunResult } from '../release/smoke/smoke-run.js';
import type { JobReport } from './job-report.js';

/** The smoke-test table: case, result, latency, and why a case failed. */
export function reportSmoke(report: JobReport, heading: string, run: SmokeRunResult): void {
  const rows = run.results.map((r) => [
    r.name,
    r.passed ? '✅ passed' : '❌ failed',
    r.latencyMs === undefined ? '—' : `${Math.round(r.latencyMs)} ms`,
    r.passed ? '' : [...r.reasons, r.diff ?? ''].filter(Boolean).join('; ').slice(0, 600),
  ]);
  const passed = run.results.filter((r) => r.passed).length;
  report.table(
    heading,
    ['case', 'result', 'latency', 'details'],
    rows,
    `${passed} of ${run.results.length} cases passed.`,
  );
}
