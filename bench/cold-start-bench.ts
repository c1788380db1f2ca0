/**
 * Cold-start bench: the init duration of the numpy + scipy iris handler (examples/iris) deployed
 * three ways to the local sandbox, measured the way the action measures it (Invoke with LogType
 * Tail, Lambda's REPORT line, parsed by src/release/smoke/cold-start.ts):
 *
 *   naive      pip install -t + handler and model copied in + every timestamp fixed + zip -r -X:
 *              pip's .pyc record the install time, so with fixed timestamps they are stale and
 *              Python compiles every module again on each cold start (Lambda's /opt and /var/task
 *              are read-only, so nothing is written back)
 *   no-hash    the action's own layer build (pip --no-compile in the build image, slim,
 *              deterministic zip) without its bytecode step: no .pyc at all
 *   ships      the action itself (node dist/index.js through the runner emulation)
 *
 * Each is invoked --invokes times (default 5); in the sandbox every invoke is a new container, so
 * each is a cold start. Prints the median init duration of each and the ratios against `ships`.
 *
 *   npm run bench -- --cold-start-only [--invokes 5]
 *
 * Needs the sandbox (bash scripts/sandbox.sh up: moto, Docker, the wheelhouse) and a built dist/.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  CreateFunctionCommand,
  LambdaClient,
  PublishLayerVersionCommand,
  PublishVersionCommand,
  waitUntilFunctionActiveV2,
} from '@aws-sdk/client-lambda';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { collectBundleFiles } from '../src/packaging/bundle-files.js';
import { collectLayerFiles } from '../src/packaging/layer.js';
import { installInDocker } from '../src/packaging/layer-docker.js';
import { slimTree } from '../src/packaging/slim.js';
import { writeDeterministicZip } from '../src/packaging/zip.js';
import { currentUser, runCommand } from '../src/exec.js';
import { memoryLogger } from '../src/log.js';
import { invokeVersion } from '../src/release/smoke/invoke.js';
import { coldStartMs, parseReport } from '../src/release/smoke/cold-start.js';
import { readSandboxEnv, runAction } from '../scripts/sandbox/action-runner.mjs';

const ROOT = process.cwd();
const IRIS = path.join(ROOT, 'examples', 'iris');
const EVENT = { sl: 6.9, sw: 3.1, pl: 5.4, pw: 2.1 };
const FIXED_TIME = '@315532800'; // 1980-01-01, the zip epoch

interface Sandbox {
  region: string;
  endpoint: string;
  bucket: string;
  roleArn: string;
  deployRoleArn: string;
  buildImage: string;
  runtime: string;
}

function sandboxOrNull(): Sandbox | null {
  let env: Record<string, string>;
  try {
    env = readSandboxEnv(ROOT) as Record<string, string>;
  } catch {
    return null;
  }
  return {
    region: env.AWS_REGION!,
    endpoint: env.AWS_ENDPOINT_URL!,
    bucket: env.SANDBOX_BUCKET!,
    roleArn: env.SANDBOX_ROLE_ARN!,
    deployRoleArn: env.SANDBOX_DEPLOY_ROLE_ARN!,
    buildImage: env.SANDBOX_BUILD_IMAGE!,
    runtime: env.SANDBOX_RUNTIME!,
  };
}

function sh(cmd: string, args: string[], cwd?: string): void {
  const r = spawnSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  if (r.status !== 0)
    throw new Error(
      `${cmd} ${args.join(' ')} failed (exit ${r.status ?? r.signal}): ${`${r.stdout}${r.stderr}`.slice(-2000)}`,
    );
}

function retry(times: number, reset: () => void, fn: () => void): void {
  for (let attempt = 1; ; attempt++) {
    try {
      fn();
      return;
    } catch (error) {
      if (attempt >= times) throw error;
      console.log(`  (attempt ${attempt} failed, again: ${String(error).slice(0, 200)})`);
      reset();
    }
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** A copy of the example without anything a previous run compiled. */
function exampleCopy(work: string): string {
  const app = path.join(work, 'iris');
  fs.cpSync(IRIS, app, { recursive: true, filter: (src) => !src.includes('__pycache__') });
  return app;
}

async function upload(s3: S3Client, sb: Sandbox, key: string, file: string): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: sb.bucket, Key: key, Body: fs.readFileSync(file) }));
}

