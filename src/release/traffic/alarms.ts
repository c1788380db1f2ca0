import { DescribeAlarmsCommand, type CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { errorCode, InputError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { withRetry, type Sleep } from '../../retry.js';

export interface AlarmStatus {
  name: string;
  /** OK, ALARM or INSUFFICIENT_DATA. */
  state: string;
  reason: string;
  updatedAt?: Date;
}

export interface AlarmCallOptions {
  attempts?: number;
  baseDelayMs?: number;
  sleep?: Sleep;
  logger?: Logger;
}

/** DescribeAlarms takes at most 100 names per call. */
const NAMES_PER_CALL = 100;

/** Reads the state of each named alarm (metric and composite), paginated and retried. */
export async function describeAlarms(
  cloudwatch: CloudWatchClient,
  names: readonly string[],
  options: AlarmCallOptions = {},
): Promise<AlarmStatus[]> {
  const wanted = [...new Set(names.map((n) => n.trim()).filter(Boolean))];
  const found: AlarmStatus[] = [];
  for (let i = 0; i < wanted.length; i += NAMES_PER_CALL) {
    const chunk = wanted.slice(i, i + NAMES_PER_CALL);
    let nextToken: string | undefined;
    do {
      const token = nextToken;
      const output = await withRetry(
        () =>
          cloudwatch.send(
            new DescribeAlarmsCommand({
              AlarmNames: chunk,
              AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
              ...(token ? { NextToken: token } : {}),
            }),
          ),
        {
          attempts: options.attempts ?? 5,
          baseDelayMs: options.baseDelayMs ?? 1000,
          ...(options.sleep ? { sleep: options.sleep } : {}),
          onRetry: (error, attempt, delay) =>
            options.logger?.info(
              `DescribeAlarms: ${errorCode(error) ?? 'error'}, retry ${attempt} in ${delay} ms`,
            ),
        },
      );
      for (const alarm of [...(output.MetricAlarms ?? []), ...(output.CompositeAlarms ?? [])]) {
        if (!alarm.AlarmName) continue;
        const status: AlarmStatus = {
          name: alarm.AlarmName,
          state: alarm.StateValue ?? 'UNKNOWN',
          reason: alarm.StateReason ?? '',
        };
        if (alarm.StateUpdatedTimestamp) status.updatedAt = alarm.StateUpdatedTimestamp;
        found.push(status);
      }
      nextToken = output.NextToken;
    } while (nextToken);
  }
  return found;
}

function missingNames(names: readonly string[], found: readonly AlarmStatus[]): string[] {
  const seen = new Set(found.map((a) => a.name));
  return [...new Set(names.map((n) => n.trim()).filter(Boolean))].filter((n) => !seen.has(n));
}

function missingError(missing: string[]): InputError {
  return new InputError(
    'alarms',
    `${missing.length === 1 ? 'alarm' : 'alarms'} not found in this account and region: ${missing.join(', ')}. ` +
      `A watched alarm that does not exist can never fire; fix the name or create the alarm.`,
  );
}

/** Fails up front (before any traffic moves) when a watched alarm does not exist. */
export async function checkAlarmsExist(
  cloudwatch: CloudWatchClient,
  names: readonly string[],
  options: AlarmCallOptions = {},
): Promise<AlarmStatus[]> {
  const found = await describeAlarms(cloudwatch, names, options);
  const missing = missingNames(names, found);
  if (missing.length > 0) throw missingError(missing);
  return found;
}

/** The watched alarms currently in ALARM, with their reason; a missing alarm is an error. */
export async function alarmsInAlarm(
  cloudwatch: CloudWatchClient,
  names: readonly string[],
  options: AlarmCallOptions = {},
): Promise<AlarmStatus[]> {
  if (names.length === 0) return [];
  const found = await checkAlarmsExist(cloudwatch, names, options);
  return found.filter((a) => a.state === 'ALARM');
}

/**
 * The alarms that fail a bake, remembered across polls. ALARM always does. INSUFFICIENT_DATA does
 * for an alarm that had data (OK or ALARM) earlier in this run: a metric that stops reporting
 * after the shift (the new version stopped emitting it, or stopped running) is not a healthy
 * sign. An alarm with no data since the start is reported but not acted on: a canary at low
 * traffic often has none. How missing data is treated is the alarm's own setting
 * (TreatMissingData), which decides whether it ever reaches INSUFFICIENT_DATA.
 */
export function alarmWatch(
  cloudwatch: CloudWatchClient,
  names: readonly string[],
  initial: readonly AlarmStatus[],
  options: AlarmCallOptions = {},
): () => Promise<AlarmStatus[]> {
  const hadData = new Set<string>();
  const remember = (found: readonly AlarmStatus[]) => {
    for (const a of found) if (a.state === 'OK' || a.state === 'ALARM') hadData.add(a.name);
  };
  remember(initial);
  return async () => {
    if (names.length === 0) return [];
    const found = await checkAlarmsExist(cloudwatch, names, options);
    const failing = found.filter(
      (a) => a.state === 'ALARM' || (a.state === 'INSUFFICIENT_DATA' && hadData.has(a.name)),
    );
    remember(found);
    return failing.map((a) =>
      a.state === 'ALARM'
        ? a
        : {
            ...a,
            reason: `it had data earlier in this run and has none now (${a.reason || 'no reason given'})`,
          },
    );
  };
}
