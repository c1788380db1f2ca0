/**
 * The model loader (python/lambda_ml_model.py) run by the sandbox's Lambda runtime image (its
 * Python and Debian's boto3) against the sandbox's S3: parallel ranged reads into /tmp, every
 * sha256 checked, the copy reused on a warm call, and errors that say what failed.
 */
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loaderSource } from '../../src/packaging/loader.js';
import { planModelStore, type ModelFile } from '../../src/packaging/model-manifest.js';
import {
  assertSandboxUp,
  awsConfig,
  loadSandbox,
  uniqueName,
  type Sandbox,
} from './helpers/sandbox.js';

let sandbox: Sandbox;
let s3: S3Client;
let task: string;
const prefix = `e2e-loader/${uniqueName('p')}`;

const SCRIPT = `
import hashlib, json, os
import lambda_ml_model as m
try:
    folder = m.model_dir()
    first = dict(m.last_load)
    again = m.model_dir()
    second = dict(m.last_load)
    files = {}
    for root, _, names in os.walk(folder):
        for name in names:
            p = os.path.join(root, name)
            files[os.path.relpath(p, folder)] = hashlib.sha256(open(p, "rb").read()).hexdigest()
    print(json.dumps({"folder": folder, "same": folder == again, "first": first, "second": second, "files": files}))
except m.ModelLoadError as error:
    print(json.dumps({"error": type(error).__name__, "message": str(error)}))
`;

interface LoaderAnswer {
  folder?: string;
  same?: boolean;
  first?: { cached: boolean; files: number; bytes: number };
  second?: { cached: boolean };
  files?: Record<string, string>;
  error?: string;
  message?: string;
}

function runLoader(manifestUri: string): LoaderAnswer {
  const env = {
    AWS_ENDPOINT_URL: sandbox.endpoint,
    AWS_REGION: sandbox.region,
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    LAMBDA_TASK_ROOT: '/var/task',
    LAMBDA_ML_MODEL_MANIFEST: manifestUri,
    LAMBDA_ML_MODEL_PART_MB: '1',
  };
  const args = ['run', '--rm', '--network', 'host', '--entrypoint', '/usr/bin/python3'];
  for (const [key, value] of Object.entries(env)) args.push('-e', `${key}=${value}`);
  args.push('-v', `${task}:/var/task:ro`, '-w', '/var/task', sandbox.runtimeImage, '-c', SCRIPT);
  const run = spawnSync('docker', args, { encoding: 'utf8', timeout: 120_000 });
  const last = run.stdout.trim().split('\n').pop() ?? '';
  if (!last.startsWith('{')) throw new Error(`loader run failed: ${run.stdout}${run.stderr}`);
  return JSON.parse(last) as LoaderAnswer;
}

const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

async function put(key: string, body: Buffer | string, metadata?: Record<string, string>) {
  await s3.send(
    new PutObjectCommand({ Bucket: sandbox.bucket, Key: key, Body: body, Metadata: metadata }),
  );
}

/** Uploads the files and their manifest as the action does; returns the manifest's URI. */
async function store(files: Record<string, Buffer>): Promise<{ uri: string; keys: string[] }> {
  const modelFiles: ModelFile[] = Object.entries(files).map(([p, bytes]) => ({
    path: p,
    absPath: '',
    size: bytes.length,
    sha256: sha(bytes),
  }));
  const plan = planModelStore(modelFiles, sandbox.bucket, prefix);
  for (const o of plan.objects) await put(o.key, files[o.file.path]!);
  await put(plan.manifestKey, plan.manifestBody);
  return { uri: plan.manifestUri, keys: plan.objects.map((o) => o.key) };
}

beforeAll(async () => {
  sandbox = loadSandbox();
  await assertSandboxUp(sandbox);
  s3 = new S3Client({ ...awsConfig(sandbox), forcePathStyle: true });
  task = fs.mkdtempSync(path.join(os.tmpdir(), 'lmd-loader-'));
  fs.writeFileSync(path.join(task, 'lambda_ml_model.py'), loaderSource('s3', 'model'));
});
afterAll(() => {
  s3?.destroy();
  if (task) fs.rmSync(task, { recursive: true, force: true });
});

const TIMEOUT = 180_000;

describe('lambda_ml_model in the sandbox runtime', () => {
  it(
    'downloads every file in ranges, verifies it, and reuses the copy on a warm call',
    async () => {
      const weights = randomBytes(3 * 1024 * 1024 + 123);
      const labels = Buffer.from('{"classes": ["a", "b"]}');
      const { uri } = await store({ 'weights.bin': weights, 'sub/labels.json': labels });
      const answer = runLoader(uri);
      expect(answer.error).toBeUndefined();
      expect(answer.files).toEqual({ 'weights.bin': sha(weights), 'sub/labels.json': sha(labels) });
      expect(answer.first).toMatchObject({
        cached: false,
        files: 2,
        bytes: weights.length + labels.length,
      });
      expect(answer.second).toMatchObject({ cached: true });
      expect(answer.same).toBe(true);
      expect(answer.folder).toMatch(/^\/tmp\/lambda-ml-model\/[0-9a-f]{64}$/);
    },
    TIMEOUT,
  );

  it(
    'an object whose bytes changed under the same key is a checksum error naming the file',
    async () => {
      const weights = randomBytes(2 * 1024 * 1024);
      const { uri, keys } = await store({ 'weights.bin': weights });
      const corrupt = Buffer.from(weights);
      corrupt[1_500_000] = (corrupt[1_500_000]! + 1) % 256;
      await put(keys[0]!, corrupt, { sha256: sha(weights) });
      const answer = runLoader(uri);
      expect(answer.error).toBe('ModelChecksumError');
      expect(answer.message).toMatch(
        new RegExp(`^Checksum mismatch for model file weights\\.bin .*pins ${sha(weights)}`),
      );
    },
    TIMEOUT,
  );

  it(
    'a missing object says it was deleted after the version was published',
    async () => {
      const bytes = randomBytes(1000);
      const plan = planModelStore(
        [{ path: 'w.bin', absPath: '', size: bytes.length, sha256: sha(bytes) }],
        sandbox.bucket,
        `${prefix}/missing`,
      );
      await put(plan.manifestKey, plan.manifestBody);
      const answer = runLoader(plan.manifestUri);
      expect(answer.error).toBe('ModelLoadError');
      expect(answer.message).toMatch(
        /does not exist: it was deleted after this version was published/,
      );
    },
    TIMEOUT,
  );

  it(
    'a manifest that is not the one its name pins, or that names a path outside, is refused',
    async () => {
      const { uri } = await store({ 'a.bin': Buffer.from('a') });
      const key = uri.replace(`s3://${sandbox.bucket}/`, '');
      await put(key, '{"format": 1, "files": []}\n');
      const tampered = runLoader(uri);
      expect(tampered.error).toBe('ModelChecksumError');
      expect(tampered.message).toMatch(
        /^Manifest s3:\/\/.* has sha256 [0-9a-f]{64}, but its name pins/,
      );

      const escaping =
        '{"format": 1, "files": [{"path": "../../etc/x", "size": 1, "sha256": "00", "key": "k"}]}\n';
      const escapingKey = `${prefix}/model/manifests/${createHash('sha256').update(escaping).digest('hex')}.json`;
      await put(escapingKey, escaping);
      const unsafe = runLoader(`s3://${sandbox.bucket}/${escapingKey}`);
      expect(unsafe.error).toBe('ModelLoadError');
      expect(unsafe.message).toMatch(/lists an unsafe path '\.\.\/\.\.\/etc\/x'/);
    },
    TIMEOUT,
  );
});
