import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  LambdaClient,
  ListLayerVersionsCommand,
  PublishLayerVersionCommand,
} from '@aws-sdk/client-lambda';
import {
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { COMPILE_TREE_PY } from '../../src/packaging/bytecode.js';
import {
  buildLayer,
  largestPackages,
  layerS3Key,
  layerTooLargeMessage,
  type LayerOptions,
} from '../../src/packaging/layer.js';
import { PIP_STEP_PY } from '../../src/packaging/layer-docker.js';
import {
  computeLayerKey,
  gatherRequirements,
  layerDescription,
} from '../../src/packaging/layer-key.js';
import type { CommandRunner, RunOptions } from '../../src/exec.js';
import { memoryLogger, type Clock } from '../../src/log.js';

const lambdaClient = new LambdaClient({
  region: 'us-east-1',
  credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
});
const s3Client = new S3Client({
  region: 'us-east-1',
  credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
});
const lambda = mockClient(lambdaClient);
const s3 = mockClient(s3Client);
const clock: Clock = { now: () => 0, sleep: async () => undefined };
const notFound = () =>
  new S3ServiceException({
    name: 'NotFound',
    $fault: 'client',
    $metadata: { httpStatusCode: 404 },
    message: 'NotFound',
  });

interface Call {
  command: string;
  args: readonly string[];
  options?: RunOptions;
}

async function write(root: string, rel: string, content: string | Buffer): Promise<void> {
  const file = path.join(root, ...rel.split('/'));
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, content);
}

/** Installs a fake package where pip would put it. */
async function fakeInstall(target: string): Promise<void> {
  await write(target, 'irisfeat/__init__.py', 'from .features import f\n');
  await write(target, 'irisfeat/features.py', 'def f(x):\n    return x\n');
  await write(target, 'irisfeat/features.pyi', 'def f(x: int) -> int: ...\n');
  await write(target, 'irisfeat/tests/test_features.py', 'def test_f():\n    pass\n');
  await write(target, 'irisfeat-0.1.0.dist-info/METADATA', 'Name: irisfeat\n');
}

function mountSource(args: readonly string[], target: string): string {
  const spec = args.find((a, i) => args[i - 1] === '-v' && a.split(':')[1] === target);
  if (!spec) throw new Error(`no mount for ${target}`);
  return spec.split(':')[0];
}

/** A runner that behaves like docker / host python for the layer build, recording every call. */
function fakeRunner(options: { hostPython?: string } = {}): { run: CommandRunner; calls: Call[] } {
  const calls: Call[] = [];
  const run: CommandRunner = async (command, args, runOptions) => {
    calls.push({ command, args, options: runOptions });
    const ok = (stdout = '') => ({ exitCode: 0, stdout, stderr: '' });
    if (command === 'docker' && args[0] === 'image') return ok('amd64\n');
    if (command === 'docker' && args[0] === 'run' && args.includes(PIP_STEP_PY)) {
      await fakeInstall(path.join(mountSource(args, '/var/out'), 'python'));
      runOptions?.onLine?.('lmd-python=3.12');
      runOptions?.onLine?.('Successfully installed irisfeat-0.1.0');
      return ok();
    }
    if (args.includes(COMPILE_TREE_PY)) {
      return ok(
        `lmd-bytecode ${JSON.stringify({ python: '3.12', compiled: 2, removed: 0, failed: [] })}\n`,
      );
    }
    if (command === 'python3' && args[0] === '-m') {
      await fakeInstall(args[args.indexOf('-t') + 1]);
      return ok();
    }
    if (command === 'python3' && args[0] === '-c') return ok(`${options.hostPython ?? '3.12'}\n`);
    throw new Error(`unexpected command ${command} ${args.join(' ')}`);
  };
  return { run, calls };
}

let dir: string;
let options: LayerOptions;

