/**
 * Bundle bench: our deterministic zip against `zip -r -X` on the same generated model.
 *
 *   npm run bench [-- --weights-mib 150 --arrays-mib 100 --big-mib 300 --level 2 --skip-big --skip-baseline --keep]
 *   (then the cold-start bench, bench/cold-start-bench.ts: --cold-start-only, --skip-cold-start, --invokes N,
 *   and the image bench, bench/image-bench.ts: --image-only, --skip-image, --image-model-mib N)
 *   (then the model-store bench, bench/model-store-bench.ts: --model-store-only, --skip-model-store)
 *
 * Our zipper runs in a child process (this same file with --child) so that its peak RSS is its
 * own. Prints time, size and peak-RSS figures and pass/fail lines against the targets; exits 0
 * unless something crashed.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { collectBundleFiles } from '../src/packaging/bundle-files.js';
import { DEFAULT_EXCLUDES } from '../src/settings.js';
import { writeDeterministicZip, type ZipResult } from '../src/packaging/zip.js';
import { errorMessage } from '../src/errors.js';
import { runCommand } from '../src/exec.js';
import { formatDuration } from '../src/log.js';
import { coldStartBench } from './cold-start-bench.js';
import { imageBench } from './image-bench.js';
import { modelStoreBench } from './model-store-bench.js';
import { MiB, writeBenchWorkspace, writePickleLike, writeSafetensors } from './generate.js';

const TARGET_TIME_RATIO = 0.35;
const TARGET_SIZE_RATIO = 1.1;
const TARGET_RSS_BYTES = 200 * MiB;

interface ChildArgs {
  workspace: string;
  model: string[];
  out: string;
  level?: number;
}

interface ChildReport {
  ms: number;
  collectMs: number;
  maxRssBytes: number;
  zip: ZipResult;
}

interface Measured {
  ms: number;
  bytes: number;
  rssBytes?: number;
}

interface Args {
  weightsMiB: number;
  arraysMiB: number;
  bigMiB: number;
  level?: number;
  skipBig: boolean;
  skipBaseline: boolean;
  keep: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = {
    weightsMiB: 150,
    arraysMiB: 100,
    bigMiB: 300,
    skipBig: false,
    skipBaseline: false,
    keep: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const number = () => {
      const value = Number(argv[++i]);
      if (!Number.isFinite(value) || value <= 0)
        throw new Error(`${flag} expects a positive number`);
      return value;
    };
    if (flag === '--weights-mib') args.weightsMiB = number();
    else if (flag === '--arrays-mib') args.arraysMiB = number();
    else if (flag === '--big-mib') args.bigMiB = number();
    else if (flag === '--level') args.level = number();
    else if (flag === '--skip-big') args.skipBig = true;
    else if (flag === '--skip-baseline') args.skipBaseline = true;
    else if (flag === '--keep') args.keep = true;
    else
      throw new Error(
        `unknown argument '${flag}' (expected --weights-mib N, --arrays-mib N, --big-mib N, --level N, --skip-big, --skip-baseline, --keep)`,
      );
  }
  return args;
}

/** The measured side: collect + zip, as the action does it, then report own time and peak RSS. */
async function childMain(json: string): Promise<void> {
  const args = JSON.parse(json) as ChildArgs;
  const started = performance.now();
  const files = await collectBundleFiles({
    workspace: args.workspace,
    sourceDir: '.',
    include: [],
    exclude: DEFAULT_EXCLUDES,
    model: args.model,
    modelDest: 'model',
  });
  const collectMs = performance.now() - started;
  const zip = await writeDeterministicZip({ files, destPath: args.out, level: args.level });
  const report: ChildReport = {
    ms: performance.now() - started,
    collectMs,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    zip,
  };
  process.stdout.write(JSON.stringify(report));
}

function runTimed(
  command: string,
  args: string[],
  cwd?: string,
): Promise<{ ms: number; exitCode: number; stdout: string; stderr: string }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', reject);
    child.on('close', (code) =>
      resolve({
        ms: performance.now() - started,
        exitCode: code ?? 1,
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString(),
      }),
    );
  });
}

async function runOurs(args: ChildArgs): Promise<Measured & { report: ChildReport }> {
  const script = process.argv[1];
  const result = await runTimed(process.execPath, [script, '--child', JSON.stringify(args)]);
  if (result.exitCode !== 0)
    throw new Error(`our zipper failed (exit ${result.exitCode}): ${result.stderr.trim()}`);
  const report = JSON.parse(result.stdout) as ChildReport;
  return { ms: result.ms, bytes: report.zip.zippedBytes, rssBytes: report.maxRssBytes, report };
}

