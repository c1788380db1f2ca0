import {
  LambdaClient,
  ListTagsCommand,
  TagResourceCommand,
  UntagResourceCommand,
} from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { memoryLogger } from '../../src/log.js';
import {
  changePercent,
  coldStartMs,
  judgeColdStart,
  parsePercent,
  parseReport,
} from '../../src/release/smoke/cold-start.js';
import { checkColdStart, describeCheck } from '../../src/release/smoke/cold-start-check.js';
import {
  parseRecords,
  RECORDS_KEPT,
  recordKey,
  recordsToPrune,
} from '../../src/release/smoke/cold-start-record.js';
import type { SmokeRunResult } from '../../src/release/smoke/smoke-run.js';
import { parseSmokeSpec, type SmokeSpecError } from '../../src/release/smoke/smoke-spec.js';

// As Lambda writes them (tabs between fields, a trailing tab on some runtimes).
const COLD =
  'START RequestId: 8f5c Version: 7\nloading model\nEND RequestId: 8f5c\n' +
  'REPORT RequestId: 8f5c\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB\t' +
  'Max Memory Used: 84 MB\tInit Duration: 2301.55 ms\t\n';
const WARM =
  'REPORT RequestId: 1a2b\tDuration: 3.10 ms\tBilled Duration: 4 ms\tMemory Size: 512 MB\tMax Memory Used: 90 MB\t';
const SNAP =
  'REPORT RequestId: 9c9c\tDuration: 20.00 ms\tBilled Duration: 121 ms\tMemory Size: 1024 MB\t' +
  'Max Memory Used: 300 MB\tRestore Duration: 474.16 ms\tBilled Restore Duration: 100 ms\t';

describe('parseReport', () => {
  test('reads init duration, duration and memory from a cold REPORT line', () => {
    expect(parseReport(COLD)).toEqual({
      durationMs: 12.34,
      billedDurationMs: 13,
      memorySizeMb: 128,
      maxMemoryUsedMb: 84,
      initDurationMs: 2301.55,
    });
    expect(coldStartMs(parseReport(COLD))).toBe(2301.55);
  });

  test('a warm invocation has no init duration', () => {
    const report = parseReport(WARM)!;
    expect(report.initDurationMs).toBeUndefined();
    expect(coldStartMs(report)).toBeUndefined();
  });

  test('SnapStart: the restore duration is the cold start, billed restore is not mistaken for it', () => {
    const report = parseReport(SNAP)!;
    expect(report.restoreDurationMs).toBe(474.16);
    expect(report.billedDurationMs).toBe(121);
    expect(coldStartMs(report)).toBe(474.16);
  });

  test('the last REPORT line wins; a tail without one gives undefined', () => {
    expect(parseReport(`${WARM}\n${COLD}`)?.initDurationMs).toBe(2301.55);
    expect(parseReport('START RequestId: x\nEND RequestId: x\n')).toBeUndefined();
    expect(parseReport(undefined)).toBeUndefined();
    expect(parseReport('  REPORT RequestId: x Duration: 1 ms')).toBeUndefined();
  });
});

describe('parsePercent and changePercent', () => {
  test('"50%" and 50 are fifty percent; other texts are not', () => {
    expect(parsePercent('50%')).toBe(50);
    expect(parsePercent(' 12.5 % ')).toBe(12.5);
    expect(parsePercent(50)).toBe(50);
    expect(parsePercent('50')).toBeUndefined();
    expect(parsePercent('-5%')).toBeUndefined();
    expect(parsePercent(true)).toBeUndefined();
  });

  test('change against a baseline', () => {
    expect(changePercent(900, 2300)).toBeCloseTo(155.6, 1);
    expect(changePercent(0, 10)).toBeUndefined();
  });
});

