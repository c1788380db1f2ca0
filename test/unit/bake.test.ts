import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import {
  CreateAliasCommand,
  DeleteAliasCommand,
  GetAliasCommand,
  LambdaClient,
  PreconditionFailedException,
  ResourceNotFoundException,
  UpdateAliasCommand,
  type UpdateAliasCommandInput,
} from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { memoryLogger, type Clock } from '../../src/log.js';
import { alarmsInAlarm } from '../../src/release/traffic/alarms.js';
import { AliasConflictError, readAlias } from '../../src/release/traffic/alias.js';
import { parseAliasDescription, planTraffic } from '../../src/release/traffic/alias-plan.js';
import {
  bake,
  shiftTraffic,
  type ShiftEvent,
  type ShiftOptions,
} from '../../src/release/traffic/bake.js';
import { fakeClock } from './support/fake-clock.js';

const lambdaMock = mockClient(LambdaClient);
const cwMock = mockClient(CloudWatchClient);
const lambda = new LambdaClient({ region: 'us-east-1' });
const cloudwatch = new CloudWatchClient({ region: 'us-east-1' });
const meta = (status: number) => ({ $metadata: { httpStatusCode: status } });
const noSleep = async () => undefined;
const accessDenied = (message: string) =>
  Object.assign(new Error(message), { name: 'AccessDeniedException', ...meta(403) });

interface FakeAlias {
  version: string;
  weights: Record<string, number>;
  description: string;
  revision: number;
}

/** An in-memory alias behind the Lambda mock that enforces RevisionId like the service does. */
function fakeLambdaAlias(initial?: Omit<FakeAlias, 'revision'>) {
  const store: {
    alias?: FakeAlias;
    writes: Array<{ version: string; weights: Record<string, number>; revisionSent?: string }>;
  } = {
    writes: [],
  };
  if (initial) store.alias = { ...initial, revision: 1 };
  const config = () => ({
    Name: 'prod',
    AliasArn: 'arn:aws:lambda:us-east-1:123456789012:function:iris:prod',
    FunctionVersion: store.alias!.version,
    Description: store.alias!.description,
    RevisionId: `r${store.alias!.revision}`,
    ...(Object.keys(store.alias!.weights).length
      ? { RoutingConfig: { AdditionalVersionWeights: store.alias!.weights } }
      : {}),
  });
  lambdaMock.on(GetAliasCommand).callsFake(() => {
    if (!store.alias)
      throw new ResourceNotFoundException({
        message: 'Cannot find alias arn: ...:prod',
        ...meta(404),
      });
    return config();
  });
  lambdaMock.on(UpdateAliasCommand).callsFake((input: UpdateAliasCommandInput) => {
    if (!store.alias)
      throw new ResourceNotFoundException({
        message: 'Cannot find alias arn: ...:prod',
        ...meta(404),
      });
    if (input.RevisionId !== `r${store.alias.revision}`)
      throw new PreconditionFailedException({ message: 'revision mismatch', ...meta(412) });
    store.alias = {
      version: input.FunctionVersion ?? store.alias.version,
      weights: input.RoutingConfig
        ? { ...(input.RoutingConfig.AdditionalVersionWeights ?? {}) }
        : store.alias.weights,
      description: input.Description ?? store.alias.description,
      revision: store.alias.revision + 1,
    };
    store.writes.push({
      version: store.alias.version,
      weights: store.alias.weights,
      revisionSent: input.RevisionId!,
    });
    return config();
  });
  lambdaMock.on(CreateAliasCommand).callsFake((input) => {
    store.alias = {
      version: input.FunctionVersion,
      weights: {},
      description: input.Description ?? '',
      revision: 1,
    };
    store.writes.push({ version: input.FunctionVersion, weights: {} });
    return config();
  });
  lambdaMock.on(DeleteAliasCommand).callsFake(() => {
    delete store.alias;
    return {};
  });
  return store;
}

beforeEach(() => {
  lambdaMock.reset();
  cwMock.reset();
});

