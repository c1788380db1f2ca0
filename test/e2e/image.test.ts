/**
 * Container-image packaging, end to end (issue: models over 250 MB, container images): a 300 MB
 * model deploys to `prod` as an image and answers its smoke tests from the real handler run inside
 * the image; an unchanged re-run pushes nothing and publishes nothing; a one-line handler change
 * pushes the code layer, the config and the manifest only; two fresh checkouts give the same
 * digest; a broken image never reaches `prod`, and a rollback returns `prod` to the previous digest.
 */
import { GetAliasCommand, GetFunctionCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { spawnSync } from 'node:child_process';
import { createCipheriv } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runAction, type ActionRun } from './helpers/run-action.js';
import {
  assertSandboxUp,
  awsConfig,
  loadSandbox,
  REPO_ROOT,
  uniqueName,
  type Sandbox,
} from './helpers/sandbox.js';

const TIMEOUT = 600_000;
const MODEL_BYTES = 300 * 1024 * 1024;
let sandbox: Sandbox;
let lambda: LambdaClient;
let template: string;
const made: string[] = [];

/** 300 MB of deterministic, incompressible bytes (AES-CTR of zeros with a fixed key). */
function writeModel(file: string): void {
  const cipher = createCipheriv('aes-128-ctr', Buffer.alloc(16, 7), Buffer.alloc(16, 0));
  const fd = fs.openSync(file, 'w');
  const zeros = Buffer.alloc(4 << 20); // 300 MB is 75 of these
  for (let written = 0; written < MODEL_BYTES; written += zeros.length)
    fs.writeSync(fd, cipher.update(zeros));
  fs.closeSync(fd);
}

const HANDLER = [
  'import os',
  '',
  'import irisfeat',
  '',
  'WEIGHTS = os.path.join(os.path.dirname(__file__), "model", "weights.bin")',
  '',
  '',
  'def lambda_handler(event, context):',
  '    with open(WEIGHTS, "rb") as f:',
  '        head = f.read(4).hex()',
  '    return {"ok": True, "dependency": irisfeat.__name__,',
  '            "model_bytes": os.path.getsize(WEIGHTS), "head": head, "release": "one"}',
  '',
].join('\n');

/** An app: pure-Python dependency (irisfeat), 300 MB model, handler, smoke spec. */
function writeTemplate(dir: string, wheelhouse: string): void {
  fs.mkdirSync(path.join(dir, 'wheels'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'model'), { recursive: true });
  const wheel = fs.readdirSync(wheelhouse).find((f) => f.startsWith('irisfeat-'));
  if (!wheel) throw new Error('no irisfeat wheel: run `bash scripts/sandbox.sh up` first');
  fs.copyFileSync(path.join(wheelhouse, wheel), path.join(dir, 'wheels', wheel));
  fs.writeFileSync(
    path.join(dir, 'requirements.txt'),
    '--no-index\n--find-links ./wheels\nirisfeat\n',
  );
  fs.writeFileSync(path.join(dir, 'lambda_function.py'), HANDLER);
  writeModel(path.join(dir, 'model', 'weights.bin'));
  fs.writeFileSync(
    path.join(dir, 'smoke.yml'),
    'defaults: {max-latency-ms: 120000}\ncases:\n  - name: model and dependency load\n' +
      `    event: {}\n    expect: {payload: {ok: true, dependency: irisfeat, model_bytes: ${MODEL_BYTES}}}\n`,
  );
}

/** A fresh checkout: a copy of the template made now (new inode times, new folder). */
function checkout(): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'image-ws-'));
  made.push(root);
  fs.cpSync(template, path.join(root, 'app'), { recursive: true });
  return root;
}

beforeAll(async () => {
  sandbox = loadSandbox();
  await assertSandboxUp(sandbox);
  lambda = new LambdaClient(awsConfig(sandbox));
  template = fs.mkdtempSync(path.join(os.tmpdir(), 'image-template-'));
  made.push(template);
  writeTemplate(template, path.join(REPO_ROOT, 'examples', 'iris', 'wheels'));
}, TIMEOUT);
/** The images moto pulled to run this suite's functions (each holds the 300 MB model). */
function removePulledImages(): void {
  const list = spawnSync(
    'docker',
    ['images', '--digests', '--format', '{{.Repository}}@{{.Digest}}'],
    {
      encoding: 'utf8',
    },
  );
  const ours = list.stdout
    .split('\n')
    .filter((ref) => ref.startsWith(`${sandbox.env.SANDBOX_REGISTRY}/lmd-e2e/${RUN}`));
  if (ours.length) spawnSync('docker', ['rmi', ...ours], { stdio: 'ignore' });
}

