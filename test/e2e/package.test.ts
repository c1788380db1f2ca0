/**
 * Build and package, end to end (issue: build-and-package): the real Docker layer build in the
 * sandbox build image, the handler importing it from /opt/python in the runtime container,
 * CodeSha256 agreement with Lambda, nothing done twice, and the size limit before any upload.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  GetFunctionConfigurationCommand,
  InvokeCommand,
  LambdaClient,
  ListLayerVersionsCommand,
} from '@aws-sdk/client-lambda';
import { runAction } from './helpers/run-action.js';
import {
  assertSandboxUp,
  awsConfig,
  loadSandbox,
  uniqueName,
  type Sandbox,
} from './helpers/sandbox.js';
import { startAwsRecorder } from './support/aws-recorder.js';
import { irisInputs, irisWorkspace, touchHandler } from './support/iris-workspace.js';

const TIMEOUT = 300_000;
let sandbox: Sandbox;
let lambda: LambdaClient;
let recorder: Awaited<ReturnType<typeof startAwsRecorder>>;
let ws: ReturnType<typeof irisWorkspace>;

beforeAll(async () => {
  sandbox = loadSandbox();
  await assertSandboxUp(sandbox);
  lambda = new LambdaClient(awsConfig(sandbox));
  recorder = await startAwsRecorder(sandbox.endpoint);
  ws = irisWorkspace();
});
afterAll(async () => {
  await recorder?.close();
  lambda?.destroy();
  ws?.cleanup();
});

const deploy = (name: string, extra: Record<string, string | undefined> = {}) =>
  runAction({
    inputs: irisInputs(sandbox, name, extra),
    workspace: ws.root,
    env: { AWS_ENDPOINT_URL: recorder.url },
  });
const operations = () => recorder.calls.map((c) => c.operation);
/** The function of the first suite; its layer (built there) is reused where a layer is not the point. */
const fn = uniqueName('iris-pkg');

async function invokeProd(name: string, event: unknown): Promise<Record<string, unknown>> {
  const answer = await lambda.send(
    new InvokeCommand({
      FunctionName: name,
      Qualifier: 'prod',
      Payload: Buffer.from(JSON.stringify(event)),
    }),
  );
  expect(answer.FunctionError).toBeUndefined();
  return JSON.parse(Buffer.from(answer.Payload!).toString()) as Record<string, unknown>;
}

describe('packaging against the sandbox', () => {
  it(
    'builds the layer in the build image; the deployed handler imports it from /opt/python',
    async () => {
      const run = await deploy(fn);
      expect(run.exitCode).toBe(0);
      expect(run.log).toMatch(/docker run .*lmd-sandbox\/build-python3\.11/);
      // numpy and scipy: the repacked manylinux wheels of the wheelhouse, compiled code included.
      expect(run.log).toMatch(/Successfully installed irisfeat-0\.2\.0 numpy-\S+ scipy-\S+/);
      expect(run.log).toMatch(/Slimmed the layer from \S+ MiB to \S+ MiB: removed \d+ files/);
      expect(run.log).toMatch(/Compiled \d{3,} modules to hash-based \.pyc for Python 3\.11/);
      expect(run.outputs['layer-version-arn']).toMatch(new RegExp(`:layer:${fn}-deps:1$`));

      const config = await lambda.send(
        new GetFunctionConfigurationCommand({ FunctionName: fn, Qualifier: 'prod' }),
      );
      expect(config.Layers?.map((l) => l.Arn)).toEqual([run.outputs['layer-version-arn']]);
      // CodeSha256 computed locally equals what Lambda reports for the uploaded zip.
      expect(config.CodeSha256).toBe(run.outputs['code-sha256']);

      const prediction = await invokeProd(fn, { sl: 6.9, sw: 3.1, pl: 5.4, pw: 2.1 });
      expect(prediction.species).toBe('virginica');
      const probabilities = prediction.probabilities as Record<string, number>;
      expect(Object.keys(probabilities).sort()).toEqual(['setosa', 'versicolor', 'virginica']);
      expect(probabilities.virginica).toBeGreaterThan(0.8);
      expect(Object.values(probabilities).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 3);

      // The runtime image has no numpy or scipy: both come from the layer, compiled code and all.
      const health = await invokeProd(fn, { httpMethod: 'GET', path: '/health' });
      const body = JSON.parse(health.body as string);
      expect(body.numpy.from).toBe('/opt/python');
      expect(body.scipy.from).toBe('/opt/python');
      expect(body.checks.numpy_det).toBeCloseTo(5, 9);
      expect(body.checks.scipy_logsumexp).toBeCloseTo(Math.LN2, 9);
      expect(run.summary).toMatch(/dependency layer \| 🔨 built, uploaded, published/);
    },
    TIMEOUT,
  );

  it(
    'a second run with nothing changed uploads, builds and publishes nothing (changed=false)',
    async () => {
      recorder.reset();
      const run = await deploy(fn);
      expect(run.exitCode).toBe(0);
      expect(run.outputs.changed).toBe('false');
      expect(run.outputs.version).toBe('1');
      const ops = operations();
      for (const op of [
        'PutObject',
        'CreateMultipartUpload',
        'UploadPart',
        'PublishLayerVersion',
        'UpdateFunctionCode',
        'UpdateFunctionConfiguration',
        'PublishVersion',
        'UpdateAlias',
      ]) {
        expect(ops).not.toContain(op);
      }
      expect(run.log).not.toMatch(/docker run .*pip/);
      expect(run.summary).toMatch(/♻️ cached/);
    },
    TIMEOUT,
  );

  it(
    'changing one line of the handler re-uploads only the bundle, not the layer',
    async () => {
      touchHandler(ws.handler, 'retrained threshold');
      recorder.reset();
      const run = await deploy(fn);
      expect(run.exitCode).toBe(0);
      expect(run.outputs.changed).toBe('true');
      expect(run.outputs.version).toBe('2');
      const puts = recorder.calls.filter((c) => c.operation === 'PutObject');
      expect(puts).toHaveLength(1);
      expect(puts[0]!.path).toContain(
        `/lambda-ml-deploy/${fn}/${run.outputs['s3-key']!.split('/').pop()}`,
      );
      expect(operations()).not.toContain('PublishLayerVersion');
      expect(operations().filter((op) => op === 'UpdateFunctionCode')).toHaveLength(1);
      const layers = await lambda.send(new ListLayerVersionsCommand({ LayerName: `${fn}-deps` }));
      expect(layers.LayerVersions).toHaveLength(1);
    },
    TIMEOUT,
  );
});

