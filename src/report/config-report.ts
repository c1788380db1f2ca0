import type { ChangeRow } from '../release/function/change.js';
import type { JobReport } from './job-report.js';

/** Before -> after of every setting this run changes (or, on a dry run, would change). */
export function reportConfigChanges(
  report: JobReport,
  rows: readonly ChangeRow[],
  created: boolean,
): void {
  if (rows.length === 0) return;
  report.table(
    created ? 'Configuration of the new function' : 'Configuration changes',
    ['setting', 'before', 'after'],
    rows.map((row) => [row.label, row.before, row.after]),
    created
      ? undefined
      : 'Before: the version the alias serves ($LATEST when it serves none; tags and code signing: the function).',
  );
}
