import {
  CloudWatchClient,
  DescribeAlarmsCommand,
  type MetricAlarm,
} from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import {
  alarmsInAlarm,
  alarmWatch,
  checkAlarmsExist,
  describeAlarms,
} from '../../src/release/traffic/alarms.js';

const cwMock = mockClient(CloudWatchClient);
const cloudwatch = new CloudWatchClient({ region: 'us-east-1' });
const noSleep = { sleep: async () => undefined };

const alarm = (name: string, state: string, reason = ''): MetricAlarm => ({
  AlarmName: name,
  StateValue: state as MetricAlarm['StateValue'],
  StateReason: reason,
});

beforeEach(() => cwMock.reset());

describe('alarmsInAlarm', () => {
  test('returns only those in ALARM, with the reason; metric and composite alarms both count', async () => {
    cwMock.on(DescribeAlarmsCommand).resolves({
      MetricAlarms: [
        alarm('errors', 'ALARM', 'Threshold Crossed: 1 datapoint [5.0] > 1.0'),
        alarm('latency', 'OK'),
        alarm('quiet', 'INSUFFICIENT_DATA'),
      ],
      CompositeAlarms: [
        { AlarmName: 'health', StateValue: 'ALARM', StateReason: 'child in ALARM' },
      ],
    });
    const firing = await alarmsInAlarm(
      cloudwatch,
      ['errors', 'latency', 'quiet', 'health'],
      noSleep,
    );
    expect(firing.map((a) => [a.name, a.reason])).toEqual([
      ['errors', 'Threshold Crossed: 1 datapoint [5.0] > 1.0'],
      ['health', 'child in ALARM'],
    ]);
    expect(cwMock.commandCalls(DescribeAlarmsCommand)[0]!.args[0].input).toEqual({
      AlarmNames: ['errors', 'latency', 'quiet', 'health'],
      AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
    });
  });

  test('no names: no call', async () => {
    expect(await alarmsInAlarm(cloudwatch, [], noSleep)).toEqual([]);
    expect(cwMock.commandCalls(DescribeAlarmsCommand)).toHaveLength(0);
  });

  test('a watched alarm that does not exist is an input error naming it', async () => {
    cwMock.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [alarm('errors', 'OK')] });
    await expect(
      alarmsInAlarm(cloudwatch, ['errors', 'erors-typo', 'gone'], noSleep),
    ).rejects.toThrow(
      "Input 'alarms': alarms not found in this account and region: erors-typo, gone.",
    );
  });
});

describe('describeAlarms', () => {
  test('follows NextToken and chunks names by 100', async () => {
    const names = Array.from({ length: 150 }, (_, i) => `a${i}`);
    cwMock
      .on(DescribeAlarmsCommand)
      .callsFake((input: { AlarmNames: string[]; NextToken?: string }) => {
        const half = Math.ceil(input.AlarmNames.length / 2);
        const page = input.NextToken
          ? input.AlarmNames.slice(half)
          : input.AlarmNames.slice(0, half);
        return {
          MetricAlarms: page.map((n) => alarm(n, 'OK')),
          ...(input.NextToken ? {} : { NextToken: 'next' }),
        };
      });
    const found = await describeAlarms(cloudwatch, names, noSleep);
    expect(found.map((a) => a.name).sort()).toEqual([...names].sort());
    const calls = cwMock
      .commandCalls(DescribeAlarmsCommand)
      .map((c) => [c.args[0].input.AlarmNames!.length, c.args[0].input.NextToken]);
    expect(calls).toEqual([
      [100, undefined],
      [100, 'next'],
      [50, undefined],
      [50, 'next'],
    ]);
  });

  test('throttling is retried', async () => {
    const throttled = Object.assign(new Error('Rate exceeded'), {
      name: 'Throttling',
      $metadata: { httpStatusCode: 400 },
    });
    cwMock
      .on(DescribeAlarmsCommand)
      .rejectsOnce(throttled)
      .resolves({ MetricAlarms: [alarm('errors', 'OK')] });
    expect(await describeAlarms(cloudwatch, ['errors'], noSleep)).toHaveLength(1);
    expect(cwMock.commandCalls(DescribeAlarmsCommand)).toHaveLength(2);
  });
});

describe('checkAlarmsExist', () => {
  test('passes when all exist (names trimmed, blanks and duplicates ignored)', async () => {
    cwMock
      .on(DescribeAlarmsCommand)
      .resolves({ MetricAlarms: [alarm('errors', 'ALARM'), alarm('latency', 'OK')] });
    const found = await checkAlarmsExist(cloudwatch, [' errors', 'latency', '', 'errors'], noSleep);
    expect(found).toHaveLength(2);
    expect(cwMock.commandCalls(DescribeAlarmsCommand)[0]!.args[0].input.AlarmNames).toEqual([
      'errors',
      'latency',
    ]);
  });

  test('one missing alarm is named in the singular', async () => {
    cwMock.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [] });
    await expect(checkAlarmsExist(cloudwatch, ['errors'], noSleep)).rejects.toThrow(
      /alarm not found in this account and region: errors\. A watched alarm that does not exist can never fire/,
    );
  });
});

describe('alarmWatch: INSUFFICIENT_DATA', () => {
  const states = (...list: Array<[string, string]>) => ({
    MetricAlarms: list.map(([name, state]) => alarm(name, state, `${name} is ${state}`)),
  });

  test('an alarm that had data and loses it during the bake fails it; one never with data does not', async () => {
    cwMock
      .on(DescribeAlarmsCommand)
      .resolvesOnce(
        states(['errors', 'OK'], ['quiet', 'INSUFFICIENT_DATA'], ['late', 'INSUFFICIENT_DATA']),
      )
      .resolvesOnce(
        states(['errors', 'INSUFFICIENT_DATA'], ['quiet', 'INSUFFICIENT_DATA'], ['late', 'OK']),
      )
      .resolves(
        states(['errors', 'OK'], ['quiet', 'INSUFFICIENT_DATA'], ['late', 'INSUFFICIENT_DATA']),
      );
    const names = ['errors', 'quiet', 'late'];
    const initial = [
      { name: 'errors', state: 'OK', reason: '' },
      { name: 'quiet', state: 'INSUFFICIENT_DATA', reason: '' },
      { name: 'late', state: 'INSUFFICIENT_DATA', reason: '' },
    ];
    const poll = alarmWatch(cloudwatch, names, initial, noSleep);
    // Poll 1: nothing lost data yet (errors OK, quiet and late never had any).
    expect(await poll()).toEqual([]);
    // Poll 2: errors had data at the start and has none now.
    const second = await poll();
    expect(second.map((a) => [a.name, a.state])).toEqual([['errors', 'INSUFFICIENT_DATA']]);
    expect(second[0]!.reason).toMatch(/had data earlier in this run and has none now/);
    // Poll 3: late got data in poll 2 and lost it again; quiet never had any.
    expect((await poll()).map((a) => a.name)).toEqual(['late']);
  });

  test('ALARM always fails the bake', async () => {
    cwMock.on(DescribeAlarmsCommand).resolves(states(['errors', 'ALARM']));
    const poll = alarmWatch(cloudwatch, ['errors'], [], noSleep);
    expect((await poll()).map((a) => [a.name, a.state])).toEqual([['errors', 'ALARM']]);
  });
});
