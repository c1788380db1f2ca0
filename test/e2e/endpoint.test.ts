/**
 * The HTTP endpoint of `alias` (url, api-gateway-source-arn, endpoint checks), end to end: the
 * built action against the sandbox, the iris model answering through its function URL.
 *
 * Needs `bash scripts/sandbox.sh up`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GetAliasCommand, GetPolicyCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { runAction, type ActionRun } from './helpers/run-action.js';
import {
  assertSandboxUp,
  awsConfig,
  loadSandbox,
  requestFunctionUrl,
  uniqueName,
  type Sandbox,
} from './helpers/sandbox.js';
import { requestFunctionUrl as signedRequest } from '../../src/aws/url-request.js';
import { startAwsRecorder } from './support/aws-recorder.js';
import { irisWorkspace, sharedIrisInputs } from './support/iris-workspace.js';

const TIMEOUT = 420_000;
const SPEC = 'endpoint-smoke.yml';
const STATEMENT = 'lambda-ml-deploy-apigw';
const ARN_A = 'arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/*/POST/predict';
const ARN_B = 'arn:aws:execute-api:us-east-1:123456789012:f6g7h8i9j0/prod/POST/predict';
const VERSICOLOR = { sl: 6.4, sw: 3.2, pl: 4.5, pw: 1.5 };

let sandbox: Sandbox;
let lambda: LambdaClient;
let recorder: Awaited<ReturnType<typeof startAwsRecorder>>;
let ws: ReturnType<typeof irisWorkspace>;
const fn = uniqueName('e2e-endpoint');

beforeAll(async () => {
  sandbox = loadSandbox();
  await assertSandboxUp(sandbox);
  lambda = new LambdaClient(awsConfig(sandbox));
  recorder = await startAwsRecorder(sandbox.endpoint);
  ws = irisWorkspace();
  fs.writeFileSync(
    path.join(ws.app, SPEC),
    [
      'defaults: {max-latency-ms: 120000, tolerance: 0.05}',
      'cases:',
      '  - name: virginica',
      '    event: {sl: 6.9, sw: 3.1, pl: 5.4, pw: 2.1}',
      '    expect: {payload: {species: virginica}}',
      '  - name: http predict',
      `    http: {method: POST, path: /predict, body: ${JSON.stringify(VERSICOLOR)}}`,
      '    expect: {status: 200, body: {species: versicolor}}',
      'endpoint:',
      '  - name: predict through the URL',
      `    http: {method: POST, path: /predict, body: ${JSON.stringify(VERSICOLOR)}}`,
      '    expect: {status: 200, body: {species: versicolor, probabilities: {versicolor: 0.77}}}',
      '',
    ].join('\n'),
  );
});
afterAll(async () => {
  await recorder?.close();
  lambda?.destroy();
  ws?.cleanup();
});

const deploy = (extra: Record<string, string> = {}): Promise<ActionRun> =>
  runAction({
    inputs: sharedIrisInputs(sandbox, fn, { 'smoke-tests': SPEC, url: 'true', ...extra }),
    workspace: ws.app,
    env: { AWS_ENDPOINT_URL: recorder.url },
  });

function explain(run: ActionRun): string {
  return `exit ${run.exitCode}\n${run.log.slice(-5000)}`;
}

/** Our statements on prod's policy, read back with GetPolicy: [sid, source ARN] each. */
async function apiGatewayStatements(): Promise<Array<[string, string]>> {
  const { Policy } = await lambda.send(
    new GetPolicyCommand({ FunctionName: fn, Qualifier: 'prod' }),
  );
  const statements = (
    JSON.parse(Policy!) as {
      Statement: Array<{ Sid: string; Condition?: { ArnLike?: Record<string, string> } }>;
    }
  ).Statement;
  return statements
    .filter((s) => s.Sid === STATEMENT)
    .map((s) => [s.Sid, s.Condition?.ArnLike?.['AWS:SourceArn'] ?? '']);
}

const prodVersion = async () =>
  (await lambda.send(new GetAliasCommand({ FunctionName: fn, Name: 'prod' }))).FunctionVersion;

