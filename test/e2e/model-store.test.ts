/**
 * The S3 model store, end to end (issue: models over 250 MB, part 2): a 300 MB model deploys with
 * `model-store: s3` and the real handler answers its smoke tests after loading it through
 * lambda_ml_model.model_dir(); an unchanged re-run uploads and publishes nothing; a change to one
 * model file uploads that file and a new manifest and publishes one version that sees it;
 * rolling back serves the previous model; a model object whose bytes differ from what its key
 * names fails the loader's checksum and its version never reaches `prod`.
 */
import {
  GetAliasCommand,
  GetFunctionConfigurationCommand,
  LambdaClient,
} from '@aws-sdk/client-lambda';
import { HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runAction, type ActionRun } from './helpers/run-action.js';
import {
  assertSandboxUp,
  awsConfig,
  loadSandbox,
  uniqueName,
  type Sandbox,
} from './helpers/sandbox.js';
import { startAwsRecorder } from './support/aws-recorder.js';

const TIMEOUT = 900_000;
const MODEL_BYTES = 300 * 1024 * 1024;
const fn = uniqueName('e2e-modelstore');
const prefix = `e2e-modelstore/${fn}`;

let sandbox: Sandbox;
let lambda: LambdaClient;
let s3: S3Client;
let root: string;
let recorder: Awaited<ReturnType<typeof startAwsRecorder>>;

// Loaded on the first call rather than at import: a download that may outlast Lambda's 10 s init
// budget belongs in the invoke (model_dir() keeps the copy for the container's later calls).
const HANDLER = `import json
import os

import lambda_ml_model
from lambda_ml_model import model_dir

_MODEL = {}


def model():
    if not _MODEL:
        folder = model_dir()
        with open(os.path.join(folder, "labels.json")) as handle:
            _MODEL["labels"] = json.load(handle)
        _MODEL["weights_bytes"] = os.path.getsize(os.path.join(folder, "weights.bin"))
        _MODEL["dir"] = folder
        _MODEL["load"] = dict(lambda_ml_model.last_load)
    return _MODEL


def lambda_handler(event, context):
    loaded = model()
    return {
        "model": loaded["labels"]["version"],
        "weights_bytes": loaded["weights_bytes"],
        "store": lambda_ml_model.MODEL_STORE,
        "model_dir": loaded["dir"],
        "load": loaded["load"],
    }
`;

function smokeSpec(version: string): string {
  return [
    'defaults: {max-latency-ms: 600000}',
    'cases:',
    `  - name: serves model ${version}`,
    '    event: {}',
    '    expect:',
    `      payload: {model: "${version}", store: s3, weights_bytes: ${MODEL_BYTES}}`,
    '',
  ].join('\n');
}

function writeLabels(version: string): void {
  fs.writeFileSync(path.join(root, 'model', 'labels.json'), JSON.stringify({ version }));
}

/** A sparse 300 MB file with random bytes at both ends (made here, never committed). */
function writeWeights(file: string): void {
  const fd = fs.openSync(file, 'w');
  try {
    fs.ftruncateSync(fd, MODEL_BYTES);
    fs.writeSync(fd, randomBytes(4096), 0, 4096, 0);
    fs.writeSync(fd, randomBytes(4096), 0, 4096, MODEL_BYTES - 4096);
  } finally {
    fs.closeSync(fd);
  }
}

const inputs = (smoke: string, extra: Record<string, string> = {}) => ({
  'aws-region': sandbox.region,
  'role-to-assume': sandbox.deployRoleArn,
  'function-name': fn,
  's3-bucket': sandbox.bucket,
  's3-prefix': prefix,
  'source-dir': 'app',
  model: 'model',
  'model-store': 's3',
  runtime: sandbox.runtime,
  build: 'pip',
  'create-function': 'true',
  'execution-role': sandbox.roleArn,
  timeout: '600',
  'memory-size': '1024',
  'smoke-tests': smoke,
  ...extra,
});

const deploy = (smoke: string, extra: Record<string, string> = {}) =>
  runAction({
    inputs: inputs(smoke, extra),
    workspace: root,
    env: { AWS_ENDPOINT_URL: recorder.url },
  });

const prodVersion = async () =>
  (await lambda.send(new GetAliasCommand({ FunctionName: fn, Name: 'prod' }))).FunctionVersion;

const ops = (name: string) => recorder.calls.filter((c) => c.operation === name);

function failure(run: ActionRun): string {
  return run.annotations.find((a) => a.level === 'error')?.message ?? '';
}

function expectOk(run: ActionRun): void {
  expect({ exit: run.exitCode, error: failure(run) }).toEqual({ exit: 0, error: '' });
}

beforeAll(async () => {
  sandbox = loadSandbox();
  await assertSandboxUp(sandbox);
  lambda = new LambdaClient(awsConfig(sandbox));
  s3 = new S3Client({ ...awsConfig(sandbox), forcePathStyle: true });
  recorder = await startAwsRecorder(sandbox.endpoint);
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'lmd-e2e-modelstore-'));
  fs.mkdirSync(path.join(root, 'app'));
  fs.mkdirSync(path.join(root, 'model'));
  fs.writeFileSync(path.join(root, 'app', 'lambda_function.py'), HANDLER);
  for (const v of ['v1', 'v2', 'v3'])
    fs.writeFileSync(path.join(root, `smoke-${v}.yml`), smokeSpec(v));
  writeWeights(path.join(root, 'model', 'weights.bin'));
  writeLabels('v1');
});

