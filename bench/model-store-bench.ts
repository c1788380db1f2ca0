/**
 * Model-store bench: the loader's cold-start download of a 300 MB model (model-store: s3) in the
 * local sandbox, deployed by the action itself (dist/index.js through the runner emulation).
 *
 *   loader     lambda_ml_model.model_dir(): manifest, parallel ranged GETs into /tmp, sha256 of
 *              every file checked
 *   baseline   what the hand-written tutorial does, measured in the same run and the same
 *              container image: boto3's download_file of each object into /tmp, nothing verified
 *
 * In the sandbox every invoke is a new container, so each is a cold download. Prints the median
 * seconds and MB/s of each over --invokes N (default 3) and the ratio loader / baseline.
 *
 *   npm run bench -- --model-store-only [--invokes 3]
 *
 * Needs the sandbox (bash scripts/sandbox.sh up) and a built dist/.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { invokeVersion } from '../src/release/smoke/invoke.js';
import { readSandboxEnv, runAction } from '../scripts/sandbox/action-runner.mjs';

const ROOT = process.cwd();
const MODEL_BYTES = 300 * 1024 * 1024;

const HANDLER = `import os
import time

import lambda_ml_model


def baseline():
    client = lambda_ml_model.s3_client()
    bucket, key = lambda_ml_model.parse_s3_uri(os.environ[lambda_ml_model.MANIFEST_ENV])
    manifest = lambda_ml_model.read_manifest(client, bucket, key)
    started = time.monotonic()
    total = 0
    for entry in manifest["files"]:
        target = os.path.join("/tmp/baseline", entry["path"])
        os.makedirs(os.path.dirname(target), exist_ok=True)
        client.download_file(bucket, entry["key"], target)
        total += entry["size"]
    return {"seconds": time.monotonic() - started, "bytes": total, "cached": False}


def lambda_handler(event, context):
    if event.get("baseline"):
        return baseline()
    lambda_ml_model.model_dir()
    return dict(lambda_ml_model.last_load)
`;

interface Load {
  seconds: number;
  bytes: number;
  cached: boolean;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function writeModel(dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  const fd = fs.openSync(path.join(dir, 'weights.bin'), 'w');
  try {
    // Random bytes throughout: nothing on the way can shortcut zeros.
    const chunk = 8 * 1024 * 1024;
    for (let at = 0; at < MODEL_BYTES; at += chunk)
      fs.writeSync(fd, randomBytes(chunk), 0, chunk, at);
  } finally {
    fs.closeSync(fd);
  }
  fs.writeFileSync(path.join(dir, 'labels.json'), '{"version": "bench"}');
}

async function loads(
  lambda: LambdaClient,
  name: string,
  version: string,
  event: Record<string, unknown>,
  invokes: number,
): Promise<Load[]> {
  const out: Load[] = [];
  for (let i = 0; i < invokes; i++) {
    const result = await invokeVersion(lambda, name, version, event, { timeoutMs: 600_000 });
    if (result.functionError)
      throw new Error(`${name}:${version} failed: ${result.payloadText.slice(0, 800)}`);
    const load = JSON.parse(result.payloadText) as Load;
    if (load.cached) throw new Error('the loader reused a copy: not a cold download');
    out.push(load);
  }
  return out;
}

export async function modelStoreBench(argv: string[]): Promise<void> {
  const at = argv.indexOf('--invokes');
  const invokes = at >= 0 ? Number(argv[at + 1]) : 3;
  console.log('\n== Model store: cold-start download of a 300 MB model (model-store: s3)');
  let env: Record<string, string>;
  try {
    env = readSandboxEnv(ROOT) as Record<string, string>;
  } catch {
    console.log('  not run: the sandbox is not up (bash scripts/sandbox.sh up)');
    return;
  }
  if (!fs.existsSync(path.join(ROOT, 'dist', 'index.js')))
    throw new Error('dist/index.js is missing: npm run build first');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'model-store-bench-'));
  const lambda = new LambdaClient({
    region: env.AWS_REGION!,
    endpoint: env.AWS_ENDPOINT_URL!,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
  const name = `bench-model-store-${Date.now().toString(36)}`;
  try {
    fs.mkdirSync(path.join(work, 'app'));
    fs.writeFileSync(path.join(work, 'app', 'lambda_function.py'), HANDLER);
    writeModel(path.join(work, 'model'));
    const run = await runAction({
      root: ROOT,
      entry: path.join(ROOT, 'dist', 'index.js'),
      sandbox: env,
      workspace: work,
      inputs: {
        'aws-region': env.AWS_REGION!,
        'role-to-assume': env.SANDBOX_DEPLOY_ROLE_ARN!,
        'function-name': name,
        's3-bucket': env.SANDBOX_BUCKET!,
        'source-dir': 'app',
        model: 'model',
        'model-store': 's3',
        runtime: env.SANDBOX_RUNTIME!,
        build: 'pip',
        'create-function': 'true',
        'execution-role': env.SANDBOX_ROLE_ARN!,
        'memory-size': '1024',
        timeout: '600',
      },
      env: { AWS_SDK_JS_SUPPRESS_NODE_VERSION_WARNING: '1' },
    });
    if (run.exitCode !== 0)
      throw new Error(`the action failed (exit ${run.exitCode}):\n${run.log.slice(-3000)}`);
    const version = run.outputs.version!;
    const results = new Map<string, number>();
    for (const [way, event] of [
      ['loader', {}],
      ['baseline', { baseline: true }],
    ] as const) {
      const measured = await loads(lambda, name, version, event, invokes);
      const seconds = median(measured.map((m) => m.seconds));
      const mbps = measured[0]!.bytes / 1e6 / seconds;
      results.set(way, seconds);
      console.log(
        `  ${way.padEnd(9)} median ${seconds.toFixed(2)} s for ${(measured[0]!.bytes / 1e6).toFixed(1)} MB ` +
          `(${mbps.toFixed(0)} MB/s) over ${measured.length} cold downloads (${measured.map((m) => m.seconds.toFixed(2)).join(', ')} s)`,
      );
    }
    console.log(
      `  ratio loader / baseline (download_file, unverified): ${(results.get('loader')! / results.get('baseline')!).toFixed(2)}x the time`,
    );
  } finally {
    lambda.destroy();
    fs.rmSync(work, { recursive: true, force: true });
  }
}