describe('size limit', () => {
  it(
    'a bundle over 250 MB unzipped fails before any upload, with the numbers and what to do',
    async () => {
      const big = path.join(ws.root, 'big-model');
      fs.mkdirSync(big);
      // Sparse files: 2 x 132 MB on disk in no time; the check must fire before they are zipped.
      for (const name of ['weights-a.bin', 'weights-b.bin']) {
        const fd = fs.openSync(path.join(big, name), 'w');
        fs.ftruncateSync(fd, 132_000_000);
        fs.closeSync(fd);
      }
      const bigFn = uniqueName('iris-big');
      recorder.reset();
      // The first suite's layer: cached, so the check under test is reached without a build.
      const run = await deploy(bigFn, { model: 'big-model', 'layer-name': `${fn}-deps` });
      fs.rmSync(big, { recursive: true, force: true });
      expect(run.exitCode).toBe(1);
      const error = run.annotations.find((a) => a.level === 'error')?.message ?? '';
      expect(error).toMatch(/262,144,000 bytes/);
      expect(error).toMatch(/function bundle/);
      expect(error).toMatch(/S3/);
      expect(error).toMatch(/container image/i);
      const ops = operations();
      for (const op of ['PutObject', 'CreateMultipartUpload', 'CreateFunction', 'PublishVersion'])
        expect(ops).not.toContain(op);
    },
    TIMEOUT,
  );
});

describe('dry run', () => {
  it(
    'builds and hashes, reports what would be uploaded and published, and writes nothing',
    async () => {
      const dry = uniqueName('iris-dry');
      recorder.reset();
      const run = await deploy(dry, { 'dry-run': 'true', 'layer-name': `${dry}-deps` });
      expect(run.exitCode).toBe(0);
      // POST / is STS (AssumeRoleWithWebIdentity, GetCallerIdentity): no resource is written there.
      const writes = recorder.calls.filter(
        (c) => c.method !== 'GET' && c.method !== 'HEAD' && c.operation !== 'POST /',
      );
      expect(writes.map((c) => c.operation)).toEqual([]);
      expect(run.outputs['code-sha256']).toMatch(/^[A-Za-z0-9+/]{43}=$/);
      expect(run.outputs).toMatchObject({ changed: 'true', 'smoke-result': 'skipped' });
      expect(run.summary).toMatch(/Dry run: what would happen/);
      expect(run.summary).toMatch(
        /upload the layer to `lambda-ml-deploy\/iris-dry-[^`]+\/layers\/[0-9a-f]{64}\.zip` and publish a new layer version/,
      );
      expect(run.summary).toMatch(/create the function, publish version 1/);
      expect(run.summary).toMatch(/🔍 Dry run/);
    },
    TIMEOUT,
  );
});
