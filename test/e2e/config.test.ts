/**
 * Function configuration, end to end (issue: function configuration): a configuration-only change
 * publishes a version with it and moves `prod` after its smoke tests; a re-run is unchanged; a run
 * that stopped after updating $LATEST still publishes; environment values reach Lambda as written;
 * ephemeral storage, tracing, extra layers, tags and logging are applied; an x86_64 function
 * switched to arm64 publishes an arm64 version with an arm64 layer.
 */
import {
  GetAliasCommand,
  GetFunctionConfigurationCommand,
  GetLayerVersionCommand,
  InvokeCommand,
  LambdaClient,
  ListTagsCommand,
  ListVersionsByFunctionCommand,
  PublishLayerVersionCommand,
  TagResourceCommand,
  UpdateFunctionConfigurationCommand,
  waitUntilFunctionUpdatedV2,
} from '@aws-sdk/client-lambda';
import * as fs from 'node:fs';
import * as path from 'node:path';
import yazl from 'yazl';
import { runAction, type ActionRun } from './helpers/run-action.js';
import {
  assertSandboxUp,
  awsConfig,
  loadSandbox,
  uniqueName,
  type Sandbox,
} from './helpers/sandbox.js';
import { irisInputs, irisWorkspace } from './support/iris-workspace.js';

const TIMEOUT = 300_000;
let sandbox: Sandbox;
let lambda: LambdaClient;
let ws: ReturnType<typeof irisWorkspace>;

beforeAll(async () => {
  sandbox = loadSandbox();
  await assertSandboxUp(sandbox);
  lambda = new LambdaClient(awsConfig(sandbox));
  ws = irisWorkspace();
  writeLightApp(path.join(ws.root, APP), path.join(ws.app, 'wheels'));
});
afterAll(() => {
  lambda?.destroy();
  ws?.cleanup();
});

/**
 * These tests are about configuration, not the model: they ship a small app whose one dependency,
 * irisfeat (the iris example's own package), is pure Python. Its layer builds in seconds, and pip
 * can pick it for manylinux aarch64 too (the iris example's numpy and scipy wheels are the
 * machine's x86_64 ones, and there is no index here). Its smoke case checks that the layer imports.
 */
const APP = 'configapp';

function writeLightApp(dir: string, wheelhouse: string): void {
  fs.mkdirSync(path.join(dir, 'wheels'), { recursive: true });
  const wheel = fs.readdirSync(wheelhouse).find((f) => f.startsWith('irisfeat-'));
  if (!wheel) throw new Error('no irisfeat wheel: run `bash scripts/sandbox.sh up` first');
  fs.copyFileSync(path.join(wheelhouse, wheel), path.join(dir, 'wheels', wheel));
  fs.writeFileSync(
    path.join(dir, 'requirements.txt'),
    '--no-index\n--find-links ./wheels\nirisfeat\n',
  );
  fs.writeFileSync(
    path.join(dir, 'lambda_function.py'),
    'import os\n\nimport irisfeat\n\n\ndef lambda_handler(event, context):\n' +
      '    return {"ok": True, "dependency": irisfeat.__name__,' +
      ' "model_version": os.environ.get("MODEL_VERSION")}\n',
  );
  fs.writeFileSync(
    path.join(dir, 'smoke.yml'),
    'defaults: {max-latency-ms: 120000}\ncases:\n  - name: the layer imports\n' +
      '    event: {}\n    expect: {payload: {ok: true, dependency: irisfeat}}\n',
  );
}

const appInputs = (fn: string, extra: Record<string, string | undefined> = {}) => ({
  ...irisInputs(sandbox, fn),
  'source-dir': APP,
  include: 'lambda_function.py',
  model: undefined,
  'smoke-tests': `${APP}/smoke.yml`,
  build: 'pip',
  ...extra,
});

const deploy = (fn: string, extra: Record<string, string | undefined> = {}) =>
  runAction({ inputs: appInputs(fn, extra), workspace: ws.root });

const versionConfig = (fn: string, version: string) =>
  lambda.send(new GetFunctionConfigurationCommand({ FunctionName: fn, Qualifier: version }));

async function prodVersion(fn: string): Promise<string | undefined> {
  return (await lambda.send(new GetAliasCommand({ FunctionName: fn, Name: 'prod' })))
    .FunctionVersion;
}