async function createAndPublish(
  lambda: LambdaClient,
  sb: Sandbox,
  name: string,
  key: string,
  layers: string[],
): Promise<string> {
  await lambda.send(
    new CreateFunctionCommand({
      FunctionName: name,
      Role: sb.roleArn,
      Runtime: sb.runtime as never,
      Handler: 'lambda_function.lambda_handler',
      Code: { S3Bucket: sb.bucket, S3Key: key },
      Layers: layers,
      MemorySize: 512,
      Timeout: 60,
    }),
  );
  await waitUntilFunctionActiveV2(
    { client: lambda, maxWaitTime: 120, minDelay: 1, maxDelay: 2 },
    { FunctionName: name },
  );
  const published = await lambda.send(new PublishVersionCommand({ FunctionName: name }));
  return published.Version!;
}

/** naive: what the tutorials do, made reproducible by fixing every timestamp. */
async function deployNaive(
  lambda: LambdaClient,
  s3: S3Client,
  sb: Sandbox,
  work: string,
  name: string,
): Promise<string> {
  const app = exampleCopy(work);
  const pkg = path.join(work, 'package');
  fs.mkdirSync(pkg);
  const user = currentUser();
  // On a shared machine the container is sometimes killed (exit 137): try again, from scratch.
  retry(
    3,
    () => {
      fs.rmSync(pkg, { recursive: true, force: true });
      fs.mkdirSync(pkg);
    },
    () =>
      sh('docker', [
        'run',
        '--rm',
        '--network',
        'none',
        ...(user ? ['--user', `${user.uid}:${user.gid}`] : []),
        '-e',
        'HOME=/tmp',
        '-v',
        `${app}:/src:ro`,
        '-v',
        `${pkg}:/out`,
        '-w',
        '/src',
        sb.buildImage,
        'python3',
        '-m',
        'pip',
        'install',
        '--quiet',
        '--no-cache-dir',
        '-r',
        'requirements.txt',
        '-t',
        '/out',
      ]),
  );
  fs.copyFileSync(path.join(app, 'lambda_function.py'), path.join(pkg, 'lambda_function.py'));
  fs.cpSync(path.join(app, 'model'), path.join(pkg, 'model'), { recursive: true });
  sh('find', [pkg, '-exec', 'touch', '-h', '-d', FIXED_TIME, '{}', '+']);
  const zip = path.join(work, 'naive.zip');
  sh('zip', ['-q', '-r', '-X', zip, '.'], pkg);
  const key = `bench/${name}.zip`;
  await upload(s3, sb, key, zip);
  return createAndPublish(lambda, sb, name, key, []);
}

/** no-hash: the action's layer build and deterministic zips, without its bytecode step. */
async function deployNoHash(
  lambda: LambdaClient,
  s3: S3Client,
  sb: Sandbox,
  work: string,
  name: string,
): Promise<string> {
  const app = exampleCopy(work);
  const out = path.join(work, 'layer');
  const logger = memoryLogger();
  await installInDocker({
    run: runCommand,
    logger,
    image: sb.buildImage,
    architecture: 'x86_64',
    runtime: sb.runtime,
    requirementsPath: path.join(app, 'requirements.txt'),
    outDir: out,
    pipArgs: [],
    user: currentUser(),
  });
  await slimTree(path.join(out, 'python'));
  const layerZip = await writeDeterministicZip({
    files: await collectLayerFiles(out),
    destPath: path.join(work, 'layer.zip'),
  });
  const layerKey = `bench/${name}-layer.zip`;
  await upload(s3, sb, layerKey, layerZip.path);
  const layer = await lambda.send(
    new PublishLayerVersionCommand({
      LayerName: `${name}-deps`,
      Content: { S3Bucket: sb.bucket, S3Key: layerKey },
      CompatibleRuntimes: [sb.runtime as never],
    }),
  );
  const bundle = await writeDeterministicZip({
    files: await collectBundleFiles({
      workspace: work,
      sourceDir: app,
      include: ['lambda_function.py'],
      exclude: [],
      model: [path.join(app, 'model')],
      modelDest: 'model',
    }),
    destPath: path.join(work, 'bundle.zip'),
  });
  const key = `bench/${name}.zip`;
  await upload(s3, sb, key, bundle.path);
  return createAndPublish(lambda, sb, name, key, [layer.LayerVersionArn!]);
}