async function available(command: string, args: string[]): Promise<boolean> {
  try {
    await runCommand(command, args);
    return true;
  } catch {
    return false;
  }
}

/** `zip` for the baseline; installed with apt-get only when missing and running as root. */
async function ensureZip(): Promise<boolean> {
  if (await available('zip', ['-v'])) return true;
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (root && (await available('apt-get', ['--version']))) {
    console.log('`zip` is missing; installing it with apt-get (root) for the baseline ...');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    await runCommand('apt-get', ['install', '-y', '-q', 'zip'], { env });
    if (await available('zip', ['-v'])) return true;
  }
  console.log(
    '`zip` is not installed (and could not be installed): skipping the `zip -r -X` baseline. Install it (apt-get install zip) to compare.',
  );
  return false;
}

async function runZipBaseline(workspace: string, out: string): Promise<Measured> {
  const rssFile = `${out}.rss`;
  const withTime = await available('/usr/bin/time', ['-f', '%M', 'true']);
  const result = withTime
    ? await runTimed(
        '/usr/bin/time',
        ['-f', '%M', '-o', rssFile, 'zip', '-r', '-X', '-q', out, '.'],
        workspace,
      )
    : await runTimed('zip', ['-r', '-X', '-q', out, '.'], workspace);
  if (result.exitCode !== 0)
    throw new Error(`zip -r -X failed (exit ${result.exitCode}): ${result.stderr.trim()}`);
  const rssKb = withTime
    ? Number((await fs.readFile(rssFile, 'utf8')).trim().split('\n').pop())
    : NaN;
  return {
    ms: result.ms,
    bytes: (await fs.stat(out)).size,
    rssBytes: Number.isFinite(rssKb) ? rssKb * 1024 : undefined,
  };
}

/** Checks our zip with `unzip -t` and compares its file list with the baseline's. */
async function verify(ours: string, baseline: string | undefined): Promise<string> {
  if (!(await available('unzip', ['-v']))) return 'not verified (unzip missing)';
  const test = await runCommand('unzip', ['-tqq', ours]);
  if (test.exitCode !== 0)
    throw new Error(`unzip -t rejects our zip: ${test.stdout}${test.stderr}`);
  if (!baseline) return 'unzip -t OK';
  const list = async (zip: string) =>
    (await runCommand('unzip', ['-Z1', zip])).stdout
      .split('\n')
      .filter((name) => name && !name.endsWith('/'))
      .sort()
      .join('\n');
  const [a, b] = await Promise.all([list(ours), list(baseline)]);
  if (a !== b)
    throw new Error(`our zip and zip -r -X hold different files:\n--- ours\n${a}\n--- zip\n${b}`);
  return 'unzip -t OK, same files as zip -r -X';
}

const mb = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;
const verdict = (ok: boolean) => (ok ? 'PASS' : 'FAIL');

