/**
 * Safety under faults (issue: safety), the part of the chaos suite that runs in `npm test`: 30
 * fixed seeds (every scenario with a good and a bad version, three times, seven SIGTERMs and an
 * alarm flip among them) at a 10% fault rate, and two concurrent pairs. After every run the
 * invariant checker reads AWS state and the fault proxy's log; each seed is a test that asserts
 * no invariant broke, and every SIGTERMed run must have been put right by its post step. The full
 * suite is `npm run chaos`; `npm run chaos -- --seeds N` replays one seed with its log kept.
 *
 * Needs `bash scripts/sandbox.sh up` and `npm run build`.
 */
import { createLane, runPair, runScenario, type Lane } from '../chaos/scenarios.mjs';
import {
  formatTable,
  planForSeed,
  summarize,
  type PairResult,
  type RunResult,
} from '../chaos/suite.mjs';
import { assertSandboxUp, loadSandbox, REPO_ROOT } from './helpers/sandbox.js';

const SEEDS = Array.from({ length: 30 }, (_, i) => i + 1);
const PAIRS = [9000, 9001];
const TIMEOUT = 300_000;
const results: RunResult[] = [];
const pairs: PairResult[] = [];
let lane: Lane;
let laneB: Lane;

beforeAll(async () => {
  await assertSandboxUp(loadSandbox());
  lane = createLane({ root: REPO_ROOT, lane: 0, rate: 0.1 });
  laneB = createLane({ root: REPO_ROOT, lane: 1, rate: 0.1 });
});
afterAll(() => {
  lane?.close();
  laneB?.close();
  if (results.length > 0) process.stdout.write(`\n${formatTable(summarize(results, pairs))}\n`);
});

describe('chaos subset (10% faults)', () => {
  it.each(SEEDS)(
    'seed %i: no invariant broken',
    async (seed) => {
      // SIGTERMs before the first log line are left to `npm run chaos` (see its report).
      const result = await runScenario(lane, planForSeed(seed, { startKills: false }));
      results.push(result);
      expect(result.violations).toEqual([]);
    },
    TIMEOUT,
  );

  it.each(PAIRS)(
    'concurrent pair %i: each live or a clear conflict, no lost update',
    async (seed) => {
      const pair = await runPair(lane, seed, laneB);
      pairs.push(pair);
      expect(pair.violations.filter((v) => v.invariant !== 'sandbox')).toEqual([]);
    },
    TIMEOUT,
  );

  it('faults were injected, and every SIGTERMed run was restored by its post step', () => {
    expect(results).toHaveLength(SEEDS.length);
    expect(results.flatMap((r) => r.faults).length).toBeGreaterThan(0);
    const killed = results.filter((r) => r.killed);
    expect(killed.length).toBeGreaterThan(0);
    expect(killed.filter((r) => !r.restored).map((r) => r.seed)).toEqual([]);
  });
});
