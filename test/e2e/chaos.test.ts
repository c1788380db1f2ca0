/**
 * Safety under faults (issue: safety), the part of the chaos suite that runs in `npm test`: 30
 * fixed seeds (every scenario with a good and a bad version, three times, SIGTERMs and an alarm
 * flip among them) at a 10% fault rate, and two concurrent pairs. After every run the invariant
 * checker reads AWS state and the fault proxy's log; this test asserts that none was broken and
 * that every SIGTERMed run was put right by its post step. The full suite is `npm run chaos`.
 *
 * Needs `bash scripts/sandbox.sh up` and `npm run build`.
 */
import { formatTable, runChaos, type ChaosSummary } from '../chaos/suite.mjs';
import { assertSandboxUp, loadSandbox, REPO_ROOT } from './helpers/sandbox.js';

const SEEDS = Array.from({ length: 30 }, (_, i) => i + 1);
let summary: ChaosSummary;

beforeAll(async () => {
  await assertSandboxUp(loadSandbox());
  summary = await runChaos({
    root: REPO_ROOT,
    seeds: SEEDS,
    pairs: 2,
    rate: 0.1,
    jobs: 1,
    startKills: false,
  });
  process.stdout.write(`\n${formatTable(summary)}\n`);
}, 1_500_000);

describe('chaos subset (seeds 1-30, 10% faults, 2 concurrent pairs)', () => {
  it('ran every seed, injected faults and SIGTERMs', () => {
    expect(summary.harnessErrors).toEqual([]);
    expect(summary.runs).toBe(SEEDS.length);
    expect(Object.keys(summary.perScenario).sort()).toEqual(
      ['all-at-once', 'canary', 'cleanup', 'preview', 'rollback'].sort(),
    );
    expect(Object.values(summary.faultsByKind).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    expect(summary.killed.of).toBeGreaterThan(0);
    expect(summary.pairs.count).toBe(2);
  });

  it('broke no invariant (replay a seed with `npm run chaos -- --seeds N`)', () => {
    expect(summary.violations).toEqual([]);
  });

  it('every SIGTERMed run was restored by its post step', () => {
    expect(summary.killed.restored).toBe(summary.killed.of);
  });
});
