#!/usr/bin/env node
// `npm run chaos`: seeded fault runs and concurrent pairs against the local sandbox, then the
// table. Needs `bash scripts/sandbox.sh up` and `npm run build` first.
//
//   npm run chaos                           200 runs (seeds 1..200), 20 pairs, 10% faults
//   npm run chaos -- --seeds 17,42          replay those seeds only (no pairs)
//   npm run chaos -- --runs 50 --pairs 5 --rate 0.2 --jobs 2 --kill-rate 0.15
import { REPO_ROOT } from '../../scripts/sandbox/action-runner.mjs';
import { formatTable, runChaos } from './suite.mjs';

function parseArgs(argv) {
  const options = { runs: 200, pairs: 20, rate: 0.1, jobs: 1, killRate: 0.15, first: 1 };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=');
    const value = () => inline ?? argv[++i];
    switch (flag) {
      case '--runs':
        options.runs = Number(value());
        break;
      case '--pairs':
        options.pairs = Number(value());
        break;
      case '--rate':
        options.rate = Number(value());
        break;
      case '--jobs':
        options.jobs = Number(value());
        break;
      case '--kill-rate':
        options.killRate = Number(value());
        break;
      case '--first-seed':
        options.first = Number(value());
        break;
      case '--seeds':
        options.seeds = value().split(',').map(Number);
        options.pairs = 0;
        break;
      default:
        throw new Error(`unknown option ${argv[i]} (see the header of test/chaos/run.mjs)`);
    }
  }
  options.seeds ??= Array.from({ length: options.runs }, (_, i) => options.first + i);
  return options;
}

const options = parseArgs(process.argv.slice(2));
const started = Date.now();
console.log(
  `chaos: ${options.seeds.length} runs, ${options.pairs} pairs, fault rate ${options.rate}, SIGTERM rate ${options.killRate}, ${options.jobs} lane(s)`,
);
let done = 0;
const summary = await runChaos({
  root: REPO_ROOT,
  ...options,
  onResult: (r) => {
    done++;
    const what = r.harnessError
      ? `HARNESS ERROR ${r.harnessError}`
      : `${r.green ? 'green' : 'red  '} faults=${r.faults.length}${r.killed ? (r.killAtStart ? ' SIGTERM@start' : ` SIGTERM@${r.killAtMs}ms`) : ''}${r.flipped ? ' alarm' : ''} ${r.ms} ms` +
        (r.violations.length
          ? ` VIOLATIONS: ${r.violations.map((v) => `(${v.invariant}) ${v.message}`).join(' | ')}`
          : '');
    console.log(
      `[${done}/${options.seeds.length}] seed ${r.seed} ${r.scenario}/${r.variant}: ${what}`,
    );
  },
  onPair: (p) =>
    console.log(
      `pair ${p.seed}: ${p.outcomes.join(' + ')}${p.violations.length ? ` VIOLATIONS: ${p.violations.map((v) => `(${v.invariant}) ${v.message}`).join(' | ')}` : ''}`,
    ),
});
console.log('');
console.log(formatTable(summary));
console.log(`(${Math.round((Date.now() - started) / 1000)} s)`);
process.exitCode = summary.violations.length > 0 || summary.harnessErrors.length > 0 ? 1 : 0;