const WRITES = [
  'CreateFunctionUrlConfig',
  'UpdateFunctionUrlConfig',
  'DeleteFunctionUrlConfig',
  'AddPermission',
  'RemovePermission',
];

describe('url: true and api-gateway-source-arn on prod', () => {
  let url = '';

  it(
    'gives prod a URL that answers with the model, checked after the shift',
    async () => {
      const run = await deploy({ 'api-gateway-source-arn': ARN_A });
      if (run.exitCode !== 0) throw new Error(explain(run));
      url = run.outputs.url ?? '';
      expect(url).toMatch(/^https:\/\/[a-z0-9]+\.lambda-url\.us-east-1\.on\.aws\/$/);
      expect(run.log).toContain('PASS predict through the URL');
      expect(run.summary).toContain('Endpoint checks');
      expect(run.summary).toContain('curl --aws-sigv4');

      const request = {
        url,
        method: 'POST',
        path: '/predict',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(VERSICOLOR),
      };
      // url-auth AWS_IAM: unsigned is refused, signed (SigV4, service lambda) answers.
      expect((await requestFunctionUrl(sandbox, url, request)).status).toBe(403);
      const answer = await signedRequest(request, {
        endpoint: sandbox.endpoint,
        timeoutMs: 120_000,
        sign: { region: sandbox.region, credentials: awsConfig(sandbox).credentials },
      });
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.body)).toMatchObject({ species: 'versicolor', model: '2.0.0' });
      expect(await apiGatewayStatements()).toEqual([[STATEMENT, ARN_A]]);
    },
    TIMEOUT,
  );

  it(
    'a second run with the same inputs writes no URL config and no permission',
    async () => {
      recorder.reset();
      const run = await deploy({ 'api-gateway-source-arn': ARN_A });
      expect({ exit: run.exitCode, changed: run.outputs.changed }).toEqual({
        exit: 0,
        changed: 'false',
      });
      expect(run.outputs.url).toBe(url);
      const ops = recorder.calls.map((c) => c.operation);
      expect(ops).toContain('GetFunctionUrlConfig');
      expect(ops).toContain('GetPolicy');
      expect(ops.filter((op) => WRITES.includes(op))).toEqual([]);
      expect(await apiGatewayStatements()).toEqual([[STATEMENT, ARN_A]]);
    },
    TIMEOUT,
  );

  it(
    'a changed source ARN replaces the statement: still exactly one',
    async () => {
      recorder.reset();
      const run = await deploy({ 'api-gateway-source-arn': ARN_B });
      if (run.exitCode !== 0) throw new Error(explain(run));
      const ops = recorder.calls.map((c) => c.operation);
      expect(ops.filter((op) => WRITES.includes(op))).toEqual([
        'RemovePermission',
        'AddPermission',
      ]);
      expect(await apiGatewayStatements()).toEqual([[STATEMENT, ARN_B]]);
    },
    TIMEOUT,
  );

  it(
    'an endpoint check that fails after the shift puts prod back and names the case',
    async () => {
      const served = await prodVersion();
      // Answers direct invokes and API Gateway (v1) events, breaks on the URL's 2.0 events.
      fs.appendFileSync(
        path.join(ws.app, 'lambda_function.py'),
        [
          '',
          '_answer = lambda_handler',
          '',
          '',
          'def lambda_handler(event, context):',
          '    if isinstance(event, dict) and event.get("version") == "2.0":',
          '        raise KeyError("httpMethod")',
          '    return _answer(event, context)',
          '',
        ].join('\n'),
      );
      const run = await deploy({ 'api-gateway-source-arn': ARN_B });
      expect(run.exitCode).not.toBe(0);
      expect(run.outputs['rolled-back']).toBe('true');
      expect(run.outputs.version).not.toBe(served);
      const error = run.annotations.find((a) => a.level === 'error')?.message ?? '';
      expect(error).toContain("endpoint case 'predict through the URL' failed");
      expect(await prodVersion()).toBe(served);
      expect(run.log).toContain('PASS http predict');
    },
    TIMEOUT,
  );
});