afterAll(async () => {
  await recorder?.close();
  lambda?.destroy();
  s3?.destroy();
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

describe('model-store: s3', () => {
  let firstManifest = '';

  it(
    'a 300 MB model deploys; the handler loads it through the loader and answers its smoke tests',
    async () => {
      const run = await deploy('smoke-v1.yml');
      expectOk(run);
      expect(run.outputs).toMatchObject({
        version: '1',
        'smoke-result': 'passed',
        changed: 'true',
      });
      expect(await prodVersion()).toBe('1');
      const config = await lambda.send(
        new GetFunctionConfigurationCommand({ FunctionName: fn, Qualifier: '1' }),
      );
      firstManifest = config.Environment?.Variables?.LAMBDA_ML_MODEL_MANIFEST ?? '';
      expect(firstManifest).toMatch(
        new RegExp(`^s3://${sandbox.bucket}/${prefix}/model/manifests/[0-9a-f]{64}\\.json$`),
      );
      // The model is not in the zip: the bundle is the handler and the loader.
      expect(config.CodeSize).toBeLessThan(64 * 1024);
      // The 300 MB file went up in parts; the summary names the manifest.
      expect(ops('UploadPart').length).toBeGreaterThan(1);
      expect(run.summary).toContain('Model store (S3)');
    },
    TIMEOUT,
  );

  it(
    'an unchanged re-run uploads nothing and publishes nothing',
    async () => {
      recorder.reset();
      const run = await deploy('smoke-v1.yml');
      expectOk(run);
      expect(run.outputs.changed).toBe('false');
      expect(ops('PutObject')).toHaveLength(0);
      expect(ops('UploadPart')).toHaveLength(0);
      expect(ops('PublishVersion')).toHaveLength(0);
      expect(await prodVersion()).toBe('1');
    },
    TIMEOUT,
  );

  it(
    'a change to one model file uploads that file and a new manifest, and publishes one version that sees it',
    async () => {
      writeLabels('v2');
      recorder.reset();
      const run = await deploy('smoke-v2.yml');
      expectOk(run);
      expect(run.outputs).toMatchObject({
        version: '2',
        'smoke-result': 'passed',
        changed: 'true',
      });
      const labelsSha = createHash('sha256')
        .update(fs.readFileSync(path.join(root, 'model', 'labels.json')))
        .digest('hex');
      const puts = ops('PutObject').map((c) => decodeURIComponent(c.path.split('?')[0] ?? ''));
      expect(puts).toHaveLength(2);
      expect(puts[0]).toBe(`/${sandbox.bucket}/${prefix}/model/files/${labelsSha}`);
      expect(puts[1]).toMatch(new RegExp(`^/${sandbox.bucket}/${prefix}/model/manifests/`));
      expect(ops('UploadPart')).toHaveLength(0);
      expect(ops('PublishVersion')).toHaveLength(1);
      expect(await prodVersion()).toBe('2');
    },
    TIMEOUT,
  );

  it(
    'rollback to the previous version serves the previous model',
    async () => {
      const run = await runAction({
        inputs: {
          'aws-region': sandbox.region,
          'role-to-assume': sandbox.deployRoleArn,
          'function-name': fn,
          mode: 'rollback',
          'rollback-to': 'previous',
          'smoke-tests': 'smoke-v1.yml',
        },
        workspace: root,
      });
      expectOk(run);
      expect(await prodVersion()).toBe('1');
      expect(run.log).toContain('serves model v1');
    },
    TIMEOUT,
  );

  it(
    'a model object whose bytes are not the ones its key names fails the checksum; prod stays',
    async () => {
      writeLabels('v3');
      const body = fs.readFileSync(path.join(root, 'model', 'labels.json'));
      const sha = createHash('sha256').update(body).digest('hex');
      const key = `${prefix}/model/files/${sha}`;
      // Same key, same size, same recorded sha256: only the bytes differ (a silent corruption).
      const corrupt = Buffer.from(body.toString('utf8').replace('v3', 'v9'));
      await s3.send(
        new PutObjectCommand({
          Bucket: sandbox.bucket,
          Key: key,
          Body: corrupt,
          Metadata: { sha256: sha },
        }),
      );
      const head = await s3.send(new HeadObjectCommand({ Bucket: sandbox.bucket, Key: key }));
      expect(head.ContentLength).toBe(body.length);
      const run = await deploy('smoke-v3.yml');
      expect(run.exitCode).not.toBe(0);
      expect(run.outputs['smoke-result']).toBe('failed');
      expect(run.log).toMatch(/ModelChecksumError: Checksum mismatch for model file labels\.json/);
      expect(await prodVersion()).toBe('1');
    },
    TIMEOUT,
  );
});