describe('judgeColdStart', () => {
  const report = parseReport(COLD)!;

  test('over max-init-ms fails and says by how much', () => {
    const verdict = judgeColdStart({ report, coldStart: { maxInitMs: 1000 } });
    expect(verdict.passed).toBe(false);
    expect(verdict.reasons).toEqual([
      'cold start 2.3 s is over the budget of 1.0 s (max-init-ms 1000) by 1.3 s',
    ]);
  });

  test('within budget passes; the summary compares with the served version', () => {
    const verdict = judgeColdStart({
      report,
      coldStart: { maxInitMs: 3000, maxRegressionPercent: 200 },
      baseline: { version: '6', coldStartMs: 900 },
    });
    expect(verdict.passed).toBe(true);
    expect(verdict.summary).toBe('cold start 2.3 s, was 900 ms on version 6 (+156%)');
    expect(verdict.changePercent).toBeCloseTo(155.7, 1);
  });

  test('over max-regression against the baseline fails', () => {
    const verdict = judgeColdStart({
      report,
      coldStart: { maxRegressionPercent: 50 },
      baseline: { version: '6', coldStartMs: 900 },
    });
    expect(verdict.passed).toBe(false);
    expect(verdict.reasons[0]).toBe(
      'cold start 2.3 s is +156% against 900 ms on version 6, over the allowed regression of 50%',
    );
  });

  test('max-regression without a recorded baseline warns and passes', () => {
    const verdict = judgeColdStart({
      report,
      coldStart: { maxRegressionPercent: 50 },
      servedVersion: '6',
    });
    expect(verdict.passed).toBe(true);
    expect(verdict.warnings).toEqual([
      'no cold start recorded for version 6 (the served one), so max-regression was not checked',
    ]);
  });

  test('a budget that cannot be checked (no REPORT line) fails; without a budget it warns', () => {
    expect(judgeColdStart({ coldStart: { maxInitMs: 1000 } }).passed).toBe(false);
    const free = judgeColdStart({});
    expect(free.passed).toBe(true);
    expect(free.warnings[0]).toMatch(/no REPORT line/);
  });

  test('a warm first invocation measures nothing and fails no init budget', () => {
    const verdict = judgeColdStart({ report: parseReport(WARM)!, coldStart: { maxInitMs: 1 } });
    expect(verdict.passed).toBe(true);
    expect(verdict.coldStartMs).toBeUndefined();
    expect(verdict.warnings[0]).toMatch(/no Init Duration/);
  });

  test('memory above the threshold of memory-size warns (90% unless the spec says otherwise)', () => {
    expect(judgeColdStart({ report }).warnings).toEqual([]); // 84 of 128 MB = 66%
    const tight = judgeColdStart({ report, memory: { maxUsedPercent: 60 } });
    expect(tight.passed).toBe(true);
    expect(tight.memoryUsedPercent).toBeCloseTo(65.6, 1);
    expect(tight.warnings[0]).toMatch(/max memory used 84 MB is 66% of the memory size 128 MB/);
    expect(judgeColdStart({ report: parseReport(WARM)! }).warnings).toHaveLength(1); // only init
  });
});

describe('records of each version cold start (function tags)', () => {
  test('only this action keys with a version number are records', () => {
    const records = parseRecords({
      [recordKey('3')]: '912',
      [recordKey('$LATEST')]: '1',
      'lambda-ml-deploy:cold-start-ms:x': '5',
      team: 'ml',
      [recordKey('4')]: 'fast',
    });
    expect([...records]).toEqual([['3', 912]]);
  });

  test('pruning keeps the newest records, the new one and the served one', () => {
    const existing = Array.from({ length: RECORDS_KEPT + 3 }, (_, i) => String(i + 1));
    const prune = recordsToPrune(existing, String(RECORDS_KEPT + 4), new Set(['2']));
    // 14 versions: keep 5..14 (newest 10) and 2 (served); drop 1, 3, 4.
    expect(prune.sort()).toEqual([recordKey('1'), recordKey('3'), recordKey('4')].sort());
    expect(recordsToPrune(['1', '2'], '3', new Set())).toEqual([]);
  });
});

