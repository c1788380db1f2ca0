// The chaos suite: seeded fault runs over every scenario and variant, concurrent pairs, and the
// table that sums them up. A seed alone fixes a run: its scenario, variant, faults, SIGTERM moment
// and alarm flip (`npm run chaos -- --seeds 17,42` replays those runs).
import { FAULT_KINDS } from './fault-proxy.mjs';
import { createLane, planRun, runPair, runScenario, SCENARIOS, VARIANTS } from './scenarios.mjs';

/** The run a seed stands for. */
export function planForSeed(seed, options = {}) {
  const scenario = SCENARIOS[seed % SCENARIOS.length];
  const variant = VARIANTS[Math.floor(seed / SCENARIOS.length) % VARIANTS.length];
  return planRun(seed, scenario, variant, options);
}

/**
 * Runs `seeds` (spread over `jobs` lanes that run side by side) and `pairs` concurrent pairs.
 * Options: root, seeds, pairs, pairSeedBase, rate, killRate, jobs, onResult(result).
 */
export async function runChaos(options) {
  const jobs = Math.max(1, options.jobs ?? 1);
  const lanes = Array.from({ length: Math.max(jobs, options.pairs ? 2 : 1) }, (_, lane) =>
    createLane({ root: options.root, lane, rate: options.rate }),
  );
  const results = [];
  const pairs = [];
  const harnessErrors = [];
  try {
    const queue = options.seeds.map((seed) => planForSeed(seed, { killRate: options.killRate }));
    await Promise.all(
      lanes.slice(0, jobs).map(async (lane) => {
        for (let plan = queue.shift(); plan; plan = queue.shift()) {
          try {
            const result = await runScenario(lane, plan);
            results.push(result);
            options.onResult?.(result);
          } catch (error) {
            harnessErrors.push({ seed: plan.seed, error: String(error?.stack ?? error) });
            options.onResult?.({ ...plan, harnessError: String(error) });
          }
        }
      }),
    );
    for (let i = 0; i < (options.pairs ?? 0); i++) {
      const seed = (options.pairSeedBase ?? 9000) + i;
      try {
        const pair = await runPair(lanes[0], seed, lanes[1]);
        pairs.push(pair);
        options.onPair?.(pair);
      } catch (error) {
        harnessErrors.push({ seed, error: String(error?.stack ?? error) });
      }
    }
  } finally {
    for (const lane of lanes) lane.close();
  }
  return summarize(results, pairs, harnessErrors);
}

/** Counts for the table. */
export function summarize(results, pairs = [], harnessErrors = []) {
  const perScenario = {};
  for (const r of results) {
    const row = (perScenario[r.scenario] ??= { runs: 0, good: 0, bad: 0, killed: 0, faulted: 0 });
    row.runs++;
    row[r.variant]++;
    if (r.killed) row.killed++;
    if (r.faults.length > 0) row.faulted++;
  }
  const faultsByKind = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0]));
  for (const r of results) for (const kind of r.faults) faultsByKind[kind]++;
  const found = [
    ...results.flatMap((r) =>
      r.violations.map((v) => ({ seed: r.seed, scenario: `${r.scenario}/${r.variant}`, ...v })),
    ),
    ...pairs.flatMap((p) => p.violations.map((v) => ({ seed: p.seed, scenario: 'pair', ...v }))),
  ];
  const violations = found.filter((v) => v.invariant !== 'sandbox');
  const sandboxErrors = found.filter((v) => v.invariant === 'sandbox');
  const faultedGreenExpected = results.filter((r) => r.expectGreen && r.faults.length > 0);
  const killed = results.filter((r) => r.killed);
  return {
    runs: results.length,
    perScenario,
    faultsByKind,
    violations,
    violationsByInvariant: violations.reduce(
      (acc, v) => ({ ...acc, [v.invariant]: (acc[v.invariant] ?? 0) + 1 }),
      {},
    ),
    greenDespiteFaults: {
      green: faultedGreenExpected.filter((r) => r.green).length,
      of: faultedGreenExpected.length,
    },
    killed: { restored: killed.filter((r) => r.restored).length, of: killed.length },
    pairs: {
      count: pairs.length,
      bothLive: pairs.filter((p) => p.outcomes.every((o) => o === 'live')).length,
      oneConflict: pairs.filter((p) => p.outcomes.filter((o) => o === 'conflict').length === 1)
        .length,
      bothConflict: pairs.filter((p) => p.outcomes.every((o) => o === 'conflict')).length,
    },
    sandboxErrors,
    redDespiteGood: faultedGreenExpected
      .filter((r) => !r.green)
      .map((r) => ({ seed: r.seed, scenario: `${r.scenario}/${r.variant}`, error: r.error })),
    harnessErrors,
    results,
  };
}

