/**
 * Cold starts, end to end: the sandbox's runtime reports Lambda's REPORT line (Init Duration, Max
 * Memory Used) in the log tail, the action reads it from the new version's first invocation and
 * judges it against the spec's cold-start budget. A handler whose import takes 2 s never reaches
 * `prod`; a healthy one passes and the summary compares it with the version `prod` serves.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GetAliasCommand, LambdaClient, ListTagsCommand } from '@aws-sdk/client-lambda';
import { runAction } from './helpers/run-action.js';
import {
  assertSandboxUp,
  awsConfig,
  loadSandbox,
  uniqueName,
  type Sandbox,
} from './helpers/sandbox.js';

const TIMEOUT = 300_000;
let sandbox: Sandbox;
let lambda: LambdaClient;
let root: string;

const HEALTHY = `def lambda_handler(event, context):
    return {"ok": True, "n": event.get("n", 0)}
`;
const SLOW = `import time

time.sleep(2)  # loading a model that takes 2 s at import

${HEALTHY}`;
const SPEC = `cold-start: {max-init-ms: 1000}
memory: {max-used-percent: 90}
cases:
  - name: answers
    event: {n: 1}
    expect: {payload: {ok: true, n: 1}}
  - name: answers again
    event: {n: 2}
    expect: {payload: {ok: true, n: 2}}
`;

beforeAll(async () => {
  sandbox = loadSandbox();
  await assertSandboxUp(sandbox);
  lambda = new LambdaClient(awsConfig(sandbox));
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'cold-start-ws-'));
  fs.mkdirSync(path.join(root, 'app'));
  fs.writeFileSync(path.join(root, 'smoke.yml'), SPEC);
});
afterAll(() => {
  lambda?.destroy();
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

function deploy(fn: string, handler: string) {
  fs.writeFileSync(path.join(root, 'app', 'lambda_function.py'), handler);
  return runAction({
    workspace: root,
    inputs: {
      'aws-region': sandbox.region,
      'role-to-assume': sandbox.deployRoleArn,
      'function-name': fn,
      's3-bucket': sandbox.bucket,
      'source-dir': 'app',
      runtime: sandbox.runtime,
      'create-function': 'true',
      'execution-role': sandbox.roleArn,
      'memory-size': '256',
      timeout: '30',
      'smoke-tests': 'smoke.yml',
    },
  });
}

async function prodVersion(fn: string): Promise<string | undefined> {
  const alias = await lambda.send(new GetAliasCommand({ FunctionName: fn, Name: 'prod' }));
  return alias.FunctionVersion;
}

describe('cold-start budget', () => {
  const fn = uniqueName('cold');

  it(
    'a healthy handler passes; its init duration and memory are reported and recorded',
    async () => {
      const run = await deploy(fn, HEALTHY);
      expect(run.exitCode).toBe(0);
      expect(run.outputs).toMatchObject({ version: '1', 'smoke-result': 'passed' });
      const coldStart = Number(run.outputs['cold-start-ms']);
      expect(coldStart).toBeGreaterThanOrEqual(0);
      expect(coldStart).toBeLessThan(1000);
      expect(Number(run.outputs['max-memory-mb'])).toBeGreaterThan(0);
      expect(run.summary).toMatch(/### Cold start\s+Version 1: cold start [\d.]+ ms\./);
      expect(run.summary).toMatch(/max memory used \d+ MB of 256 MB \(\d+%\)/);
      const tags = await lambda.send(
        new ListTagsCommand({ Resource: run.outputs['function-arn'] }),
      );
      expect(Math.round(Number(tags.Tags?.['lambda-ml-deploy:cold-start-ms:1']))).toBe(coldStart);
      expect(await prodVersion(fn)).toBe('1');
    },
    TIMEOUT,
  );

  it(
    'an import that takes 2 s fails max-init-ms 1000: prod stays, rolled-back=true, by how much',
    async () => {
      const run = await deploy(fn, SLOW);
      expect(run.exitCode).toBe(1);
      expect(run.outputs).toMatchObject({
        version: '2',
        'smoke-result': 'failed',
        'rolled-back': 'true',
      });
      expect(Number(run.outputs['cold-start-ms'])).toBeGreaterThanOrEqual(2000);
      expect(await prodVersion(fn)).toBe('1');
      const error = run.annotations.find((a) => a.level === 'error')?.message ?? '';
      expect(error).toMatch(/Version 2 failed its smoke tests, so alias 'prod' still serves/);
      expect(error).toMatch(
        /'cold-start budget' \(cold start \d\.\d s is over the budget of 1\.0 s/,
      );
      expect(run.summary).toMatch(/cold-start budget \| ❌ failed/);
      expect(run.summary).toMatch(/over the budget of 1\.0 s \(max-init-ms 1000\) by \d\.\d s/);
      // The cases themselves passed: only the budget failed the version.
      expect(run.summary).toMatch(/answers \| ✅ passed/);
    },
    TIMEOUT,
  );

  it(
    'the next healthy version passes and is compared with the version prod serves',
    async () => {
      const run = await deploy(fn, `${HEALTHY}\n# v3\n`);
      expect(run.exitCode).toBe(0);
      expect(run.outputs).toMatchObject({ version: '3', 'previous-version': '1' });
      expect(run.summary).toMatch(
        /Version 3: cold start [\d.]+ ms, was [\d.]+ ms on version 1 \([+-]\d+%\)\./,
      );
      expect(run.summary).toMatch(/max memory used \d+ MB of 256 MB/);
      expect(await prodVersion(fn)).toBe('3');
    },
    TIMEOUT,
  );
});