async function versionCount(fn: string): Promise<number> {
  const page = await lambda.send(new ListVersionsByFunctionCommand({ FunctionName: fn }));
  return (page.Versions ?? []).filter((v) => v.Version !== '$LATEST').length;
}

function errorOf(run: ActionRun): string {
  return run.annotations.find((a) => a.level === 'error')?.message ?? '';
}

/** A small real layer (Lambda extracts it into /opt) standing in for a shared one. */
async function publishExtraLayer(name: string): Promise<string> {
  const zip = new yazl.ZipFile();
  zip.addBuffer(Buffer.from('MARKER = "extra"\n'), 'python/extra_marker.py', {
    mtime: new Date('2024-01-01T00:00:00Z'),
  });
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  const layer = await lambda.send(
    new PublishLayerVersionCommand({
      LayerName: name,
      Content: { ZipFile: Buffer.concat(chunks) },
    }),
  );
  return layer.LayerVersionArn ?? '';
}

describe('configuration-only changes', () => {
  const fn = uniqueName('cfg-only');
  // Values YAML would rewrite: 1.10 -> 1.1, 0123 -> 123, 1e3 -> 1000, 0x1F -> 31.
  const environment = 'MODEL_VERSION: 1.10\nSEED: 0123\nLIMIT: 1e3\nMASK: 0x1F\nFLAG: yes';
  const config = { 'memory-size': '256', timeout: '45', environment };

  beforeAll(async () => {
    const first = await deploy(fn);
    expect({ exit: first.exitCode, error: errorOf(first) }).toEqual({ exit: 0, error: '' });
    expect(first.outputs.version).toBe('1');
  }, TIMEOUT);

  it(
    'memory, timeout and environment on unchanged code: a new version after its smoke tests',
    async () => {
      const run = await deploy(fn, config);
      expect({ exit: run.exitCode, error: errorOf(run) }).toEqual({ exit: 0, error: '' });
      expect(run.outputs).toMatchObject({
        version: '2',
        changed: 'true',
        'smoke-result': 'passed',
      });
      expect(await prodVersion(fn)).toBe('2');
      const v2 = await versionConfig(fn, '2');
      expect(v2).toMatchObject({ MemorySize: 256, Timeout: 45 });
      expect(v2.Environment?.Variables).toEqual({
        MODEL_VERSION: '1.10',
        SEED: '0123',
        LIMIT: '1e3',
        MASK: '0x1F',
        FLAG: 'yes',
      });
      expect(run.log).toMatch(/Upload bundle.*skipped|skip.*Upload bundle/i);
      expect(run.summary).toMatch(/\| memory \(MB\) \| 128 \| 256 \|/);
      expect(run.summary).toMatch(/\| timeout \(s\) \| 3 \| 45 \|/);
      expect(run.summary).toContain('MODEL_VERSION=1.10');
      // And the running version sees the text as written.
      const answer = await lambda.send(
        new InvokeCommand({ FunctionName: fn, Qualifier: '2', Payload: Buffer.from('{}') }),
      );
      expect(JSON.parse(Buffer.from(answer.Payload!).toString())).toMatchObject({
        model_version: '1.10',
      });
    },
    TIMEOUT,
  );

  it(
    'the same inputs again: changed=false, nothing published',
    async () => {
      const run = await deploy(fn, config);
      expect({ exit: run.exitCode, error: errorOf(run) }).toEqual({ exit: 0, error: '' });
      expect(run.outputs).toMatchObject({ version: '2', changed: 'false' });
      expect(await versionCount(fn)).toBe(2);
      expect(await prodVersion(fn)).toBe('2');
    },
    TIMEOUT,
  );

  it(
    '`~` as a value is an error naming the input and asking to quote; nothing changes',
    async () => {
      const run = await deploy(fn, { ...config, environment: `${environment}\nEMPTY: ~` });
      expect(run.exitCode).toBe(1);
      expect(errorOf(run)).toMatch(/Input 'environment': has key 'EMPTY' with `~`.*quote/);
      expect(await versionCount(fn)).toBe(2);
    },
    TIMEOUT,
  );

  it(
    '$LATEST already carrying the new configuration (a run stopped before publishing) still publishes',
    async () => {
      await lambda.send(
        new UpdateFunctionConfigurationCommand({ FunctionName: fn, MemorySize: 512 }),
      );
      await waitUntilFunctionUpdatedV2(
        { client: lambda, maxWaitTime: 60, minDelay: 1, maxDelay: 2 },
        { FunctionName: fn },
      );
      const run = await deploy(fn, { ...config, 'memory-size': '512' });
      expect({ exit: run.exitCode, error: errorOf(run) }).toEqual({ exit: 0, error: '' });
      expect(run.outputs).toMatchObject({
        version: '3',
        changed: 'true',
        'smoke-result': 'passed',
      });
      expect(run.log).toMatch(/\$LATEST already holds this bundle; publish it/);
      expect((await versionConfig(fn, '3')).MemorySize).toBe(512);
      expect(await prodVersion(fn)).toBe('3');
      expect(run.summary).toMatch(/\| memory \(MB\) \| 256 \| 512 \|/);
    },
    TIMEOUT,
  );

  it(
    'ephemeral storage, tracing, extra layers, logging and tags reach the published version',
    async () => {
      const extra = await publishExtraLayer(`${fn}-shared`);
      const settings = {
        ...config,
        'memory-size': '512',
        'ephemeral-storage': '1024',
        tracing: 'Active',
        layers: extra,
        'log-format': 'JSON',
        'log-group': `/ml/${fn}`,
        'application-log-level': 'WARN',
        'system-log-level': 'DEBUG',
        tags: '{team: ml, cost-center: "0042"}',
      };
      const run = await deploy(fn, settings);
      expect({ exit: run.exitCode, error: errorOf(run) }).toEqual({ exit: 0, error: '' });
      expect(run.outputs).toMatchObject({
        version: '4',
        changed: 'true',
        'smoke-result': 'passed',
      });
      const v4 = await versionConfig(fn, '4');
      expect(v4.EphemeralStorage).toEqual({ Size: 1024 });
      expect(v4.TracingConfig).toEqual({ Mode: 'Active' });
      expect(v4.LoggingConfig).toEqual({
        LogFormat: 'JSON',
        LogGroup: `/ml/${fn}`,
        ApplicationLogLevel: 'WARN',
        SystemLogLevel: 'DEBUG',
      });
      const layers = (v4.Layers ?? []).map((l) => l.Arn);
      expect(layers).toEqual([extra, run.outputs['layer-version-arn']]);
      const arn = v4.FunctionArn!.replace(/:4$/, '');
      const tags = (await lambda.send(new ListTagsCommand({ Resource: arn }))).Tags;
      expect(tags).toMatchObject({
        team: 'ml',
        'cost-center': '0042',
        'lambda-ml-deploy:managed-tags': 'cost-center team',
      });
      expect(await prodVersion(fn)).toBe('4');
      expect(run.summary).toMatch(/\| ephemeral storage \(MB\) \| 512 \| 1024 \|/);
      expect(run.summary).toMatch(/\| X-Ray tracing \| PassThrough \| Active \|/);
      expect(run.summary).toMatch(/\| tag team \| \(not set\) \| ml \|/);

      // Again: unchanged. Then a tag dropped from the input is removed, someone else's stays,
      // and a tags-only change publishes nothing.
      const again = await deploy(fn, settings);
      expect(again.outputs).toMatchObject({ version: '4', changed: 'false' });
      await lambda.send(new TagResourceCommand({ Resource: arn, Tags: { owner: 'platform' } }));
      const fewer = await deploy(fn, { ...settings, tags: '{team: ml}' });
      expect({ exit: fewer.exitCode, error: errorOf(fewer) }).toEqual({ exit: 0, error: '' });
      expect(fewer.outputs).toMatchObject({ version: '4', changed: 'false' });
      // The per-version cold-start records are the action's own tags, not the user's.
      const userTags = Object.entries(
        (await lambda.send(new ListTagsCommand({ Resource: arn }))).Tags ?? {},
      ).filter(([key]) => !key.startsWith('lambda-ml-deploy:cold-start-ms:'));
      expect(Object.fromEntries(userTags)).toEqual({
        team: 'ml',
        owner: 'platform',
        'lambda-ml-deploy:managed-tags': 'team',
      });
      expect(fewer.summary).toMatch(/\| tag cost-center \| 0042 \| \(removed\) \|/);
      expect(await versionCount(fn)).toBe(4);
    },
    TIMEOUT,
  );
});

