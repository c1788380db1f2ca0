/**
 * Release, end to end (issue: release): publish, smoke-test the new version with the real handler
 * running in the runtime container, shift `prod` all at once or by canary, and roll back on any
 * failure, including a main step killed mid-canary whose post step restores the alias. The bake
 * re-invokes the new version itself: $LATEST changed to failing code mid-bake does not fail it.
 */
import * as fs from 'node:fs';
import {
  CloudWatchClient,
  DeleteAlarmsCommand,
  PutMetricAlarmCommand,
  SetAlarmStateCommand,
} from '@aws-sdk/client-cloudwatch';
import {
  GetAliasCommand,
  InvokeCommand,
  LambdaClient,
  ListVersionsByFunctionCommand,
} from '@aws-sdk/client-lambda';
import { runAction, runPost, startAction } from './helpers/run-action.js';
import {
  assertSandboxUp,
  awsConfig,
  loadSandbox,
  uniqueName,
  type Sandbox,
} from './helpers/sandbox.js';
import {
  irisInputs,
  irisWorkspace,
  SHARED_IRIS_LAYER,
  touchHandler,
} from './support/iris-workspace.js';
import { poisonLatest } from './support/latest-poison.js';

const TIMEOUT = 300_000;
let sandbox: Sandbox;
let lambda: LambdaClient;
let cloudwatch: CloudWatchClient;
let ws: ReturnType<typeof irisWorkspace>;

beforeAll(async () => {
  sandbox = loadSandbox();
  await assertSandboxUp(sandbox);
  lambda = new LambdaClient(awsConfig(sandbox));
  cloudwatch = new CloudWatchClient(awsConfig(sandbox));
  ws = irisWorkspace();
  fs.copyFileSync(ws.handler, `${ws.app}/lambda_function.py.orig`);
});
afterAll(() => {
  lambda?.destroy();
  cloudwatch?.destroy();
  ws?.cleanup();
});

const original = () => fs.readFileSync(`${ws.app}/lambda_function.py.orig`, 'utf8');
beforeEach(() => fs.writeFileSync(ws.handler, original()));

const inputs = (fn: string, extra: Record<string, string | undefined> = {}) =>
  irisInputs(sandbox, fn, { exclude: '*.orig', 'layer-name': SHARED_IRIS_LAYER, ...extra });
const deploy = (fn: string, extra: Record<string, string | undefined> = {}) =>
  runAction({ inputs: inputs(fn, extra), workspace: ws.root });

async function prod(fn: string) {
  const alias = await lambda.send(new GetAliasCommand({ FunctionName: fn, Name: 'prod' }));
  return {
    version: alias.FunctionVersion,
    weights: alias.RoutingConfig?.AdditionalVersionWeights ?? {},
    description: alias.Description,
  };
}

async function versions(fn: string) {
  const page = await lambda.send(new ListVersionsByFunctionCommand({ FunctionName: fn }));
  return (page.Versions ?? []).map((v) => v.Version);
}

function errorOf(run: { annotations: Array<{ level: string; message: string }> }): string {
  return run.annotations.find((a) => a.level === 'error')?.message ?? '';
}

