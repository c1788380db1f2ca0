/**
 * Rollback from a workflow_dispatch event, end to end against the sandbox: after two deploys,
 * `rollback-to: previous` puts `prod` back on the first version (and `previous` again rolls
 * forward); a version whose smoke tests fail is never put in front of `prod`; a missing version
 * fails with a message naming the input; the version already served is a no-op; the smoke tests
 * run on the target version itself, whatever $LATEST holds.
 *
 * Needs `bash scripts/sandbox.sh up` and `npm run build`.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GetAliasCommand, LambdaClient, type GetAliasCommandOutput } from '@aws-sdk/client-lambda';
import { runAction, type ActionRun } from './helpers/run-action.js';
import { sharedIrisInputs } from './support/iris-workspace.js';
import { poisonLatest } from './support/latest-poison.js';
import {
  assertSandboxUp,
  awsConfig,
  loadSandbox,
  REPO_ROOT,
  uniqueName,
  type Sandbox,
} from './helpers/sandbox.js';

const TIMEOUT = 300_000;

let sandbox: Sandbox;
let lambda: LambdaClient;
let workspace: string;
const fn = uniqueName('e2e-rollback');

function baseInputs(): Record<string, string> {
  return { 'aws-region': sandbox.region, 'function-name': fn, 'smoke-tests': 'smoke-tests.yml' };
}

async function deploy(): Promise<ActionRun> {
  return runAction({
    workspace,
    event: { name: 'push' },
    inputs: sharedIrisInputs(sandbox, fn),
  });
}

async function rollback(to: string): Promise<ActionRun> {
  // As rollback.yml does it: the dispatch input `version` becomes `rollback-to`.
  return runAction({
    workspace,
    event: { name: 'workflow_dispatch', inputs: { version: to } },
    inputs: { ...baseInputs(), mode: 'rollback', 'rollback-to': to },
  });
}

const explain = (result: ActionRun) => `exit ${result.exitCode}\n${result.log.slice(-6000)}`;
const errorOf = (result: ActionRun) =>
  result.annotations.find((a) => a.level === 'error')?.message ?? '';

async function prod(): Promise<GetAliasCommandOutput> {
  return lambda.send(new GetAliasCommand({ FunctionName: fn, Name: 'prod' }));
}

function handler(): string {
  return path.join(workspace, 'lambda_function.py');
}

let first: string;
let second: string;

beforeAll(async () => {
  sandbox = loadSandbox();
  await assertSandboxUp(sandbox);
  lambda = new LambdaClient(awsConfig(sandbox));
  workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'lmd-e2e-rollback-'));
  fs.cpSync(path.join(REPO_ROOT, 'examples', 'iris'), workspace, { recursive: true });
  const one = await deploy();
  if (one.exitCode !== 0) throw new Error(`deploy 1 failed: ${explain(one)}`);
  fs.appendFileSync(handler(), '\n# second deploy\n');
  const two = await deploy();
  if (two.exitCode !== 0) throw new Error(`deploy 2 failed: ${explain(two)}`);
  first = one.outputs.version!;
  second = two.outputs.version!;
}, TIMEOUT);

afterAll(() => {
  lambda?.destroy();
  if (workspace) fs.rmSync(workspace, { recursive: true, force: true });
});

describe('rollback (workflow_dispatch)', () => {
  test(
    'previous after two deploys: prod back on the first version, smoke-tested first',
    async () => {
      expect((await prod()).FunctionVersion).toBe(second);
      const result = await rollback('previous');
      expect(result.exitCode).toBe(0);
      expect((await prod()).FunctionVersion).toBe(first);
      expect(result.outputs).toMatchObject({
        version: first,
        'previous-version': second,
        'smoke-result': 'passed',
        'rolled-back': 'false',
        changed: 'true',
      });
      expect(result.outputs['alias-arn']).toMatch(new RegExp(`:function:${fn}:prod$`));
      expect(result.summary).toContain(`Rollback: \`prod\` ${second} → ${first}`);
      expect(result.summary).toMatch(/\| virginica \| ✅ passed \| \d+ ms \|/);
      // The rollback recorded what it replaced.
      expect((await prod()).Description).toContain(`previous=${second}`);
    },
    TIMEOUT,
  );

  test(
    'previous again rolls forward',
    async () => {
      const result = await rollback('previous');
      expect(result.exitCode).toBe(0);
      expect((await prod()).FunctionVersion).toBe(second);
    },
    TIMEOUT,
  );

  test(
    'the version prod already serves: a notice, success, nothing moved',
    async () => {
      const before = await prod();
      const result = await rollback(second);
      expect(result.exitCode).toBe(0);
      expect(result.outputs.changed).toBe('false');
      expect(result.annotations).toContainEqual({
        level: 'notice',
        message: `Alias 'prod' already serves version ${second}: nothing to roll back.`,
      });
      expect((await prod()).RevisionId).toBe(before.RevisionId);
    },
    TIMEOUT,
  );

  test(
    'a version whose smoke tests fail: prod stays where it was and the step fails',
    async () => {
      // A deploy of a broken handler publishes a version that fails its smoke tests (and never goes live).
      const good = fs.readFileSync(handler(), 'utf8');
      const broken = good.replace(
        '"species": MODEL["classes"][int(np.argmax(probabilities))],',
        '"species": "broken",',
      );
      expect(broken).not.toBe(good);
      fs.writeFileSync(handler(), broken);
      let bad: string;
      try {
        const failed = await deploy();
        expect(failed.exitCode).toBe(1);
        bad = failed.outputs.version!;
        expect(bad).toBeTruthy();
      } finally {
        fs.writeFileSync(handler(), good);
      }
      const before = await prod();
      expect(before.FunctionVersion).toBe(second);

      const result = await rollback(bad);
      expect(result.exitCode).toBe(1);
      expect(result.outputs['smoke-result']).toBe('failed');
      expect(errorOf(result)).toMatch(
        new RegExp(
          `Version ${bad} failed its smoke tests, so alias 'prod' was not moved \\(still prod -> ${second}\\)`,
        ),
      );
      const after = await prod();
      expect({ version: after.FunctionVersion, revision: after.RevisionId }).toEqual({
        version: before.FunctionVersion,
        revision: before.RevisionId,
      });
    },
    TIMEOUT,
  );

  test(
    'a version that does not exist: a clear error naming rollback-to; prod untouched',
    async () => {
      const before = await prod();
      const result = await rollback('9999');
      expect(result.exitCode).toBe(1);
      expect(errorOf(result)).toMatch(
        new RegExp(`^Input 'rollback-to': version 9999 of function '${fn}' does not exist`),
      );
      expect(errorOf(result)).toContain('list-versions-by-function');
      expect((await prod()).RevisionId).toBe(before.RevisionId);
    },
    TIMEOUT,
  );

  test(
    'smoke tests run on the rollback target itself while $LATEST holds code that fails them',
    async () => {
      await poisonLatest(lambda, fn);
      expect((await prod()).FunctionVersion).toBe(second);
      const result = await rollback(first);
      expect({ exit: result.exitCode, error: errorOf(result) }).toEqual({ exit: 0, error: '' });
      expect(result.outputs).toMatchObject({ version: first, 'smoke-result': 'passed' });
      expect(result.summary).toMatch(/\| virginica \| ✅ passed \| \d+ ms \|/);
      expect((await prod()).FunctionVersion).toBe(first);
    },
    TIMEOUT,
  );

  test(
    'a value that is neither previous nor a number is refused before any AWS call',
    async () => {
      const result = await rollback('latest');
      expect(result.exitCode).toBe(1);
      expect(errorOf(result)).toContain(
        "Input 'rollback-to': must be `previous` or a published version number",
      );
    },
    TIMEOUT,
  );
});
