import { memoryLogger } from '../../src/log.js';
import type { InvocationResult } from '../../src/release/smoke/invoke.js';
import {
  describeSmokeFailure,
  mapBounded,
  runSmokeTests,
} from '../../src/release/smoke/smoke-run.js';
import type { SmokeCase } from '../../src/release/smoke/smoke-spec.js';

function cases(n: number): SmokeCase[] {
  return Array.from({ length: n }, (_, i) => ({
    index: i,
    name: `case ${i}`,
    event: { i },
    expect: { payload: { i } },
  }));
}

/** Invocations that stay pending until released, so overlap can be observed without timers. */
function gatedInvoker() {
  const pending: Array<() => void> = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const invoke = (c: SmokeCase): Promise<InvocationResult> => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    return new Promise((resolve) => {
      pending.push(() => {
        inFlight--;
        resolve({ payloadText: '', parsed: c.event, latencyMs: 10 + c.index });
      });
    });
  };
  const drain = async () => {
    while (true) {
      await new Promise((r) => setImmediate(r));
      // release in reverse order so completion order differs from spec order
      const next = pending.splice(0).reverse();
      if (next.length === 0) return;
      for (const release of next) release();
    }
  };
  return { invoke, drain, max: () => maxInFlight };
}

describe('runSmokeTests', () => {
  test('never has more than `concurrency` invocations in flight and keeps spec order', async () => {
    const gate = gatedInvoker();
    const running = runSmokeTests({ cases: cases(10), invoke: gate.invoke, concurrency: 3 });
    await gate.drain();
    const run = await running;
    expect(gate.max()).toBe(3);
    expect(run.passed).toBe(true);
    expect(run.results.map((r) => r.name)).toEqual(cases(10).map((c) => c.name));
    expect(run.results.map((r) => r.latencyMs)).toEqual(cases(10).map((c) => 10 + c.index));
  });

  test('defaults to 4 in flight', async () => {
    const gate = gatedInvoker();
    const running = runSmokeTests({ cases: cases(9), invoke: gate.invoke });
    await gate.drain();
    await running;
    expect(gate.max()).toBe(4);
  });

  test('firstAlone: the first case finishes before any other starts (it meets the version cold)', async () => {
    const events: string[] = [];
    const invoke = async (c: SmokeCase): Promise<InvocationResult> => {
      events.push(`start ${c.index}`);
      await new Promise((r) => setImmediate(r));
      events.push(`end ${c.index}`);
      return { payloadText: '', parsed: c.event, latencyMs: 1, logTail: `tail ${c.index}` };
    };
    const run = await runSmokeTests({ cases: cases(4), invoke, concurrency: 4, firstAlone: true });
    expect(events.slice(0, 3)).toEqual(['start 0', 'end 0', 'start 1']);
    expect(run.results.map((r) => r.logTail)).toEqual(['tail 0', 'tail 1', 'tail 2', 'tail 3']);
    const together: string[] = [];
    await runSmokeTests({
      cases: cases(2),
      invoke: async (c) => {
        together.push(`start ${c.index}`);
        await new Promise((r) => setImmediate(r));
        return { payloadText: '', parsed: c.event, latencyMs: 1 };
      },
    });
    expect(together).toEqual(['start 0', 'start 1']); // without it, both start at once
  });

  test('a failing case and a throwing invocation are both kept, with reasons; the rest still run', async () => {
    const logger = memoryLogger();
    const run = await runSmokeTests({
      cases: cases(3),
      logger,
      invoke: async (c) => {
        if (c.index === 1) return { payloadText: '{"i":99}', parsed: { i: 99 }, latencyMs: 7 };
        if (c.index === 2) throw new Error('AccessDeniedException: not allowed');
        return { payloadText: '', parsed: c.event, latencyMs: 5 };
      },
    });
    expect(run.passed).toBe(false);
    expect(run.results).toEqual([
      { name: 'case 0', passed: true, latencyMs: 5, reasons: [] },
      {
        name: 'case 1',
        passed: false,
        latencyMs: 7,
        reasons: ['payload does not match: $.i: expected 1, got 99'],
        diff: '$.i: expected 1, got 99',
      },
      {
        name: 'case 2',
        passed: false,
        reasons: ['invocation failed: AccessDeniedException: not allowed'],
      },
    ]);
    expect(logger.lines).toContain('PASS case 0 (5 ms)');
    expect(logger.lines).toContain(
      'warning: FAIL case 1 (7 ms): payload does not match: $.i: expected 1, got 99',
    );
    expect(describeSmokeFailure(run)).toBe(
      "2 of 3 smoke cases failed: 'case 1' (payload does not match: $.i: expected 1, got 99), 'case 2' (invocation failed: AccessDeniedException: not allowed)",
    );
  });

  test('a function error keeps the log tail for the summary', async () => {
    const run = await runSmokeTests({
      cases: cases(1),
      invoke: async () => ({
        payloadText:
          '{"errorType":"Runtime.ImportModuleError","errorMessage":"No module named sklearn"}',
        parsed: { errorType: 'Runtime.ImportModuleError', errorMessage: 'No module named sklearn' },
        functionError: 'Unhandled',
        logTail: 'Traceback...\n',
        latencyMs: 3,
      }),
    });
    expect(run.results[0]).toMatchObject({
      passed: false,
      functionError: 'Unhandled',
      logTail: 'Traceback...\n',
    });
    expect(run.results[0]!.reasons[0]).toBe(
      'function error (Unhandled): Runtime.ImportModuleError: No module named sklearn',
    );
  });
});

describe('mapBounded', () => {
  test('handles an empty list and a limit above the item count', async () => {
    expect(await mapBounded([], 4, async () => 1)).toEqual([]);
    expect(await mapBounded([1, 2], 10, async (x) => x * 2)).toEqual([2, 4]);
  });
});