describe('settings removed with `none`', () => {
  const fn = uniqueName('cfg-none');

  it(
    'a VPC, dead-letter target and KMS key set by one run are removed by the next',
    async () => {
      const attached = {
        'vpc-subnet-ids': 'subnet-0123abcd',
        'vpc-security-group-ids': 'sg-0123abcd',
        'dead-letter-target-arn': 'arn:aws:sqs:us-east-1:123456789012:iris-dlq',
        'kms-key-arn': 'arn:aws:kms:us-east-1:123456789012:key/1234abcd',
      };
      const first = await deploy(fn, attached);
      expect({ exit: first.exitCode, error: errorOf(first) }).toEqual({ exit: 0, error: '' });
      const v1 = await versionConfig(fn, '1');
      expect(v1.VpcConfig?.SubnetIds).toEqual(['subnet-0123abcd']);
      expect(v1.DeadLetterConfig?.TargetArn).toBe(attached['dead-letter-target-arn']);
      expect(v1.KMSKeyArn).toBe(attached['kms-key-arn']);

      const none = {
        'vpc-subnet-ids': 'none',
        'dead-letter-target-arn': 'none',
        'kms-key-arn': 'none',
      };
      const removed = await deploy(fn, none);
      expect({ exit: removed.exitCode, error: errorOf(removed) }).toEqual({ exit: 0, error: '' });
      expect(removed.outputs).toMatchObject({ version: '2', changed: 'true' });
      const v2 = await versionConfig(fn, '2');
      expect(v2.VpcConfig?.SubnetIds ?? []).toEqual([]);
      expect(v2.DeadLetterConfig?.TargetArn || undefined).toBeUndefined();
      expect(v2.KMSKeyArn || undefined).toBeUndefined();
      expect(removed.summary).toMatch(/\| VPC \| subnets subnet-0123abcd.*\| \(none\) \|/s);
      expect(await prodVersion(fn)).toBe('2');

      const again = await deploy(fn, none);
      expect(again.outputs).toMatchObject({ version: '2', changed: 'false' });
    },
    TIMEOUT,
  );
});