async function mainBench(args: Args): Promise<void> {
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'lambda-ml-deploy-bench-'));
  try {
    const workspace = path.join(tmp, 'workspace');
    console.log(
      `Generating the model: ${args.weightsMiB} MiB float32 weights (safetensors) + ${args.arraysMiB} MiB pickle-like arrays ...`,
    );
    await writeBenchWorkspace(
      workspace,
      Math.round(args.weightsMiB * MiB),
      Math.round(args.arraysMiB * MiB),
    );

    const hasZip = !args.skipBaseline && (await ensureZip());
    const baselineZip = path.join(tmp, 'baseline.zip');
    const zipFigures = hasZip ? await runZipBaseline(workspace, baselineZip) : undefined;
    const ours = await runOurs({
      workspace,
      model: ['model'],
      out: path.join(tmp, 'ours.zip'),
      level: args.level,
    });
    const verified = await verify(ours.report.zip.path, hasZip ? baselineZip : undefined);

    const { zip } = ours.report;
    console.log('');
    console.log(`Bundle of ${zip.files} files, ${mb(zip.unzippedBytes)} unzipped:`);
    const row = (name: string, m: Measured) =>
      `  ${name.padEnd(12)} ${formatDuration(m.ms).padStart(9)}  ${mb(m.bytes).padStart(11)}  peak RSS ${m.rssBytes === undefined ? 'n/a' : mb(m.rssBytes)}`;
    if (zipFigures) console.log(row('zip -r -X', zipFigures));
    console.log(
      row('ours', ours) +
        `  (stored ${zip.stored}, deflated ${zip.deflated}; in-process ${formatDuration(ours.report.ms)}, of which listing files ${formatDuration(ours.report.collectMs)})`,
    );
    console.log(`  check: ${verified}; CodeSha256 ${zip.codeSha256}`);
    console.log('');
    if (zipFigures) {
      const timeRatio = ours.ms / zipFigures.ms;
      const sizeRatio = ours.bytes / zipFigures.bytes;
      console.log(
        `${verdict(timeRatio <= TARGET_TIME_RATIO)} time  ours/zip = ${timeRatio.toFixed(2)}x (target <= ${TARGET_TIME_RATIO}x)`,
      );
      console.log(
        `${verdict(sizeRatio <= TARGET_SIZE_RATIO)} size  ours/zip = ${sizeRatio.toFixed(3)}x (target <= ${TARGET_SIZE_RATIO.toFixed(2)}x)`,
      );
    } else {
      console.log('SKIP time and size ratios (no zip baseline)');
    }
    console.log(
      `${verdict((ours.rssBytes ?? Infinity) <= TARGET_RSS_BYTES)} RSS   ours = ${mb(ours.rssBytes ?? NaN)} (target <= ${mb(TARGET_RSS_BYTES)})`,
    );
    await fs.rm(workspace, { recursive: true, force: true });
    await fs.rm(baselineZip, { force: true });
    await fs.rm(zip.path, { force: true });

    if (!args.skipBig) {
      console.log('');
      console.log(
        `One ${args.bigMiB} MiB model file, bundled alone (peak RSS of the bundling process):`,
      );
      const big = path.join(tmp, 'big');
      const cases: Array<{
        label: string;
        name: string;
        write: (file: string) => Promise<number>;
      }> = [
        {
          label: 'float weights, stored',
          name: 'weights.safetensors',
          write: (file) => writeSafetensors(file, Math.round(args.bigMiB * MiB), 3),
        },
        {
          label: 'pickle-like, deflated',
          name: 'arrays.pkl',
          write: (file) => writePickleLike(file, Math.round(args.bigMiB * MiB), 4),
        },
      ];
      for (const testCase of cases) {
        await fs.mkdir(path.join(big, 'model'), { recursive: true });
        await fs.writeFile(
          path.join(big, 'lambda_function.py'),
          'def lambda_handler(event, context):\n    return {}\n',
        );
        const file = path.join(big, 'model', testCase.name);
        const bytes = await testCase.write(file);
        const run = await runOurs({
          workspace: big,
          model: [file],
          out: path.join(tmp, 'big.zip'),
          level: args.level,
        });
        const share = ((run.rssBytes ?? 0) / bytes) * 100;
        console.log(
          `  ${testCase.label.padEnd(22)} ${mb(bytes)} -> ${mb(run.bytes)} in ${formatDuration(run.ms)}; peak RSS ${mb(run.rssBytes ?? NaN)} (${share.toFixed(0)}% of the file)`,
        );
        await fs.rm(big, { recursive: true, force: true });
        await fs.rm(path.join(tmp, 'big.zip'), { force: true });
      }
    }
  } finally {
    if (args.keep) console.log(`\nKept ${tmp}`);
    else await fs.rm(tmp, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === '--child') return childMain(argv[1]);
  // The cold-start bench's own flags: --cold-start-only, --skip-cold-start, --invokes N.
  // The image bench's: --image-only, --skip-image, --image-model-mib N.
  const coldOnly = argv.includes('--cold-start-only');
  const coldSkip = argv.includes('--skip-cold-start');
  const imageOnly = argv.includes('--image-only');
  const imageSkip = argv.includes('--skip-image');
  const storeOnly = argv.includes('--model-store-only');
  const storeSkip = argv.includes('--skip-model-store');
  const invokesAt = argv.indexOf('--invokes');
  const coldArgs = invokesAt >= 0 ? argv.slice(invokesAt, invokesAt + 2) : [];
  const mibAt = argv.indexOf('--image-model-mib');
  const imageArgs = mibAt >= 0 ? argv.slice(mibAt, mibAt + 2) : [];
  const rest = argv.filter(
    (arg, i) =>
      ![
        '--cold-start-only',
        '--skip-cold-start',
        '--image-only',
        '--skip-image',
        '--model-store-only',
        '--skip-model-store',
      ].includes(arg) &&
      !(invokesAt >= 0 && (i === invokesAt || i === invokesAt + 1)) &&
      !(mibAt >= 0 && (i === mibAt || i === mibAt + 1)),
  );
  if (imageOnly) return imageBench(imageArgs);
  if (storeOnly) return modelStoreBench(coldArgs);
  if (!coldOnly) await mainBench(parseArgs(rest));
  if (!coldSkip) await coldStartBench(coldArgs);
  if (!imageSkip && !coldOnly) await imageBench(imageArgs);
  if (!storeSkip && !coldOnly) await modelStoreBench(coldArgs);
}

main().catch((error: unknown) => {
  console.error(`bench crashed: ${errorMessage(error)}`);
  process.exitCode = 1;
});