async function shiftOptions(
  over: Partial<ShiftOptions> & { clock?: Clock; events?: ShiftEvent[] } = {},
): Promise<ShiftOptions> {
  const { clock = fakeClock(), events = [], ...rest } = over;
  const snapshot = await readAlias(lambda, 'iris', 'prod', { sleep: noSleep });
  return {
    plan: planTraffic({ strategy: 'canary', canaryPercent: 10, intervalMs: 60_000 }),
    lambda,
    functionName: 'iris',
    alias: 'prod',
    newVersion: '13',
    snapshot,
    commitSha: 'abc1234',
    bake: { pollMs: 10_000, clock },
    onStep: (event) => void events.push(event),
    logger: memoryLogger(),
    aliasOptions: { sleep: noSleep },
    ...rest,
  };
}

describe('shiftTraffic', () => {
  test('canary: an alarm that flips to ALARM on the 2nd poll rolls back to the old version with no weights', async () => {
    const store = fakeLambdaAlias({ version: '12', weights: {}, description: 'Production' });
    cwMock
      .on(DescribeAlarmsCommand)
      .resolvesOnce({
        MetricAlarms: [{ AlarmName: 'iris-errors', StateValue: 'OK', StateReason: 'fine' }],
      })
      .resolves({
        MetricAlarms: [
          {
            AlarmName: 'iris-errors',
            StateValue: 'ALARM',
            StateReason: 'Threshold Crossed: 3 errors',
          },
        ],
      });
    const clock = fakeClock();
    const events: ShiftEvent[] = [];
    const options = await shiftOptions({ clock, events });
    options.bake.checkAlarms = () => alarmsInAlarm(cloudwatch, ['iris-errors'], { sleep: noSleep });

    const result = await shiftTraffic(options);

    expect(result.rolledBack).toBe(true);
    if (!result.rolledBack) throw new Error('unreachable');
    expect(result.reason).toBe(
      'alarm iris-errors in ALARM: Threshold Crossed: 3 errors (bake after 10%)',
    );
    expect(cwMock.commandCalls(DescribeAlarmsCommand)).toHaveLength(2);
    expect(clock.slept).toEqual([10_000]);
    expect(store.writes.map((w) => [w.version, w.weights])).toEqual([
      ['12', { '13': 0.1 }],
      ['12', {}],
    ]);
    expect(store.alias).toMatchObject({ version: '12', weights: {}, description: 'Production' });
    expect(events.map((e) => `${e.phase}@${e.percent}`)).toEqual([
      'shifting@10',
      'shifted@10',
      'rolling-back@10',
      'rolled-back@10',
    ]);
    expect(
      lambdaMock
        .commandCalls(UpdateAliasCommand)
        .some(
          (c) =>
            c.args[0].input.FunctionVersion === '13' &&
            !c.args[0].input.RoutingConfig?.AdditionalVersionWeights?.['13'],
        ),
    ).toBe(false);
  });

  test('canary with healthy alarms bakes for the whole interval and ends at 100% on the new version, no weights', async () => {
    const store = fakeLambdaAlias({ version: '12', weights: {}, description: 'Production' });
    cwMock
      .on(DescribeAlarmsCommand)
      .resolves({ MetricAlarms: [{ AlarmName: 'iris-errors', StateValue: 'OK' }] });
    const clock = fakeClock();
    const options = await shiftOptions({ clock });
    options.bake.checkAlarms = () => alarmsInAlarm(cloudwatch, ['iris-errors'], { sleep: noSleep });

    const result = await shiftTraffic(options);

    expect(result).toMatchObject({
      rolledBack: false,
      changed: true,
      state: { functionVersion: '13', weights: {} },
    });
    expect(store.alias).toMatchObject({ version: '13', weights: {} });
    expect(clock.slept.reduce((a, b) => a + b, 0)).toBe(60_000);
    expect(cwMock.commandCalls(DescribeAlarmsCommand)).toHaveLength(7); // t = 0, 10 s, ..., 60 s
    const last = lambdaMock.commandCalls(UpdateAliasCommand).at(-1)!.args[0].input;
    expect(last.FunctionVersion).toBe('13');
    expect(last.RoutingConfig).toEqual({ AdditionalVersionWeights: {} });
    expect(parseAliasDescription(store.alias!.description)).toEqual({
      previous: '12',
      sha: 'abc1234',
      extra: {},
    });
    expect(store.alias!.description.startsWith('Production | ')).toBe(true);
  });

  test('every UpdateAlias carries the RevisionId read just before it', async () => {
    const store = fakeLambdaAlias({ version: '12', weights: {}, description: '' });
    const options = await shiftOptions({
      plan: planTraffic({ strategy: 'linear', linearSteps: 4, intervalMs: 1000 }),
    });
    await shiftTraffic(options);
    expect(store.writes.map((w) => [w.revisionSent, w.version, w.weights])).toEqual([
      ['r1', '12', { '13': 0.25 }],
      ['r2', '12', { '13': 0.5 }],
      ['r3', '12', { '13': 0.75 }],
      ['r4', '13', {}],
    ]);
    expect(lambdaMock.commandCalls(GetAliasCommand)).toHaveLength(1 + 4); // snapshot + one read per step
  });

  test('a smoke case failing during the bake rolls back and names the case', async () => {
    const store = fakeLambdaAlias({ version: '12', weights: {}, description: '' });
    let runs = 0;
    const options = await shiftOptions();
    options.bake.reinvoke = async () => {
      runs++;
      const ok = runs < 3;
      return {
        passed: ok,
        results: [
          { name: 'http predict', passed: ok, reasons: ok ? [] : ['status 500, expected 200'] },
        ],
      };
    };
    const result = await shiftTraffic(options);
    expect(result).toMatchObject({
      rolledBack: true,
      reason:
        'smoke case http predict failed during bake: status 500, expected 200 (bake after 10%)',
    });
    expect(store.alias).toMatchObject({ version: '12', weights: {} });
  });

  test('all-at-once points straight at the new version without baking', async () => {
    const store = fakeLambdaAlias({ version: '12', weights: {}, description: '' });
    const clock = fakeClock();
    const checkAlarms = async () => {
      throw new Error('should not be polled');
    };
    const options = await shiftOptions({ clock, plan: planTraffic({ strategy: 'all-at-once' }) });
    options.bake.checkAlarms = checkAlarms;
    expect(await shiftTraffic(options)).toMatchObject({ rolledBack: false, changed: true });
    expect(store.writes).toEqual([{ version: '13', weights: {}, revisionSent: 'r1' }]);
    expect(clock.slept).toEqual([]);
  });

  test('first deploy: the alias is created at the new version (nothing to shift from)', async () => {
    const store = fakeLambdaAlias();
    const events: ShiftEvent[] = [];
    const options = await shiftOptions({ events });
    expect(options.snapshot.exists).toBe(false);
    const result = await shiftTraffic(options);
    expect(result).toMatchObject({
      rolledBack: false,
      changed: true,
      state: { functionVersion: '13' },
    });
    expect(store.alias).toMatchObject({
      version: '13',
      weights: {},
      description: 'lambda-ml-deploy: previous=none sha=abc1234',
    });
    expect(events.map((e) => e.phase)).toEqual(['shifting', 'shifted']);
  });

  test('an alias already on the new version is left alone', async () => {
    const store = fakeLambdaAlias({ version: '13', weights: {}, description: '' });
    const result = await shiftTraffic(await shiftOptions());
    expect(result).toMatchObject({ rolledBack: false, changed: false });
    expect(store.writes).toEqual([]);
  });

  test('another run moving the alias during the bake is a conflict: reported, not overwritten, not restored', async () => {
    const store = fakeLambdaAlias({ version: '12', weights: {}, description: '' });
    const options = await shiftOptions();
    options.bake.checkAlarms = async () => {
      // someone else promotes their own version while we bake
      store.alias = {
        version: '14',
        weights: {},
        description: 'other run',
        revision: store.alias!.revision + 1,
      };
      return [];
    };
    const attempt = shiftTraffic(options);
    await expect(attempt).rejects.toBeInstanceOf(AliasConflictError);
    await expect(attempt).rejects.toThrow(
      /expected 'prod -> 12 \(90%\) \+ 13 \(10%\)' before step 2 \(100%\), found 'prod -> 14'/,
    );
    expect(store.alias).toMatchObject({ version: '14', description: 'other run' });
  });

  test('an error in a step (after retries) rolls back and says which step', async () => {
    const store = fakeLambdaAlias({ version: '12', weights: {}, description: '' });
    const options = await shiftOptions();
    let updates = 0;
    lambdaMock.on(UpdateAliasCommand).callsFake((input: UpdateAliasCommandInput) => {
      updates++;
      if (updates === 2) throw accessDenied('not authorized to perform lambda:UpdateAlias');
      store.alias = {
        version: input.FunctionVersion!,
        weights: { ...(input.RoutingConfig?.AdditionalVersionWeights ?? {}) },
        description: input.Description ?? '',
        revision: store.alias!.revision + 1,
      };
      return {
        FunctionVersion: store.alias.version,
        RevisionId: `r${store.alias.revision}`,
        RoutingConfig: { AdditionalVersionWeights: store.alias.weights },
      };
    });
    const result = await shiftTraffic(options);
    expect(result).toMatchObject({ rolledBack: true });
    if (!result.rolledBack) throw new Error('unreachable');
    expect(result.reason).toMatch(/^step 2 \(100%\) failed: AccessDeniedException: not authorized/);
    expect(store.alias).toMatchObject({ version: '12', weights: {} });
    expect(result.restore.action).toBe('restored');
  });

  test('a failure of the restore itself is loud and says the alias may still route to the new version', async () => {
    fakeLambdaAlias({ version: '12', weights: {}, description: '' });
    const options = await shiftOptions();
    options.bake.checkAlarms = async () => {
      lambdaMock.on(UpdateAliasCommand).rejects(accessDenied('denied'));
      return [{ name: 'errors', reason: 'boom' }];
    };
    await expect(shiftTraffic(options)).rejects.toThrow(
      /alarm errors in ALARM: boom \(bake after 10%\); then restoring alias 'prod' to 'prod -> 12' failed: .*denied.*may still send traffic to version 13/,
    );
  });
});

