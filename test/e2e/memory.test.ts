/**
 * Memory on a large model: the bundle step (collect + deterministic zip, as the action runs it)
 * streams a 300 MB model file, so the process's peak RSS stays far below the file's size. Runs
 * the bench's measured child (compiled with ncc like the action) in a process of its own.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const MIB = 1024 * 1024;
let dir: string;
let script: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'memory-'));
  const build = spawnSync(
    process.execPath,
    [
      'node_modules/@vercel/ncc/dist/ncc/cli.js',
      'build',
      'bench/bundle-bench.ts',
      '-o',
      path.join(dir, 'bench'),
      '--quiet',
      '--transpile-only',
      '--target',
      'es2022',
    ],
    {
      encoding: 'utf8',
    },
  );
  if (build.status !== 0) throw new Error(`ncc build of the bench failed: ${build.stderr}`);
  script = path.join(dir, 'bench', 'index.js');
}, 120_000);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** 300 MiB written in 8 MiB chunks: float-like noise (stored) or repetitive arrays (deflated). */
function writeModel(file: string, kind: 'weights' | 'arrays'): void {
  const fd = fs.openSync(file, 'w');
  const chunk = Buffer.alloc(8 * MIB);
  let seed = 42;
  for (let written = 0; written < 300 * MIB; written += chunk.length) {
    for (let i = 0; i < chunk.length; i += 4) {
      seed = (seed * 1664525 + 1013904223) >>> 0;
      chunk.writeFloatLE(kind === 'weights' ? seed / 2 ** 32 - 0.5 : (i % 4096) / 16, i);
    }
    fs.writeSync(fd, chunk);
  }
  fs.closeSync(fd);
}

describe.each(['weights', 'arrays'] as const)('a 300 MB model of %s', (kind) => {
  it('is bundled with peak RSS far below the file size', () => {
    const workspace = path.join(dir, `ws-${kind}`);
    fs.mkdirSync(workspace);
    fs.writeFileSync(
      path.join(workspace, 'lambda_function.py'),
      'def lambda_handler(event, context):\n    return {}\n',
    );
    const model = path.join(workspace, `model.${kind === 'weights' ? 'safetensors' : 'pkl'}`);
    writeModel(model, kind);
    const out = path.join(dir, `${kind}.zip`);
    const run = spawnSync(
      process.execPath,
      [script, '--child', JSON.stringify({ workspace, model: [model], out, level: 1 })],
      { encoding: 'utf8', cwd: workspace },
    );
    fs.rmSync(workspace, { recursive: true, force: true });
    expect(run.stderr).toBe('');
    const report = JSON.parse(run.stdout) as {
      maxRssBytes: number;
      zip: { unzippedBytes: number; zippedBytes: number };
    };
    console.log(
      `${kind}: ${(report.zip.unzippedBytes / MIB).toFixed(0)} MiB -> ${(report.zip.zippedBytes / MIB).toFixed(0)} MiB zipped, peak RSS ${(report.maxRssBytes / MIB).toFixed(0)} MiB`,
    );
    expect(report.zip.unzippedBytes).toBeGreaterThan(300 * MIB);
    expect(report.maxRssBytes).toBeLessThan(150 * MIB);
    fs.rmSync(out, { force: true });
  }, 180_000);
});