describe('architecture switch', () => {
  const fn = uniqueName('cfg-arch');

  it(
    'x86_64 -> arm64: the new version reports arm64 and carries a layer built for arm64',
    async () => {
      const first = await deploy(fn);
      expect({ exit: first.exitCode, error: errorOf(first) }).toEqual({ exit: 0, error: '' });
      expect((await versionConfig(fn, '1')).Architectures).toEqual(['x86_64']);
      const x86Layer = first.outputs['layer-version-arn']!;

      // Docker here cannot emulate arm64: pip builds the layer with --platform manylinux_*_aarch64,
      // and the sandbox runs the pure-Python dependency on x86_64.
      const run = await deploy(fn, { architecture: 'arm64' });
      expect({ exit: run.exitCode, error: errorOf(run) }).toEqual({ exit: 0, error: '' });
      expect(run.outputs).toMatchObject({
        version: '2',
        changed: 'true',
        'smoke-result': 'passed',
      });
      expect(run.log).toMatch(/--platform manylinux_2_\d+_aarch64/);
      const v2 = await versionConfig(fn, '2');
      expect(v2.Architectures).toEqual(['arm64']);
      const armLayer = run.outputs['layer-version-arn']!;
      expect(armLayer).not.toBe(x86Layer);
      expect((v2.Layers ?? []).map((l) => l.Arn)).toEqual([armLayer]);
      // (moto answers GetLayerVersionByArn with ListLayers: ask by name and number instead.)
      const [, , , , , , layerName, layerVersion] = armLayer.split(':');
      const layer = await lambda.send(
        new GetLayerVersionCommand({ LayerName: layerName, VersionNumber: Number(layerVersion) }),
      );
      expect(layer.CompatibleArchitectures).toEqual(['arm64']);
      expect(await prodVersion(fn)).toBe('2');
      expect(run.summary).toMatch(/\| architecture \| x86_64 \| arm64 \|/);
    },
    TIMEOUT,
  );
});