beforeEach(async () => {
  lambda.reset();
  s3.reset();
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'layer-'));
  await write(dir, 'app/requirements.txt', '--no-index\n--find-links ./wheels\nirisfeat==0.1.0\n');
  await write(dir, 'app/wheels/irisfeat-0.1.0-py3-none-any.whl', 'wheel');
  options = {
    requirementsPath: path.join(dir, 'app', 'requirements.txt'),
    runtime: 'python3.12',
    architecture: 'x86_64',
    build: 'docker',
    buildImage: 'lmd-sandbox/build-python3.12:latest',
    pipArgs: [],
    slim: true,
    layerName: 'fn-deps',
    s3Bucket: 'bkt',
    s3Prefix: 'lambda-ml-deploy/fn',
    dryRun: false,
    workDir: path.join(dir, 'work'),
  };
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

async function expectedKey(opts: LayerOptions): Promise<string> {
  const material = await gatherRequirements({
    requirementsPath: opts.requirementsPath as string,
    pipArgs: opts.pipArgs,
  });
  return computeLayerKey({ ...material, ...opts, pipArgs: opts.pipArgs });
}

describe('buildLayer', () => {
  it('does nothing without a requirements file', async () => {
    const { run, calls } = fakeRunner();
    const result = await buildLayer(
      { ...options, requirementsPath: undefined },
      { lambda: lambdaClient, s3: s3Client, run, logger: memoryLogger(), clock },
    );
    expect(result).toEqual({ status: 'none' });
    expect(calls).toHaveLength(0);
    expect(lambda.calls()).toHaveLength(0);
  });

  it('reuses a cached layer version: no docker run, no upload, no publish', async () => {
    const key = await expectedKey(options);
    const arn = 'arn:aws:lambda:us-east-1:123456789012:layer:fn-deps:3';
    lambda.on(ListLayerVersionsCommand).resolves({
      LayerVersions: [
        {
          LayerVersionArn: arn,
          Version: 3,
          Description: layerDescription({ key, unzippedBytes: 777 }),
        },
      ],
    });
    const { run, calls } = fakeRunner();
    const result = await buildLayer(options, {
      lambda: lambdaClient,
      s3: s3Client,
      run,
      logger: memoryLogger(),
      clock,
    });
    expect(result).toEqual({ status: 'cached', key, layerVersionArn: arn, unzippedBytes: 777 });
    expect(calls).toHaveLength(0);
    expect(s3.calls()).toHaveLength(0);
    expect(lambda.commandCalls(PublishLayerVersionCommand)).toHaveLength(0);
  });

  it('on a miss builds in docker, slims, compiles, zips, uploads and publishes with the key', async () => {
    const key = await expectedKey(options);
    lambda.on(ListLayerVersionsCommand).resolves({ LayerVersions: [] });
    lambda.on(PublishLayerVersionCommand).resolves({
      LayerVersionArn: 'arn:aws:lambda:us-east-1:123456789012:layer:fn-deps:1',
      Version: 1,
    });
    s3.on(HeadObjectCommand).rejects(notFound());
    s3.on(PutObjectCommand).resolves({});
    const { run, calls } = fakeRunner();
    const logger = memoryLogger();
    const result = await buildLayer(options, {
      lambda: lambdaClient,
      s3: s3Client,
      run,
      logger,
      clock,
      user: { uid: 1001, gid: 121 },
    });

    expect(result.status).toBe('built');
    expect(result.key).toBe(key);
    expect(result.layerVersionArn).toBe('arn:aws:lambda:us-east-1:123456789012:layer:fn-deps:1');
    expect(result.s3Key).toBe(`lambda-ml-deploy/fn/layers/${result.sha256Hex}.zip`);
    expect(result.uploaded).toBe(true);
    expect(result.slim?.byRule).toEqual({
      tests: { files: 1, bytes: 23 },
      stubs: { files: 1, bytes: 26 },
    });
    expect(result.slimSaved).toBe(49);
    expect(result.bytecode).toEqual({ compiled: 2, python: '3.12' });

    const dockerRuns = calls.filter((c) => c.command === 'docker' && c.args[0] === 'run');
    expect(dockerRuns).toHaveLength(2);
    for (const call of dockerRuns) expect(call.args[call.args.indexOf('-u') + 1]).toBe('1001:121');
    // A copy of the requirements is mounted, not the app folder.
    expect(dockerRuns[0].args).toContain(`${path.join(dir, 'work/layer/build.req')}:/var/req:ro`);

    const publish = lambda.commandCalls(PublishLayerVersionCommand)[0].args[0].input;
    expect(publish).toMatchObject({
      LayerName: 'fn-deps',
      Content: { S3Bucket: 'bkt', S3Key: result.s3Key },
      CompatibleRuntimes: ['python3.12'],
      CompatibleArchitectures: ['x86_64'],
    });
    expect(publish.Description).toBe(
      `lambda-ml-deploy layer key=${key} unzipped=${result.unzippedBytes} python3.12 x86_64`,
    );
    expect(s3.commandCalls(PutObjectCommand)[0].args[0].input.Key).toBe(result.s3Key);
    expect(logger.lines).toContain('Successfully installed irisfeat-0.1.0');
  });

  it('zips python/... with the slimmed files gone', async () => {
    lambda.on(ListLayerVersionsCommand).resolves({});
    const { run } = fakeRunner();
    const result = await buildLayer(
      { ...options, dryRun: true },
      { lambda: lambdaClient, s3: s3Client, run, logger: memoryLogger(), clock },
    );
    const listing = await fs.readFile(result.zipPath as string);
    const names = listing.toString('latin1');
    expect(names).toContain('python/irisfeat/features.py');
    expect(names).toContain('python/irisfeat-0.1.0.dist-info/METADATA');
    expect(names).not.toContain('python/irisfeat/tests/');
    expect(names).not.toContain('features.pyi');
  });

  it('in a dry run builds and hashes but neither uploads nor publishes', async () => {
    lambda.on(ListLayerVersionsCommand).resolves({ LayerVersions: [] });
    const { run } = fakeRunner();
    const result = await buildLayer(
      { ...options, dryRun: true },
      { lambda: lambdaClient, s3: s3Client, run, logger: memoryLogger(), clock },
    );
    expect(result.status).toBe('planned');
    expect(result.s3Key).toMatch(/^lambda-ml-deploy\/fn\/layers\/[0-9a-f]{64}\.zip$/);
    expect(result.uploaded).toBe(false);
    expect(s3.calls()).toHaveLength(0);
    expect(lambda.commandCalls(PublishLayerVersionCommand)).toHaveLength(0);
  });

  it('builds the same zip twice (reproducible) and skips the upload when the object exists', async () => {
    lambda.on(ListLayerVersionsCommand).resolves({ LayerVersions: [] });
    const first = await buildLayer(
      { ...options, dryRun: true },
      { lambda: lambdaClient, s3: s3Client, run: fakeRunner().run, logger: memoryLogger(), clock },
    );
    lambda.on(PublishLayerVersionCommand).resolves({ LayerVersionArn: 'arn:x:2', Version: 2 });
    s3.on(HeadObjectCommand).resolves({
      ContentLength: first.zippedBytes,
      Metadata: { sha256: first.sha256Hex as string },
    });
    const second = await buildLayer(options, {
      lambda: lambdaClient,
      s3: s3Client,
      run: fakeRunner().run,
      logger: memoryLogger(),
      clock,
    });
    expect(second.sha256Hex).toBe(first.sha256Hex);
    expect(second.uploaded).toBe(false);
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
    expect(lambda.commandCalls(PublishLayerVersionCommand)).toHaveLength(1);
  });

  it('build: pip installs with the host pip and compiles with the host Python when versions match; never runs docker', async () => {
    lambda.on(ListLayerVersionsCommand).resolves({ LayerVersions: [] });
    const { run, calls } = fakeRunner({ hostPython: '3.12' });
    const result = await buildLayer(
      { ...options, build: 'pip', dryRun: true },
      { lambda: lambdaClient, s3: s3Client, run, logger: memoryLogger(), clock },
    );
    expect(calls.some((c) => c.command === 'docker')).toBe(false);
    const pip = calls.find((c) => c.args[0] === '-m');
    expect(pip?.options?.cwd).toBe(path.join(dir, 'app'));
    expect(pip?.args).toEqual(
      expect.arrayContaining([
        '--only-binary=:all:',
        '--python-version',
        '3.12',
        '--implementation',
        'cp',
      ]),
    );
    expect(calls.some((c) => c.args.includes(COMPILE_TREE_PY))).toBe(true);
    expect(result.bytecode).toEqual({ compiled: 2, python: '3.12' });
  });

  it('build: pip with another host Python ships no .pyc and says so', async () => {
    lambda.on(ListLayerVersionsCommand).resolves({ LayerVersions: [] });
    const { run, calls } = fakeRunner({ hostPython: '3.10' });
    const logger = memoryLogger();
    const result = await buildLayer(
      { ...options, build: 'pip', dryRun: true },
      { lambda: lambdaClient, s3: s3Client, run, logger, clock },
    );
    expect(calls.some((c) => c.args.includes(COMPILE_TREE_PY))).toBe(false);
    expect(result.bytecode?.compiled).toBe(0);
    expect(result.bytecode?.skipped).toMatch(
      /host Python is 3\.10 but python3\.12 is Python 3\.12/,
    );
    expect(logger.lines.some((l) => l.startsWith('warning: host Python is 3.10'))).toBe(true);
  });

  it('fails before any upload when the layer is over the unzipped limit, naming the largest packages', async () => {
    lambda.on(ListLayerVersionsCommand).resolves({ LayerVersions: [] });
    const base = fakeRunner();
    const run: CommandRunner = async (command, args, runOptions) => {
      const result = await base.run(command, args, runOptions);
      if (args.includes(PIP_STEP_PY)) {
        const big = path.join(
          mountSource(args, '/var/out'),
          'python',
          'torch',
          'lib',
          'libtorch.so',
        );
        await fs.mkdir(path.dirname(big), { recursive: true });
        await fs.writeFile(big, '');
        await fs.truncate(big, 270_000_000); // sparse: no real disk use
      }
      return result;
    };
    await expect(
      buildLayer(options, {
        lambda: lambdaClient,
        s3: s3Client,
        run,
        logger: memoryLogger(),
        clock,
      }),
    ).rejects.toThrow(
      /unzipped \(257 MiB\), over Lambda's limit of 262,144,000 bytes .* Largest: torch 257 MiB/,
    );
    expect(s3.calls()).toHaveLength(0);
    expect(lambda.commandCalls(PublishLayerVersionCommand)).toHaveLength(0);
  });
});

