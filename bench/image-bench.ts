/**
 * Image bench: `package-type: image` (our layer writer and push) against `docker build` +
 * `docker push` of the naive Dockerfile (COPY everything, pip install), both into the sandbox's
 * local registry, on the same app: a 300 MB safetensors model, a handler, one pure-Python
 * dependency. Two runs each: the first push into an empty repository, then a one-line handler
 * change. The naive build runs with --no-cache, as on a fresh CI runner.
 *
 *   npm run bench -- --image-only [--image-model-mib 300]
 *   (npm run bench -- --skip-image leaves it out)
 *
 * Bytes pushed: ours from the push's own count; docker's as the compressed sizes of the layers
 * (and config and manifest) its new manifest has that the repository did not have before, which
 * is what `docker push` uploads (it mounts the base's layers). Needs the sandbox up.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { bundleFiles } from '../src/packaging/bundle.js';
import type { ImageManifest } from '../src/packaging/image/image-config.js';
import { planLayers, readBaseImage, writeImage } from '../src/packaging/image/image-build.js';
import { pushImage } from '../src/packaging/image/push.js';
import { RegistryClient } from '../src/packaging/image/registry.js';
import { buildDependencyFiles } from '../src/packaging/layer.js';
import { gatherRequirements } from '../src/packaging/layer-key.js';
import { runCommand } from '../src/exec.js';
import { formatBytes, formatDuration, memoryLogger, systemClock } from '../src/log.js';
import { DEFAULT_EXCLUDES } from '../src/settings.js';
import { readSandboxEnv } from '../scripts/sandbox/action-runner.mjs';
import { MiB, writeSafetensors } from './generate.js';

const TARGET_CODE_ONLY_BYTES_RATIO = 0.05;
const ROOT = process.cwd();
const HANDLER = (release: string) =>
  `import irisfeat\n\n\ndef lambda_handler(event, context):\n    return {"release": "${release}"}\n`;

interface Run {
  ms: number;
  bytes: number;
}

function sh(cmd: string, args: string[], cwd?: string): string {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.join(' ')} failed: ${`${r.stdout}${r.stderr}`.slice(-2000)}`);
  return r.stdout;
}

async function writeApp(dir: string, modelMiB: number): Promise<void> {
  const wheels = path.join(ROOT, 'examples', 'iris', 'wheels');
  const wheel = fs.readdirSync(wheels).find((f) => f.startsWith('irisfeat-'));
  if (!wheel) throw new Error('no irisfeat wheel: run `bash scripts/sandbox.sh up` first');
  fs.mkdirSync(path.join(dir, 'wheels'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'model'), { recursive: true });
  fs.copyFileSync(path.join(wheels, wheel), path.join(dir, 'wheels', wheel));
  fs.writeFileSync(
    path.join(dir, 'requirements.txt'),
    '--no-index\n--find-links ./wheels\nirisfeat\n',
  );
  fs.writeFileSync(path.join(dir, 'lambda_function.py'), HANDLER('one'));
  await writeSafetensors(path.join(dir, 'model', 'model.safetensors'), modelMiB * MiB, 7);
}

async function ours(
  app: string,
  work: string,
  baseImage: string,
  target: RegistryClient,
  repository: string,
): Promise<Run> {
  const logger = memoryLogger();
  const started = performance.now();
  const base = await readBaseImage(baseImage, 'x86_64', { logger });
  const requirementsPath = path.join(app, 'requirements.txt');
  const options = {
    requirementsPath,
    runtime: 'python3.11',
    architecture: 'x86_64' as const,
    build: 'pip' as const,
    buildImage: '',
    pipArgs: [],
    slim: true,
    layerName: 'bench',
    s3Bucket: '',
    s3Prefix: '',
    dryRun: false,
    workDir: work,
  };
  const deps = await buildDependencyFiles(
    options,
    { run: runCommand, logger, clock: systemClock } as unknown as Parameters<
      typeof buildDependencyFiles
    >[1],
    await gatherRequirements({ requirementsPath, pipArgs: [] }),
    path.join(work, 'deps'),
  );
  const build = {
    sourceDir: app,
    include: ['lambda_function.py'],
    exclude: [...DEFAULT_EXCLUDES],
    model: [path.join(app, 'model')],
    modelDest: 'model',
    runtime: 'python3.11',
    build: 'pip' as const,
    architecture: 'x86_64' as const,
    buildImage: '',
  };
  const code = await bundleFiles(build as Parameters<typeof bundleFiles>[0], {
    run: runCommand,
    logger,
    workspace: app,
    workDir: work,
  });
  const image = await writeImage(
    base,
    planLayers(deps.files, code.files),
    'lambda_function.lambda_handler',
    { workDir: work, logger, clock: systemClock },
  );
  const pushed = await pushImage(image, { client: target, repository }, { logger });
  return { ms: performance.now() - started, bytes: pushed.bytesPushed };
}

async function manifestOf(client: RegistryClient, repository: string, tag: string) {
  const m = await client.getManifest(repository, tag);
  return { bytes: m.bytes.length, doc: JSON.parse(m.bytes.toString('utf8')) as ImageManifest };
}

async function naive(
  app: string,
  registry: string,
  client: RegistryClient,
  repository: string,
  tag: string,
  before: Set<string>,
): Promise<Run> {
  const ref = `${registry}/${repository}:${tag}`;
  const started = performance.now();
  sh('docker', ['build', '--no-cache', '-q', '-t', ref, app]);
  sh('docker', ['push', '-q', ref]);
  const ms = performance.now() - started;
  const { bytes, doc } = await manifestOf(client, repository, tag);
  let pushed = bytes + doc.config.size;
  for (const layer of doc.layers) if (!before.has(layer.digest)) pushed += layer.size;
  for (const layer of doc.layers) before.add(layer.digest);
  sh('docker', ['rmi', ref]);
  return { ms, bytes: pushed };
}

const ratio = (a: number, b: number) => (b > 0 ? `${(a / b).toPrecision(2)}x` : 'n/a');

export async function imageBench(argv: string[]): Promise<void> {
  const at = argv.indexOf('--image-model-mib');
  const modelMiB = at >= 0 ? Number(argv[at + 1]) : 300;
  let env: Record<string, string>;
  try {
    env = readSandboxEnv(ROOT) as Record<string, string>;
  } catch {
    console.log('\nImage bench: skipped (the sandbox is not up: bash scripts/sandbox.sh up).');
    return;
  }
  const registry = env.SANDBOX_REGISTRY!;
  const baseImage = env.SANDBOX_BASE_IMAGE!;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'lmd-image-bench-'));
  try {
    console.log(`\nImage bench: ${modelMiB} MiB model, base ${baseImage}`);
    const app = path.join(work, 'app');
    await writeApp(app, modelMiB);
    fs.writeFileSync(
      path.join(app, 'Dockerfile'),
      `FROM ${baseImage}\nCOPY . /var/task\n` +
        'RUN python3 -m pip install --break-system-packages --no-index --find-links /var/task/wheels ' +
        '-r /var/task/requirements.txt -t /var/task\nCMD ["lambda_function.lambda_handler"]\n',
    );
    const client = new RegistryClient({ baseUrl: `http://${registry}` });
    const stamp = Date.now().toString(36);
    const oursRepo = `bench/ours-${stamp}`;
    const naiveRepo = `bench/naive-${stamp}`;
    const base = await readBaseImage(baseImage, 'x86_64', { logger: memoryLogger() });
    const naiveSeen = new Set(base.manifest.layers.map((l) => l.digest));

    const o1 = await ours(app, path.join(work, 'o1'), baseImage, client, oursRepo);
    const n1 = await naive(app, registry, client, naiveRepo, 'one', naiveSeen);
    fs.writeFileSync(path.join(app, 'lambda_function.py'), HANDLER('two'));
    const o2 = await ours(app, path.join(work, 'o2'), baseImage, client, oursRepo);
    const n2 = await naive(app, registry, client, naiveRepo, 'two', naiveSeen);

    const row = (name: string, o: Run, n: Run) =>
      `  ${name.padEnd(18)} ours ${formatDuration(o.ms).padStart(8)} ${formatBytes(o.bytes).padStart(10)}` +
      `   docker ${formatDuration(n.ms).padStart(8)} ${formatBytes(n.bytes).padStart(10)}` +
      `   time ${ratio(o.ms, n.ms)}, bytes ${ratio(o.bytes, n.bytes)}`;
    console.log(row('first push', o1, n1));
    console.log(row('code-only change', o2, n2));
    const ok = o2.bytes <= TARGET_CODE_ONLY_BYTES_RATIO * n2.bytes;
    console.log(
      `  ${ok ? 'PASS' : 'FAIL'} code-only change pushes ${ratio(o2.bytes, n2.bytes)} of the naive bytes (target <= ${TARGET_CODE_ONLY_BYTES_RATIO}x)`,
    );
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
