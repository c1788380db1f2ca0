/**
 * Lock files build the layer for real: the iris example's wheel (irisfeat, built from
 * examples/iris/deps) locked in uv.lock, poetry.lock, pylock.toml and Pipfile.lock with its real
 * sha256, installed by pip in the sandbox build image with --require-hashes. Every format gives
 * the key of the equivalent hashed requirements.txt, and the same layer bytes; a wheel swapped
 * after locking fails the build with a message that names the package.
 *
 * Needs the sandbox (`bash scripts/sandbox.sh up`).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { LambdaClient, ListLayerVersionsCommand } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { buildLayer, type LayerOptions, type LayerResult } from '../../src/packaging/layer.js';
import { runCommand, type CommandRunner } from '../../src/exec.js';
import { memoryLogger, systemClock } from '../../src/log.js';
import {
  assertSandboxUp,
  awsConfig,
  loadSandbox,
  REPO_ROOT,
  type Sandbox,
} from './helpers/sandbox.js';

const TIMEOUT = 300_000;
const BUILD_WHEEL = path.join(REPO_ROOT, 'scripts', 'sandbox', 'build-wheel.py');
const IRISFEAT = path.join(REPO_ROOT, 'examples', 'iris', 'deps', 'irisfeat');
const PIP_ARGS = ['--no-index', '--find-links', './wheels'];
const VERSION = /^version = "([^"]+)"/m.exec(
  readFileSync(path.join(IRISFEAT, 'pyproject.toml'), 'utf8'),
)![1]!;

let sandbox: Sandbox;
let lambda: LambdaClient;
let s3: S3Client;
let work: string;
let app: string;
const suffix = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;

async function buildWheel(project: string, out: string): Promise<string> {
  const result = await runCommand('python3', [BUILD_WHEEL, project, out]);
  if (result.exitCode !== 0) throw new Error(`build-wheel failed: ${result.stderr}`);
  return result.stdout.trim().split('\n').at(-1) as string;
}

/** The four lock formats and a hashed requirements.txt, all locking irisfeat at `hex`. */
function lockFiles(hex: string): Record<string, string> {
  return {
    'requirements.txt': `irisfeat==${VERSION} \\\n    --hash=sha256:${hex}\n`,
    'uv.lock': [
      'version = 1',
      'requires-python = ">=3.11"',
      '',
      '[[package]]',
      'name = "iris-app"',
      `version = "${VERSION}"`,
      'source = { virtual = "." }',
      'dependencies = [{ name = "irisfeat" }]',
      '',
      '[[package]]',
      'name = "irisfeat"',
      `version = "${VERSION}"`,
      'source = { registry = "wheels" }',
      `wheels = [{ path = "irisfeat-${VERSION}-py3-none-any.whl", hash = "sha256:${hex}" }]`,
      '',
    ].join('\n'),
    'poetry.lock': [
      '[[package]]',
      'name = "irisfeat"',
      `version = "${VERSION}"`,
      'optional = false',
      'groups = ["main"]',
      `files = [{file = "irisfeat-${VERSION}-py3-none-any.whl", hash = "sha256:${hex}"}]`,
      '',
      '[metadata]',
      'lock-version = "2.1"',
      '',
    ].join('\n'),
    'pylock.toml': [
      'lock-version = "1.0"',
      'created-by = "hand"',
      '',
      '[[packages]]',
      'name = "irisfeat"',
      `version = "${VERSION}"`,
      `wheels = [{ name = "irisfeat-${VERSION}-py3-none-any.whl", hashes = { sha256 = "${hex}" } }]`,
      '',
    ].join('\n'),
    'Pipfile.lock': JSON.stringify(
      { _meta: {}, default: { irisfeat: { hashes: [`sha256:${hex}`], version: `==${VERSION}` } } },
      null,
      2,
    ),
  };
}

function options(requirements: string, layer: string, overrides: Partial<LayerOptions> = {}) {
  return {
    requirementsPath: path.join(app, requirements),
    runtime: sandbox.runtime,
    architecture: 'x86_64',
    build: 'docker',
    buildImage: sandbox.buildImage,
    pipArgs: PIP_ARGS,
    slim: true,
    layerName: `lmd-e2e-lock-${layer}-${suffix}`,
    s3Bucket: sandbox.bucket,
    s3Prefix: `e2e-lock/${suffix}`,
    dryRun: false,
    workDir: path.join(work, `run-${layer}-${requirements}`),
    ...overrides,
  } satisfies LayerOptions;
}