describe('checkColdStart at the SDK boundary', () => {
  const lambdaMock = mockClient(LambdaClient);
  const lambda = new LambdaClient({ region: 'us-east-1' });
  const arn = 'arn:aws:lambda:us-east-1:123456789012:function:iris';
  const run = (logTail?: string): SmokeRunResult => ({
    passed: true,
    results: [{ name: 'first', passed: true, reasons: [], ...(logTail ? { logTail } : {}) }],
  });
  const spec = parseSmokeSpec(
    'cold-start: {max-init-ms: 1000, max-regression: 50%}\nmemory: {max-used-percent: 90}\n' +
      'cases: [{name: first, event: {}}]',
    'smoke.yml',
  );
  beforeEach(() => lambdaMock.reset());

  test('reads the served version record, judges, records the new version', async () => {
    lambdaMock.on(ListTagsCommand).resolves({ Tags: { [recordKey('6')]: '900', team: 'ml' } });
    lambdaMock.on(TagResourceCommand).resolves({});
    const check = await checkColdStart({
      lambda,
      functionArn: arn,
      version: '7',
      servedVersion: '6',
      spec,
      run: run(COLD),
      logger: memoryLogger(),
    });
    expect(check.verdict.passed).toBe(false);
    expect(check.verdict.reasons).toHaveLength(2); // over 1000 ms, and +156% > 50%
    expect(lambdaMock.commandCalls(ListTagsCommand)[0]!.args[0].input).toEqual({ Resource: arn });
    expect(lambdaMock.commandCalls(TagResourceCommand)[0]!.args[0].input).toEqual({
      Resource: arn,
      Tags: { [recordKey('7')]: '2301.55' },
    });
    expect(lambdaMock.commandCalls(UntagResourceCommand)).toHaveLength(0);
    const lines = describeCheck('7', check).join('\n');
    expect(lines).toContain('cold start 2.3 s, was 900 ms on version 6 (+156%)');
    expect(lines).toContain('max memory used 84 MB of 128 MB (66%)');
  });

  test('old records are untagged; the served one stays', async () => {
    const tags = Object.fromEntries(
      Array.from({ length: RECORDS_KEPT + 1 }, (_, i) => [recordKey(String(i + 1)), '100']),
    );
    lambdaMock.on(ListTagsCommand).resolves({ Tags: tags });
    lambdaMock.on(TagResourceCommand).resolves({});
    lambdaMock.on(UntagResourceCommand).resolves({});
    await checkColdStart({
      lambda,
      functionArn: arn,
      version: String(RECORDS_KEPT + 2),
      servedVersion: '1',
      spec,
      run: run(COLD.replace('2301.55', '120')),
      logger: memoryLogger(),
    });
    expect(lambdaMock.commandCalls(UntagResourceCommand)[0]!.args[0].input).toEqual({
      Resource: arn,
      TagKeys: [recordKey('2')],
    });
  });

  test('tag permissions missing: warns, still judges the budget', async () => {
    const denied = Object.assign(new Error('not authorized to perform lambda:ListTags'), {
      name: 'AccessDeniedException',
    });
    lambdaMock.on(ListTagsCommand).rejects(denied);
    lambdaMock.on(TagResourceCommand).rejects(denied);
    const logger = memoryLogger();
    const check = await checkColdStart({
      lambda,
      functionArn: arn,
      version: '7',
      servedVersion: '6',
      spec,
      run: run(COLD.replace('2301.55', '500')),
      logger,
    });
    expect(check.verdict.passed).toBe(true);
    expect(logger.lines.filter((l) => l.startsWith('warning: Could not'))).toHaveLength(2);
  });
});

describe('smoke spec: cold-start and memory sections', () => {
  const cases = 'cases: [{name: a, event: {}}]';

  test('parsed into budgets', () => {
    const spec = parseSmokeSpec(
      `cold-start: {max-init-ms: 3000, max-regression: 50%}\nmemory: {max-used-percent: 90}\n${cases}`,
      's.yml',
    );
    expect(spec.coldStart).toEqual({ maxInitMs: 3000, maxRegressionPercent: 50 });
    expect(spec.memory).toEqual({ maxUsedPercent: 90 });
    expect(parseSmokeSpec(cases, 's.yml').coldStart).toBeUndefined();
  });

  test('every problem is named', () => {
    let error: SmokeSpecError | undefined;
    try {
      parseSmokeSpec(
        `cold-start: {max-init: 3000, max-regression: fifty}\nmemory: {max-used-percent: 150}\n${cases}`,
        's.yml',
      );
    } catch (e) {
      error = e as SmokeSpecError;
    }
    expect(error?.problems).toEqual([
      "s.yml: field 'cold-start.max-init' unknown field; did you mean 'max-init-ms'?",
      "s.yml: field 'cold-start.max-regression' must be a percentage such as 50% (how much slower than the served version's cold start is allowed), got \"fifty\"",
      "s.yml: field 'memory.max-used-percent' must be a percentage of memory-size from 1 to 100, got number 150",
    ]);
  });
});