describe('pure helpers', () => {
  it('layerS3Key puts layers under their own prefix', () => {
    expect(layerS3Key('lambda-ml-deploy/fn/', 'ab')).toBe('lambda-ml-deploy/fn/layers/ab.zip');
    expect(layerS3Key('', 'ab')).toBe('layers/ab.zip');
  });

  it('largestPackages groups a package with its dist-info and libs', () => {
    const files = [
      { zipPath: 'python/numpy/a.so', absPath: '', size: 100, mode: 0o644 as const },
      { zipPath: 'python/numpy.libs/b.so', absPath: '', size: 50, mode: 0o644 as const },
      {
        zipPath: 'python/numpy-2.1.0.dist-info/RECORD',
        absPath: '',
        size: 5,
        mode: 0o644 as const,
      },
      { zipPath: 'python/six.py', absPath: '', size: 10, mode: 0o644 as const },
    ];
    expect(largestPackages(files)).toEqual([
      { name: 'numpy', bytes: 155 },
      { name: 'six', bytes: 10 },
    ]);
  });

  it('layerTooLargeMessage suggests slim when it is off', () => {
    expect(
      layerTooLargeMessage(300_000_000, [{ name: 'torch', bytes: 250_000_000 }], false),
    ).toMatch(/Set slim: true/);
  });
});