const pct = (n, of) => (of === 0 ? '—' : `${((100 * n) / of).toFixed(1)}%`);

/** The table `npm run chaos` prints. */
export function formatTable(summary) {
  const lines = [];
  lines.push('Runs per scenario');
  lines.push('  scenario      runs  good  bad  SIGTERM  with faults');
  for (const [name, row] of Object.entries(summary.perScenario))
    lines.push(
      `  ${name.padEnd(12)} ${String(row.runs).padStart(5)} ${String(row.good).padStart(5)} ${String(row.bad).padStart(4)} ${String(row.killed).padStart(8)} ${String(row.faulted).padStart(12)}`,
    );
  lines.push(`  ${'total'.padEnd(12)} ${String(summary.runs).padStart(5)}`);
  lines.push('Faults injected by kind');
  const total = Object.values(summary.faultsByKind).reduce((a, b) => a + b, 0);
  for (const [kind, n] of Object.entries(summary.faultsByKind))
    lines.push(`  ${kind.padEnd(14)} ${String(n).padStart(5)}`);
  lines.push(`  ${'total'.padEnd(14)} ${String(total).padStart(5)}`);
  lines.push(`Invariant violations: ${summary.violations.length}`);
  for (const [inv, n] of Object.entries(summary.violationsByInvariant))
    lines.push(`  (${inv}) ${n}`);
  const g = summary.greenDespiteFaults;
  lines.push(
    `Runs green despite faults: ${g.green}/${g.of} (${pct(g.green, g.of)}) of the faulted runs that should end green`,
  );
  lines.push(
    `SIGTERM runs restored by the post step: ${summary.killed.restored}/${summary.killed.of}`,
  );
  const p = summary.pairs;
  lines.push(
    `Concurrent pairs: ${p.count} (both live ${p.bothLive}, one clear conflict ${p.oneConflict}, both conflict ${p.bothConflict})`,
  );
  if (summary.sandboxErrors.length > 0) {
    lines.push(`Sandbox failures (not counted as violations): ${summary.sandboxErrors.length}`);
    for (const v of summary.sandboxErrors)
      lines.push(`  seed ${v.seed} ${v.scenario}: ${v.message.slice(0, 200)}`);
  }
  if (summary.harnessErrors.length > 0) {
    lines.push(
      `Harness errors (the run could not be set up or checked): ${summary.harnessErrors.length}`,
    );
    for (const e of summary.harnessErrors)
      lines.push(`  seed ${e.seed}: ${e.error.split('\n')[0].slice(0, 300)}`);
  }
  if (summary.violations.length > 0) {
    lines.push('Violations (replay with `npm run chaos -- --seeds <seed>`):');
    for (const v of summary.violations)
      lines.push(`  seed ${v.seed} ${v.scenario} (${v.invariant}): ${v.message}`);
  }
  if (summary.redDespiteGood.length > 0) {
    lines.push('Faulted runs that should have ended green but did not:');
    for (const r of summary.redDespiteGood)
      lines.push(`  seed ${r.seed} ${r.scenario}: ${r.error}`);
  }
  return lines.join('\n');
}