afterAll(() => {
  lambda?.destroy();
  for (const dir of made) fs.rmSync(dir, { recursive: true, force: true });
  if (sandbox) removePulledImages();
});

const inputs = (fn: string, repo: string, extra: Record<string, string | undefined> = {}) => ({
  'aws-region': sandbox.region,
  'role-to-assume': sandbox.deployRoleArn,
  'function-name': fn,
  'package-type': 'image',
  'base-image': sandbox.env.SANDBOX_BASE_IMAGE,
  'ecr-repository': repo,
  'source-dir': 'app',
  include: 'lambda_function.py',
  model: 'app/model',
  requirements: 'app/requirements.txt',
  build: 'pip',
  runtime: sandbox.runtime,
  'create-function': 'true',
  'execution-role': sandbox.roleArn,
  'memory-size': '1024',
  timeout: '60',
  'smoke-tests': 'app/smoke.yml',
  ...extra,
});

interface Push {
  blobsPushed: number;
  bytesPushed: number;
  pushed: string[];
}

/** The push's machine-readable log line; undefined when no push ran. */
function pushOf(run: ActionRun): Push | undefined {
  const m = /image-push blobs-pushed=(\d+) bytes-pushed=(\d+) .* pushed=(\S*)/.exec(run.log);
  if (!m) return undefined;
  return {
    blobsPushed: Number(m[1]),
    bytesPushed: Number(m[2]),
    pushed: m[3].split(',').filter(Boolean),
  };
}

const explain = (run: ActionRun) => `exit ${run.exitCode}\n${run.log.slice(-4000)}`;

async function prodImage(fn: string): Promise<{ version: string; imageUri: string }> {
  const alias = await lambda.send(new GetAliasCommand({ FunctionName: fn, Name: 'prod' }));
  const version = alias.FunctionVersion ?? '';
  const got = await lambda.send(new GetFunctionCommand({ FunctionName: fn, Qualifier: version }));
  return { version, imageUri: got.Code?.ImageUri ?? '' };
}

const RUN = uniqueName('image').toLowerCase();