function recorder(): { run: CommandRunner; calls: Array<readonly string[]> } {
  const calls: Array<readonly string[]> = [];
  return {
    calls,
    run: async (command, args, opts) => {
      calls.push([command, ...args]);
      return runCommand(command, args, opts);
    },
  };
}

const deps = (run: CommandRunner) => ({
  lambda,
  s3,
  run,
  logger: memoryLogger(),
  clock: systemClock,
});

beforeAll(async () => {
  sandbox = loadSandbox();
  await assertSandboxUp(sandbox);
  lambda = new LambdaClient(awsConfig(sandbox));
  s3 = new S3Client({ ...awsConfig(sandbox), forcePathStyle: true });
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'lmd-lock-e2e-'));
  await fs.chmod(work, 0o755);
  app = path.join(work, 'app');
  const wheel = await buildWheel(IRISFEAT, path.join(app, 'wheels'));
  const hex = createHash('sha256')
    .update(await fs.readFile(wheel))
    .digest('hex');
  for (const [name, text] of Object.entries(lockFiles(hex)))
    await fs.writeFile(path.join(app, name), text);
}, TIMEOUT);

afterAll(async () => {
  lambda?.destroy();
  s3?.destroy();
  if (work) await fs.rm(work, { recursive: true, force: true });
});

describe('lock files in the sandbox build image', () => {
  let reference: LayerResult;

  it(
    'a hashed requirements.txt builds the layer (pip in hash-checking mode)',
    async () => {
      reference = await buildLayer(options('requirements.txt', 'a'), deps(recorder().run));
      expect(reference.status).toBe('built');
    },
    TIMEOUT,
  );

  it(
    'uv.lock builds the same layer: same key, same zip bytes, pip reading the generated requirements',
    async () => {
      const { run, calls } = recorder();
      const built = await buildLayer(options('uv.lock', 'b'), deps(run));
      expect(built).toMatchObject({
        status: 'built',
        key: reference.key,
        sha256Hex: reference.sha256Hex,
        unzippedBytes: reference.unzippedBytes,
      });
      const pip = calls.find((c) => c.includes('install')) as readonly string[];
      expect(pip[pip.indexOf('-r') + 1]).toBe('/var/locked/requirements.txt');
      const generated = await fs.readFile(
        path.join(work, 'run-b-uv.lock', 'layer', 'locked', 'requirements.txt'),
        'utf8',
      );
      expect(generated).toMatch(
        new RegExp(`^--require-hashes\nirisfeat==${VERSION} --hash=sha256:[0-9a-f]{64}\n$`),
      );
    },
    TIMEOUT,
  );

  it.each(['poetry.lock', 'pylock.toml', 'Pipfile.lock'])(
    '%s has the same key: the layer built from requirements.txt is reused, nothing runs',
    async (file) => {
      const { run, calls } = recorder();
      const result = await buildLayer(options(file, 'a'), deps(run));
      expect(result).toMatchObject({
        status: 'cached',
        key: reference.key,
        layerVersionArn: reference.layerVersionArn,
      });
      expect(calls).toEqual([]);
    },
    TIMEOUT,
  );

  it(
    'a wheel swapped after locking fails the build, naming the package; nothing is published',
    async () => {
      // Same name and version, other content: what a tampered mirror or re-upload serves.
      const project = path.join(work, 'evil-irisfeat');
      await fs.cp(IRISFEAT, project, { recursive: true });
      await fs.appendFile(path.join(project, 'irisfeat', '__init__.py'), '\nSTOLEN = True\n');
      const tampered = path.join(work, 'tampered');
      await fs.mkdir(tampered);
      await buildWheel(project, path.join(tampered, 'wheels'));
      await fs.copyFile(path.join(app, 'uv.lock'), path.join(tampered, 'uv.lock'));

      const layerName = `lmd-e2e-lock-c-${suffix}`;
      const failure = buildLayer(
        options('uv.lock', 'c', { requirementsPath: path.join(tampered, 'uv.lock'), layerName }),
        deps(recorder().run),
      );
      await expect(failure).rejects.toThrow(
        /^Hash check failed for irisfeat: the file pip downloaded is not the one locked in uv\.lock/,
      );
      await expect(
        lambda.send(new ListLayerVersionsCommand({ LayerName: layerName })),
      ).resolves.toMatchObject({ LayerVersions: [] });
    },
    TIMEOUT,
  );
});