describe('all-at-once', () => {
  const fn = uniqueName('iris-rel');

  it(
    'first deploy with create-function on a missing function: creates it and prod',
    async () => {
      const run = await deploy(fn);
      expect(run.exitCode).toBe(0);
      expect(run.outputs).toMatchObject({
        version: '1',
        'smoke-result': 'passed',
        'rolled-back': 'false',
        changed: 'true',
      });
      expect(run.outputs['previous-version']).toBeUndefined();
      expect(await prod(fn)).toMatchObject({ version: '1', weights: {} });
      expect(run.summary).toMatch(/\| prod \| \(none\) \| prod -> 1 \|/);
    },
    TIMEOUT,
  );

  it(
    'a good model moves prod to the new version',
    async () => {
      touchHandler(ws.handler, 'v2');
      const run = await deploy(fn);
      expect(run.exitCode).toBe(0);
      expect(run.outputs).toMatchObject({
        version: '2',
        'previous-version': '1',
        'smoke-result': 'passed',
        'rolled-back': 'false',
      });
      expect(run.outputs['alias-arn']).toMatch(new RegExp(`:function:${fn}:prod$`));
      expect(await prod(fn)).toMatchObject({ version: '2', weights: {} });
      // The previous version is recorded for rollback mode.
      expect((await prod(fn)).description).toMatch(/lambda-ml-deploy: previous=1/);
      expect(run.summary).toMatch(/virginica \| ✅ passed/);
    },
    TIMEOUT,
  );

  it(
    'a handler that fails to import: smoke fails, prod stays, rolled-back=true, exit 1',
    async () => {
      fs.writeFileSync(ws.handler, `import numpy_that_is_not_installed\n${original()}`);
      const run = await deploy(fn);
      expect(run.exitCode).toBe(1);
      expect(run.outputs).toMatchObject({
        version: '3',
        'smoke-result': 'failed',
        'rolled-back': 'true',
      });
      expect(await prod(fn)).toMatchObject({ version: '2', weights: {} });
      expect(errorOf(run)).toMatch(
        /Version 3 failed its smoke tests, so alias 'prod' still serves prod -> 2/,
      );
      expect(errorOf(run)).toMatch(/'virginica' \(function error/);
      expect(run.summary).toMatch(/virginica \| ❌ failed/);
      expect(run.summary).toMatch(/numpy_that_is_not_installed/);
    },
    TIMEOUT,
  );

  it(
    'a wrong prediction: smoke fails naming the case, prod stays',
    async () => {
      fs.writeFileSync(
        ws.handler,
        original().replace(
          '"species": MODEL["classes"][int(np.argmax(probabilities))]',
          '"species": "setosa"',
        ),
      );
      const run = await deploy(fn);
      expect(run.exitCode).toBe(1);
      expect(run.outputs).toMatchObject({ 'smoke-result': 'failed', 'rolled-back': 'true' });
      expect(await prod(fn)).toMatchObject({ version: '2', weights: {} });
      expect(errorOf(run)).toMatch(/'virginica'/);
      expect(errorOf(run)).not.toMatch(/'setosa'/);
      expect(run.summary).toMatch(/\$\.species: expected "virginica", got "setosa"/);
    },
    TIMEOUT,
  );

  it(
    'the main step killed before it saved any state: the post step deploys nothing',
    async () => {
      const before = await prod(fn);
      const versionsBefore = await versions(fn);
      touchHandler(ws.handler, 'killed at start');
      // A job cancelled while the action starts: SIGTERM before the step ran any code.
      const step = startAction({ inputs: inputs(fn), workspace: ws.root });
      step.kill('SIGTERM');
      const main = await step.done;
      expect(main.signal).toBe('SIGTERM');
      expect(main.state).toEqual({});

      const post = await runPost(main);
      expect({ exit: post.exitCode, error: errorOf(post) }).toEqual({ exit: 0, error: '' });
      expect(post.log).toMatch(/Nothing to undo/);
      expect(post.outputs).toEqual({});
      expect(await prod(fn)).toEqual(before);
      expect(await versions(fn)).toEqual(versionsBefore);
    },
    TIMEOUT,
  );
});

describe('canary', () => {
  const fn = uniqueName('iris-canary');
  const alarm = `${fn}-errors`;

  beforeAll(async () => {
    fs.writeFileSync(ws.handler, original());
    const first = await deploy(fn);
    expect(first.exitCode).toBe(0);
    await cloudwatch.send(
      new PutMetricAlarmCommand({
        AlarmName: alarm,
        MetricName: 'Errors',
        Namespace: 'AWS/Lambda',
        Statistic: 'Sum',
        Period: 60,
        EvaluationPeriods: 1,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        Dimensions: [{ Name: 'FunctionName', Value: fn }],
      }),
    );
    await cloudwatch.send(
      new SetAlarmStateCommand({ AlarmName: alarm, StateValue: 'OK', StateReason: 'healthy' }),
    );
  }, TIMEOUT);
  afterAll(async () => {
    await cloudwatch.send(new DeleteAlarmsCommand({ AlarmNames: [alarm] }));
  });

  const canary = {
    strategy: 'canary',
    'canary-percent': '20',
    'canary-interval': '6s',
    alarms: `${fn}-errors`,
  };

  it(
    'an alarm in ALARM during the bake puts prod back on the old version with no weights',
    async () => {
      touchHandler(ws.handler, 'canary bad');
      const step = startAction({ inputs: inputs(fn, canary), workspace: ws.root });
      await step.waitForLog(/Step 1\/2: prod -> 1 \(80%\) \+ 2 \(20%\)/, 240_000);
      expect(await prod(fn)).toMatchObject({ version: '1', weights: { '2': 0.2 } });
      await cloudwatch.send(
        new SetAlarmStateCommand({
          AlarmName: alarm,
          StateValue: 'ALARM',
          StateReason: 'Errors >= 1 on the canary',
        }),
      );
      const run = await step.done;
      await cloudwatch.send(
        new SetAlarmStateCommand({ AlarmName: alarm, StateValue: 'OK', StateReason: 'healthy' }),
      );
      expect(run.exitCode).toBe(1);
      expect(run.outputs['rolled-back']).toBe('true');
      expect(await prod(fn)).toMatchObject({ version: '1', weights: {} });
      expect(errorOf(run)).toMatch(
        new RegExp(`alarm ${alarm} in ALARM: Errors >= 1 on the canary`),
      );
      expect(run.summary).toMatch(/Rollback/);
    },
    TIMEOUT,
  );

  it(
    'a canary with healthy alarms ends at 100% on the new version',
    async () => {
      touchHandler(ws.handler, 'canary good');
      const run = await deploy(fn, canary);
      expect(run.exitCode).toBe(0);
      expect(run.outputs).toMatchObject({
        'rolled-back': 'false',
        'smoke-result': 'passed',
        'previous-version': '1',
      });
      const version = run.outputs.version!;
      expect(await prod(fn)).toMatchObject({ version, weights: {} });
      expect(run.log).toMatch(new RegExp(`Step 1/2: prod -> 1 \\(80%\\) \\+ ${version} \\(20%\\)`));
      expect(run.log).toMatch(new RegExp(`Step 2/2: prod -> ${version}`));
    },
    TIMEOUT,
  );

  it(
    "the bake's re-invocations reach the new version, not $LATEST",
    async () => {
      touchHandler(ws.handler, 'canary re-invoked');
      const step = startAction({
        inputs: inputs(fn, { ...canary, 'canary-interval': '30s' }),
        workspace: ws.root,
      });
      await step.waitForLog(/Step 1\/2: prod -> /, 240_000);
      // From here on $LATEST fails every smoke case: only re-invocations of the new version pass.
      await poisonLatest(lambda, fn);
      const run = await step.done;
      expect({ exit: run.exitCode, error: errorOf(run) }).toEqual({ exit: 0, error: '' });
      const checks = Number(/bake passed \((\d+) checks?\)/.exec(run.log)?.[1] ?? 0);
      expect(checks).toBeGreaterThanOrEqual(2); // at least one check ran after $LATEST changed
      const version = run.outputs.version!;
      expect(await prod(fn)).toMatchObject({ version, weights: {} });
      const answer = await lambda.send(
        new InvokeCommand({
          FunctionName: fn,
          Qualifier: 'prod',
          Payload: Buffer.from(JSON.stringify({ sl: 6.9, sw: 3.1, pl: 5.4, pw: 2.1 })),
        }),
      );
      expect(answer.ExecutedVersion).toBe(version);
      expect(JSON.parse(Buffer.from(answer.Payload!).toString())).toMatchObject({
        species: 'virginica',
      });
    },
    TIMEOUT,
  );

  it(
    'the main step killed mid-canary: the post step restores the alias',
    async () => {
      const before = (await prod(fn)).version!;
      touchHandler(ws.handler, 'canary killed');
      const step = startAction({
        inputs: inputs(fn, { ...canary, 'canary-interval': '60s' }),
        workspace: ws.root,
        killOn: { pattern: /Step 1\/2: prod -> / },
      });
      const main = await step.done;
      expect(main.signal).toBe('SIGTERM');
      const newVersion = main.outputs.version!;
      expect(await prod(fn)).toMatchObject({ version: before, weights: { [newVersion]: 0.2 } });

      // A corrupt saved state fails the post step, showing the split, and writes nothing.
      const corrupt = await runPost({ ...main, state: { ...main.state, 'alias-shift': '{"x' } });
      expect(corrupt.exitCode).toBe(1);
      expect(errorOf(corrupt)).toMatch(
        new RegExp(
          `unreadable.*now routes: prod -> ${before} \\(80%\\) \\+ ${newVersion} \\(20%\\)`,
        ),
      );
      expect(await prod(fn)).toMatchObject({ version: before, weights: { [newVersion]: 0.2 } });

      // A later step removed source-dir: the restore needs only the saved state.
      fs.renameSync(ws.app, `${ws.app}.moved`);
      let post;
      try {
        post = await runPost(main);
      } finally {
        fs.renameSync(`${ws.app}.moved`, ws.app);
      }
      expect(post.exitCode).toBe(0);
      expect(post.log).toMatch(/stopped during a traffic shift/);
      expect(await prod(fn)).toMatchObject({ version: before, weights: {} });

      // Running the post step again is harmless: the alias is already as it was.
      const again = await runPost(main);
      expect(again.exitCode).toBe(0);
      expect(await prod(fn)).toMatchObject({ version: before, weights: {} });
    },
    TIMEOUT,
  );
});
