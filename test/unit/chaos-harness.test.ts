/**
 * The chaos suite's own parts (test/chaos): the fault proxy answers in each service's protocol so
 * the SDK sees the intended error, and the invariant checker flags each kind of broken promise.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { GetAliasCommand, LambdaClient, UpdateAliasCommand } from '@aws-sdk/client-lambda';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { startFaultProxy, type FaultKind, type FaultProxy } from '../chaos/fault-proxy.mjs';
import { checkPair, checkRun, namesAStep, type StepView } from '../chaos/invariants.mjs';

describe('fault proxy', () => {
  let upstream: http.Server;
  let target: string;
  let reached: string[];
  let proxy: FaultProxy | undefined;

  beforeAll(async () => {
    upstream = http.createServer((req, res) => {
      reached.push(`${req.method} ${req.url}`);
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{}');
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    target = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  });
  beforeEach(() => (reached = []));
  afterEach(async () => {
    await proxy?.close();
    proxy = undefined;
  });
  afterAll(async () => {
    upstream.closeAllConnections();
    await new Promise((resolve) => upstream.close(resolve));
  });

  const config = (endpoint: string) => ({
    region: 'us-east-1',
    endpoint,
    maxAttempts: 1,
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
  });
  async function failure(kind: FaultKind, send: (endpoint: string) => Promise<unknown>) {
    // One proxy at a time: a test may call this several times, and afterEach closes the last.
    await proxy?.close();
    proxy = await startFaultProxy({ target, seed: 1, rate: 1, kinds: [kind] });
    try {
      await send(proxy.url);
    } catch (error) {
      const e = error as { name?: string; code?: string; $metadata?: { httpStatusCode?: number } };
      return { name: e.name ?? e.code, status: e.$metadata?.httpStatusCode };
    }
    return { name: 'no error', status: 200 };
  }
  const lambdaWrite = (endpoint: string) => {
    const client = new LambdaClient(config(endpoint));
    return client
      .send(new UpdateAliasCommand({ FunctionName: 'f', Name: 'prod', FunctionVersion: '2' }))
      .finally(() => client.destroy());
  };
  const lambdaRead = (endpoint: string) => {
    const client = new LambdaClient(config(endpoint));
    return client
      .send(new GetAliasCommand({ FunctionName: 'f', Name: 'prod' }))
      .finally(() => client.destroy());
  };
  const s3Put = (endpoint: string) => {
    const client = new S3Client({ ...config(endpoint), forcePathStyle: true });
    return client
      .send(new PutObjectCommand({ Bucket: 'b', Key: 'k', Body: 'x' }))
      .finally(() => client.destroy());
  };
  const sts = (endpoint: string) => {
    const client = new STSClient(config(endpoint));
    return client.send(new GetCallerIdentityCommand({})).finally(() => client.destroy());
  };
  const cloudwatch = (endpoint: string) => {
    const client = new CloudWatchClient(config(endpoint));
    return client.send(new DescribeAlarmsCommand({})).finally(() => client.destroy());
  };

  it('throttles in each protocol: Lambda 429, S3 SlowDown, STS and CloudWatch Throttling', async () => {
    expect(await failure('throttle', lambdaWrite)).toEqual({
      name: 'TooManyRequestsException',
      status: 429,
    });
    expect(await failure('throttle', s3Put)).toEqual({ name: 'SlowDown', status: 503 });
    expect(await failure('throttle', sts)).toEqual({ name: 'Throttling', status: 400 });
    expect(await failure('throttle', cloudwatch)).toMatchObject({ name: 'Throttling' });
    expect(reached).toEqual([]);
  });

  it('a 5xx before forwarding never reaches moto; a 503 after forwarding does', async () => {
    expect(await failure('error-before', lambdaWrite)).toEqual({
      name: 'ServiceException',
      status: 500,
    });
    expect(reached).toEqual([]);
    expect(await failure('error-after', lambdaWrite)).toMatchObject({ status: 503 });
    expect(reached).toEqual(['PUT /2015-03-31/functions/f/aliases/prod']);
    expect(proxy!.aliasWrites).toMatchObject([
      { operation: 'UpdateAlias', alias: 'prod', version: '2', fault: 'error-after', landed: true },
    ]);
  });

  it('ResourceConflictException only for Lambda writes; resets drop the connection', async () => {
    expect(await failure('conflict', lambdaWrite)).toEqual({
      name: 'ResourceConflictException',
      status: 409,
    });
    expect(await failure('conflict', lambdaRead)).toEqual({ name: 'no error', status: 200 });
    const reset = await failure('reset', s3Put);
    expect(reset.status).toBeUndefined();
    expect(reset.name).not.toBe('no error');
    expect(proxy!.faults).toMatchObject([{ kind: 'reset', operation: 'PutObject', service: 's3' }]);
  });

  it('the same seed faults the same calls; rate 0 faults none', async () => {
    const kinds = async (seed: number, rate: number) => {
      proxy = await startFaultProxy({ target, seed, rate, kinds: ['throttle', 'error-before'] });
      const client = new LambdaClient(config(proxy.url));
      for (let i = 0; i < 12; i++)
        await client
          .send(new GetAliasCommand({ FunctionName: 'f', Name: 'prod' }))
          .catch(() => undefined);
      client.destroy();
      const seen = proxy.calls.map((c) => c.fault ?? '-').join(',');
      await proxy.close();
      proxy = undefined;
      return seen;
    };
    const first = await kinds(7, 0.3);
    expect(await kinds(7, 0.3)).toBe(first);
    expect(first).toMatch(/throttle|error-before/);
    expect(await kinds(7, 0)).not.toMatch(/throttle|error-before/);
  }, 30_000);
});

describe('invariant checker', () => {
  const step = (over: Partial<StepView> = {}): StepView => ({
    exitCode: 0,
    outputs: {},
    annotations: [],
    visibleLog: '',
    summary: '',
    ...over,
  });
  const alias = (name: string, version: string, weights = {}, description = '') => ({
    name,
    version,
    weights,
    description,
  });
  const base = {
    before: { aliases: [alias('prod', '1')], versions: ['1', '2'] },
    after: {
      aliases: [alias('prod', '2', {}, 'lambda-ml-deploy: previous=1')],
      versions: ['1', '2'],
    },
    proxy: { aliasWrites: [], versionDeletes: [] },
    main: step({ outputs: { version: '2', 'smoke-result': 'passed' } }),
    post: step(),
    passed: ['2'],
    killed: false,
    secrets: ['s3cr3t-session-token'],
  };
  const write = (version: string, weights = {}) => ({
    seq: 1,
    operation: 'UpdateAlias' as const,
    functionName: 'f',
    alias: 'prod',
    version,
    weights,
    landed: true,
  });

  it('a clean promotion breaks nothing', () => {
    expect(checkRun({ ...base, proxy: { ...base.proxy, aliasWrites: [write('2')] } })).toEqual([]);
  });

  it('(a) a weight on a version that did not pass, even if the write was undone', () => {
    const found = checkRun({
      ...base,
      after: base.before,
      passed: [],
      proxy: { ...base.proxy, aliasWrites: [write('1', { '3': 0.1 }), write('1')] },
    });
    expect(found).toEqual([expect.objectContaining({ invariant: 'a' })]);
    expect(found[0]!.message).toMatch(/version 3 did not pass/);
  });

  it('(b) a version the alias records as previous is gone', () => {
    const found = checkRun({
      ...base,
      after: { ...base.after, versions: ['2'] },
      proxy: { aliasWrites: [], versionDeletes: [{ version: '1' }] },
    });
    expect(found).toEqual([
      { invariant: 'b', message: expect.stringMatching(/version 1.*previous.*deleted/) },
    ]);
  });

  it('(c) red with a bare SDK error, green when it had to fail, a failed post step', () => {
    const bare = step({
      exitCode: 1,
      annotations: [{ level: 'error', message: 'socket hang up' }],
    });
    expect(checkRun({ ...base, main: bare, after: base.before, passed: [] })).toEqual([
      expect.objectContaining({ invariant: 'c' }),
    ]);
    expect(namesAStep("Version 3 failed its smoke tests, so alias 'prod' still serves 2")).toBe(
      true,
    );
    expect(checkRun({ ...base, expectRed: 'a bad version' })[0]?.invariant).toBe('c');
    expect(checkRun({ ...base, post: step({ exitCode: 1 }) }).map((v) => v.invariant)).toEqual([
      'c',
    ]);
  });

  it('(d) a secret visible in the masked log', () => {
    const leaky = step({ ...base.main, visibleLog: 'token s3cr3t-session-token' });
    expect(checkRun({ ...base, main: leaky }).map((v) => v.invariant)).toEqual(['d']);
  });

  it('(restore) a SIGTERMed run left split, or a post step that deployed again', () => {
    const split = { aliases: [alias('prod', '1', { '2': 0.2 })], versions: ['1', '2'] };
    expect(checkRun({ ...base, killed: true, after: split }).map((v) => v.invariant)).toEqual([
      'restore',
    ]);
    const redeploy = step({ outputs: { version: '3', 'smoke-result': 'passed' } });
    expect(checkRun({ ...base, post: redeploy }).map((v) => v.invariant)).toEqual(['restore']);
  });

  it('pairs: a lost update, a wrong-code version and an unclear failure', () => {
    const run = (version: string, sha: string, previous: string, at: number, ok = true) => ({
      main: step({
        exitCode: ok ? 0 : 1,
        outputs: { version, 'code-sha256': sha, 'smoke-result': 'passed' },
        annotations: ok ? [] : [{ level: 'error', message: 'ServiceException' }],
      }),
      passed: [version],
      published: [{ version, sha: version === '3' ? 'other' : sha }],
      aliasWrites: [
        { ...write(version), description: `lambda-ml-deploy: previous=${previous}`, landedAt: at },
      ],
    });
    const found = checkPair({
      alias: 'prod',
      before: base.before,
      after: { aliases: [alias('prod', '3')], versions: ['1', '2', '3'] },
      runs: [run('2', 'A', '1', 1), run('3', 'B', '1', 2, false)],
      secrets: [],
    });
    expect(found.map((v) => v.invariant).sort()).toEqual(['a', 'conflict', 'lost-update']);

    const sandboxFailure = run('2', 'A', '1', 1, false);
    sandboxFailure.main.annotations = [
      { level: 'error', message: 'smoke cases failed: error running docker: 404 Client Error' },
    ];
    const apart = checkPair({
      alias: 'prod',
      before: base.before,
      after: { aliases: [alias('prod', '1')], versions: ['1', '2'] },
      runs: [{ ...sandboxFailure, aliasWrites: [] }],
      secrets: [],
    });
    expect(apart.map((v) => v.invariant)).toEqual(['sandbox']);
  });
});