/** ships: the action as users run it. */
async function deployShips(sb: Sandbox, work: string, name: string): Promise<string> {
  exampleCopy(work);
  // The runner emulation is bundled into the bench: give it the repository's paths explicitly.
  const run = await runAction({
    root: ROOT,
    entry: path.join(ROOT, 'dist', 'index.js'),
    sandbox: readSandboxEnv(ROOT),
    workspace: work,
    inputs: {
      'aws-region': sb.region,
      'role-to-assume': sb.deployRoleArn,
      'function-name': name,
      's3-bucket': sb.bucket,
      'source-dir': 'iris',
      include: 'lambda_function.py',
      model: 'iris/model',
      runtime: sb.runtime,
      'build-image': sb.buildImage,
      'create-function': 'true',
      'execution-role': sb.roleArn,
      'memory-size': '512',
      timeout: '60',
      'smoke-tests': 'iris/smoke-tests.yml',
    },
    env: { AWS_SDK_JS_SUPPRESS_NODE_VERSION_WARNING: '1' },
  });
  if (run.exitCode !== 0)
    throw new Error(`the action failed (exit ${run.exitCode}):\n${run.log.slice(-3000)}`);
  console.log(
    `  ships: the action reported cold-start-ms ${run.outputs['cold-start-ms']}, max-memory-mb ${run.outputs['max-memory-mb']} for version ${run.outputs.version}`,
  );
  return run.outputs.version!;
}

async function measure(
  lambda: LambdaClient,
  name: string,
  version: string,
  invokes: number,
): Promise<number[]> {
  const inits: number[] = [];
  for (let i = 0; i < invokes; i++) {
    let result = await invokeVersion(lambda, name, version, EVENT, { timeoutMs: 120_000 });
    // moto reports a Docker hiccup of its own (a container still being removed) as a function
    // error; that invocation measured nothing, so it is made again.
    for (let retry = 0; retry < 2 && /^error running docker/.test(result.payloadText); retry++)
      result = await invokeVersion(lambda, name, version, EVENT, { timeoutMs: 120_000 });
    if (result.functionError && /Runtime\.InitTimeout/.test(result.payloadText)) {
      // Over Lambda's 10 s init budget: counted as the budget (the real figure is higher).
      inits.push(10_000);
      continue;
    }
    if (result.functionError)
      throw new Error(`${name}:${version} failed: ${result.payloadText.slice(0, 500)}`);
    const ms = coldStartMs(parseReport(result.logTail));
    if (ms === undefined) throw new Error(`${name}:${version}: no Init Duration in the log tail`);
    inits.push(ms);
  }
  return inits;
}

export async function coldStartBench(argv: string[]): Promise<void> {
  const at = argv.indexOf('--invokes');
  const invokes = at >= 0 ? Number(argv[at + 1]) : 5;
  console.log('\n== Cold start: numpy + scipy handler (examples/iris), init duration');
  const sb = sandboxOrNull();
  if (!sb) {
    console.log(
      '  not run: the sandbox is not up (bash scripts/sandbox.sh up), no .sandbox/env.json',
    );
    return;
  }
  if (!fs.existsSync(path.join(ROOT, 'dist', 'index.js')))
    throw new Error('dist/index.js is missing: npm run build first');
  const aws = {
    region: sb.region,
    endpoint: sb.endpoint,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  };
  const lambda = new LambdaClient(aws);
  const s3 = new S3Client({ ...aws, forcePathStyle: true });
  const stamp = Date.now().toString(36);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cold-start-bench-'));
  const ways: Array<[string, (dir: string, name: string) => Promise<string>]> = [
    ['naive', (dir, name) => deployNaive(lambda, s3, sb, dir, name)],
    ['no-hash', (dir, name) => deployNoHash(lambda, s3, sb, dir, name)],
    ['ships', (dir, name) => deployShips(sb, dir, name)],
  ];
  const medians = new Map<string, number>();
  try {
    for (const [way, deploy] of ways) {
      const dir = path.join(work, way);
      fs.mkdirSync(dir);
      const name = `bench-cold-${way}-${stamp}`;
      const version = await deploy(dir, name);
      const inits = await measure(lambda, name, version, invokes);
      medians.set(way, median(inits));
      const timedOut = inits.filter((ms) => ms >= 10_000).length;
      console.log(
        `  ${way.padEnd(8)}${timedOut ? ` (${timedOut} init timeout(s) at 10 s counted as 10000 ms)` : ''} median ${median(inits).toFixed(0)} ms over ${inits.length} cold starts (${inits.map((v) => v.toFixed(0)).join(', ')} ms)`,
      );
    }
    const ships = medians.get('ships')!;
    console.log(
      `  ratios against the action as it ships: naive ${(medians.get('naive')! / ships).toFixed(2)}x, ` +
        `action without hash-based .pyc ${(medians.get('no-hash')! / ships).toFixed(2)}x`,
    );
  } finally {
    lambda.destroy();
    s3.destroy();
    fs.rmSync(work, { recursive: true, force: true });
  }
}