describe('package-type: image', () => {
  const fn = RUN;
  const repo = `lmd-e2e/${fn}`;
  let ws: string;
  let first: ActionRun;

  it(
    'deploys a 300 MB model to prod as an image that answers its smoke tests',
    async () => {
      ws = checkout();
      first = await runAction({ inputs: inputs(fn, repo), workspace: ws });
      expect({ exit: first.exitCode, log: first.exitCode ? explain(first) : '' }).toEqual({
        exit: 0,
        log: '',
      });
      expect(first.outputs['smoke-result']).toBe('passed');
      expect(first.outputs.changed).toBe('true');
      const uri = first.outputs['image-uri'];
      expect(uri).toMatch(
        /^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com\/lmd-e2e\/.+@sha256:[0-9a-f]{64}$/,
      );
      expect(uri.split('@sha256:')[1]).toBe(first.outputs['code-sha256']);
      const prod = await prodImage(fn);
      expect(prod.version).toBe(first.outputs.version);
      expect(prod.imageUri).toBe(uri);
      const config = await lambda.send(new GetFunctionCommand({ FunctionName: fn }));
      expect(config.Configuration?.PackageType).toBe('Image');
      expect(config.Configuration?.Layers ?? []).toEqual([]);
      const push = pushOf(first);
      expect(push?.pushed).toEqual(
        expect.arrayContaining(['dependencies-layer', 'model-layer', 'code-layer', 'config']),
      );
      expect(push?.bytesPushed).toBeGreaterThan(MODEL_BYTES);
      expect(first.summary).toContain('Image push');
      expect(first.log).toMatch(/not in the repository yet, building/);
      expect(first.log).toMatch(/Slimmed the layer/);
    },
    TIMEOUT,
  );

  it(
    'an unchanged re-run pushes no blob and publishes nothing',
    async () => {
      const again = await runAction({ inputs: inputs(fn, repo), workspace: ws });
      expect(again.exitCode).toBe(0);
      expect(again.outputs.changed).toBe('false');
      expect(again.outputs.version).toBe(first.outputs.version);
      expect(again.outputs['image-uri']).toBe(first.outputs['image-uri']);
      expect(pushOf(again)?.blobsPushed ?? 0).toBe(0);
      // The dependencies come from the repository: pip does not run again.
      expect(again.log).toMatch(
        /Dependencies layer sha256:\w+ for key \w+ is in .*: reused \(no build\)/,
      );
      expect(again.log).not.toMatch(/not in the repository yet, building|Slimmed the layer/);
      expect(again.summary).toContain('0 blobs');
    },
    TIMEOUT,
  );

  it(
    'two fresh checkouts give the same image digest',
    async () => {
      const other = checkout();
      const touched = path.join(other, 'app', 'lambda_function.py');
      fs.utimesSync(touched, new Date('2001-02-03T04:05:06Z'), new Date('2001-02-03T04:05:06Z'));
      fs.chmodSync(touched, 0o664);
      const plan = await runAction({
        inputs: inputs(fn, repo, { 'dry-run': 'true' }),
        workspace: other,
      });
      expect({ exit: plan.exitCode, log: plan.exitCode ? explain(plan) : '' }).toEqual({
        exit: 0,
        log: '',
      });
      expect(plan.outputs['code-sha256']).toBe(first.outputs['code-sha256']);
      expect(plan.outputs.changed).toBe('false');
    },
    TIMEOUT,
  );

  let second: ActionRun;
  it(
    'a one-line handler change pushes the code layer, the config and the manifest only',
    async () => {
      const handler = path.join(ws, 'app', 'lambda_function.py');
      fs.writeFileSync(handler, HANDLER.replace('"release": "one"', '"release": "two"'));
      second = await runAction({ inputs: inputs(fn, repo), workspace: ws });
      expect({ exit: second.exitCode, log: second.exitCode ? explain(second) : '' }).toEqual({
        exit: 0,
        log: '',
      });
      expect(second.outputs.changed).toBe('true');
      expect(Number(second.outputs.version)).toBe(Number(first.outputs.version) + 1);
      const push = pushOf(second);
      expect(push?.pushed).toEqual(['code-layer', 'config', 'manifest']);
      expect(push?.blobsPushed).toBe(2);
      // The handler's layer (source and .pyc), the config and the manifest: a few kilobytes.
      expect(push?.bytesPushed).toBeLessThan(64 * 1024);
      expect(second.outputs['image-uri']).not.toBe(first.outputs['image-uri']);
      expect((await prodImage(fn)).imageUri).toBe(second.outputs['image-uri']);
    },
    TIMEOUT,
  );

  it(
    'a broken image never reaches prod; rollback returns prod to the previous digest',
    async () => {
      const handler = path.join(ws, 'app', 'lambda_function.py');
      fs.writeFileSync(handler, 'import not_a_module_anywhere\n' + HANDLER);
      const broken = await runAction({ inputs: inputs(fn, repo), workspace: ws });
      expect(broken.exitCode).not.toBe(0);
      expect(broken.outputs['smoke-result']).toBe('failed');
      const prod = await prodImage(fn);
      expect(prod.version).toBe(second.outputs.version);
      expect(prod.imageUri).toBe(second.outputs['image-uri']);

      const rollback = await runAction({
        inputs: {
          mode: 'rollback',
          'aws-region': sandbox.region,
          'role-to-assume': sandbox.deployRoleArn,
          'function-name': fn,
        },
        workspace: ws,
      });
      expect({ exit: rollback.exitCode, log: rollback.exitCode ? explain(rollback) : '' }).toEqual({
        exit: 0,
        log: '',
      });
      const back = await prodImage(fn);
      expect(back.version).toBe(first.outputs.version);
      expect(back.imageUri).toBe(first.outputs['image-uri']);
    },
    TIMEOUT,
  );
});