describe('bake', () => {
  test('polls at start, every pollMs and at the end; never sleeps past the duration', async () => {
    const clock = fakeClock();
    let polls = 0;
    const outcome = await bake({
      durationMs: 25_000,
      pollMs: 10_000,
      clock,
      checkAlarms: async () => (polls++, []),
    });
    expect(outcome).toEqual({ failed: false, polls: 4 });
    expect(polls).toBe(4);
    expect(clock.slept).toEqual([10_000, 10_000, 5_000]);
  });

  test('stops at the first failing poll', async () => {
    const clock = fakeClock();
    let polls = 0;
    const outcome = await bake({
      durationMs: 60_000,
      pollMs: 10_000,
      clock,
      checkAlarms: async () =>
        ++polls === 2 ? [{ name: 'p99', reason: 'Threshold Crossed' }] : [],
    });
    expect(outcome).toEqual({
      failed: true,
      reason: 'alarm p99 in ALARM: Threshold Crossed',
      polls: 2,
    });
    expect(clock.slept).toEqual([10_000]);
  });

  test('an alarm read that fails is a failed bake (the safe side)', async () => {
    const outcome = await bake({
      durationMs: 1,
      pollMs: 1,
      clock: fakeClock(),
      checkAlarms: async () => Promise.reject(new Error('AccessDenied')),
    });
    expect(outcome).toMatchObject({
      failed: true,
      reason: 'could not read the watched alarms: AccessDenied',
    });
  });

  test('re-invocation errors fail the bake too', async () => {
    const outcome = await bake({
      durationMs: 1,
      pollMs: 1,
      clock: fakeClock(),
      reinvoke: async () => Promise.reject(new Error('throttled')),
    });
    expect(outcome).toMatchObject({
      failed: true,
      reason: 're-running the smoke cases failed: throttled',
    });
  });

  test('an alarm that fires while the smoke cases are re-run is seen before the bake passes', async () => {
    // Re-running the cases outlasts the window (cold starts of a big model): the alarm state read
    // before them is stale by the time the window is over.
    const clock = fakeClock();
    let firing = false;
    const outcome = await bake({
      durationMs: 6_000,
      pollMs: 1_200,
      clock,
      checkAlarms: async () => (firing ? [{ name: 'errors', reason: 'Errors >= 1' }] : []),
      reinvoke: async () => {
        await clock.sleep(8_000);
        firing = true;
        return { passed: true, results: [] };
      },
    });
    expect(outcome).toEqual({
      failed: true,
      reason: 'alarm errors in ALARM: Errors >= 1',
      polls: 1,
    });
  });

  test('a zero duration checks once', async () => {
    const clock = fakeClock();
    expect(await bake({ durationMs: 0, pollMs: 1000, clock, checkAlarms: async () => [] })).toEqual(
      { failed: false, polls: 1 },
    );
    expect(clock.slept).toEqual([]);
  });
});
