import type { InvocationResult } from '../../src/release/smoke/invoke.js';
import { deepSubset, matchCase, numbersMatch } from '../../src/release/smoke/smoke-match.js';
import type { SmokeCase, SmokeExpect } from '../../src/release/smoke/smoke-spec.js';

function kase(expect: SmokeExpect, name = 'c'): SmokeCase {
  return { index: 0, name, event: {}, expect };
}

function ok(parsed: unknown, latencyMs = 10): InvocationResult {
  return { payloadText: JSON.stringify(parsed), parsed, latencyMs };
}

function proxy(statusCode: number, body: unknown, latencyMs = 10): InvocationResult {
  const response = {
    statusCode,
    headers: { 'Content-Type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  };
  return ok(response, latencyMs);
}

function crashed(errorType: string, errorMessage: string): InvocationResult {
  const parsed = {
    errorType,
    errorMessage,
    stackTrace: ['  File "/var/task/lambda_function.py", line 3'],
  };
  return { payloadText: JSON.stringify(parsed), parsed, latencyMs: 5, functionError: 'Unhandled' };
}

describe('matchCase', () => {
  const table: Array<[string, SmokeExpect, InvocationResult, boolean, RegExp[]]> = [
    [
      'payload subset ignores extra keys',
      { payload: { body: 'virginica' } },
      ok({ body: 'virginica', score: 0.9 }),
      true,
      [],
    ],
    [
      'payload value differs',
      { payload: { body: 'virginica' } },
      ok({ body: 'setosa' }),
      false,
      [/payload does not match: \$\.body: expected "virginica", got "setosa"/],
    ],
    [
      'payload key missing',
      { payload: { label: 'x' } },
      ok({ body: 'x' }),
      false,
      [/\$\.label: missing \(expected "x"\)/],
    ],
    [
      'nested objects recurse',
      { payload: { a: { b: { c: 1 } } } },
      ok({ a: { b: { c: 2, d: 3 } } }),
      false,
      [/\$\.a\.b\.c: expected 1, got 2/],
    ],
    [
      'number within tolerance',
      { payload: { p: 0.87 }, tolerance: 0.01 },
      ok({ p: 0.875 }),
      true,
      [],
    ],
    [
      'number on the tolerance boundary',
      { payload: { p: 0.87 }, tolerance: 0.01 },
      ok({ p: 0.86 }),
      true,
      [],
    ],
    [
      'number outside tolerance',
      { payload: { p: 0.87 }, tolerance: 0.01 },
      ok({ p: 0.42 }),
      false,
      [/\$\.p: expected 0\.87 ±0\.01, got 0\.42/],
    ],
    [
      'exact number without tolerance',
      { payload: 3 },
      ok(3.0001),
      false,
      [/\$: expected 3, got 3\.0001/],
    ],
    [
      'type mismatch is named',
      { payload: { p: 1 } },
      ok({ p: '1' }),
      false,
      [/\$\.p: expected 1, got string "1"/],
    ],
    ['arrays element-wise', { payload: [1, 2, 3] }, ok([1, 2, 3]), true, []],
    [
      'arrays of objects take subsets',
      { payload: [{ a: 1 }, { b: 2 }] },
      ok([{ a: 1, z: 0 }, { b: 2 }]),
      true,
      [],
    ],
    [
      'array length must match',
      { payload: [1, 2] },
      ok([1, 2, 3]),
      false,
      [/\$: expected a list of 2, got 3/],
    ],
    [
      'array element differs',
      { payload: { probs: [0.1, 0.9] }, tolerance: 0.05 },
      ok({ probs: [0.1, 0.7] }),
      false,
      [/\$\.probs\[1\]: expected 0\.9 ±0\.05, got 0\.7/],
    ],
    [
      'expected list, got object',
      { payload: [1] },
      ok({ 0: 1 }),
      false,
      [/expected a list \[1\], got object/],
    ],
    ['string payload compares exactly', { payload: 'virginica' }, ok('virginica'), true, []],
    [
      'payload that is not JSON',
      { payload: { a: 1 } },
      { payloadText: 'oops', latencyMs: 1 },
      false,
      [/payload is not JSON: "oops"/],
    ],
    ['status matches', { status: 200 }, proxy(200, { ok: true }), true, []],
    ['status differs', { status: 400 }, proxy(200, {}), false, [/status 200, expected 400/]],
    [
      'body subset of parsed JSON',
      { status: 200, body: { prediction: 0.87 }, tolerance: 0.01 },
      proxy(200, { prediction: 0.871, model: 'v2' }),
      true,
      [],
    ],
    [
      'body mismatch gives a $.body path',
      { body: { prediction: 0.87 }, tolerance: 0.01 },
      proxy(200, { prediction: 0.42 }),
      false,
      [/body does not match: \$\.body\.prediction: expected 0\.87 ±0\.01, got 0\.42/],
    ],
    ['body as raw text', { body: 'pong' }, proxy(200, 'pong'), true, []],
    [
      'body as text differs',
      { body: 'pong' },
      proxy(200, 'ping'),
      false,
      [/\$\.body: expected "pong", got "ping"/],
    ],
    [
      'body expected JSON but got text',
      { body: { a: 1 } },
      proxy(200, 'not json'),
      false,
      [/body is not JSON: "not json"/],
    ],
    [
      'base64 body is decoded',
      { body: { a: 1 } },
      ok({
        statusCode: 200,
        body: Buffer.from('{"a":1}').toString('base64'),
        isBase64Encoded: true,
      }),
      true,
      [],
    ],
    [
      'status expected on a non-proxy response',
      { status: 200 },
      ok({ prediction: 1 }),
      false,
      [/expected an API Gateway proxy response \{statusCode, body\}, got \{"prediction":1\}/],
    ],
    [
      'unexpected function error shows errorType and message',
      { payload: { a: 1 } },
      crashed(
        'Runtime.ImportModuleError',
        "Unable to import module 'lambda_function': No module named 'sklearn'",
      ),
      false,
      [
        /function error \(Unhandled\): Runtime\.ImportModuleError: Unable to import module 'lambda_function': No module named 'sklearn'/,
      ],
    ],
    [
      'function error with no expectations still fails',
      {},
      crashed('ValueError', 'bad'),
      false,
      [/function error \(Unhandled\): ValueError: bad/],
    ],
    ['expected error happened', { error: true }, crashed('ValueError', 'boom'), true, []],
    [
      'expected error with matching error payload',
      { error: true, payload: { errorType: 'ValueError' } },
      crashed('ValueError', 'boom'),
      true,
      [],
    ],
    [
      'expected error of another type',
      { error: true, payload: { errorType: 'KeyError' } },
      crashed('ValueError', 'boom'),
      false,
      [/error payload does not match: \$\.errorType: expected "KeyError", got "ValueError"/],
    ],
    [
      'expected error did not happen',
      { error: true },
      ok({ body: 'fine' }),
      false,
      [/expected a function error, but the function returned \{"body":"fine"\}/],
    ],
    ['error: false behaves like no error expected', { error: false }, ok({}), true, []],
    ['latency within budget', { maxLatencyMs: 100 }, ok({}, 100), true, []],
    [
      'latency over budget',
      { maxLatencyMs: 100 },
      ok({}, 250),
      false,
      [/latency 250 ms over the budget of 100 ms/],
    ],
    [
      'timeout fails whatever else',
      { payload: {} },
      { payloadText: '', latencyMs: 3000, timedOut: true, timeoutMs: 3000 },
      false,
      [/timed out: no answer within 3000 ms/],
    ],
    [
      'several failures are all listed',
      { status: 200, body: { a: 1 }, maxLatencyMs: 10 },
      proxy(500, { a: 2 }, 20),
      false,
      [/status 500, expected 200/, /\$\.body\.a: expected 1, got 2/, /latency 20 ms/],
    ],
  ];

  test.each(table)('%s', (_label, expectation, result, passed, reasonPatterns) => {
    const verdict = matchCase(kase(expectation), result);
    expect(verdict.passed).toBe(passed);
    if (passed) {
      expect(verdict.reasons).toEqual([]);
      expect(verdict.diff).toBeUndefined();
    }
    for (const pattern of reasonPatterns)
      expect(verdict.reasons.some((r) => pattern.test(r))).toBe(true);
  });

  test('the diff lists every mismatch by path, one per line', () => {
    const verdict = matchCase(
      kase({
        status: 200,
        body: { prediction: 0.87, label: 'virginica', probs: [0.1, 0.9] },
        tolerance: 0.01,
      }),
      proxy(201, { prediction: 0.42, label: 'setosa', probs: [0.1, 0.9] }),
    );
    expect(verdict.diff).toBe(
      [
        '$.statusCode: expected 200, got 201',
        '$.body.prediction: expected 0.87 ±0.01, got 0.42',
        '$.body.label: expected "virginica", got "setosa"',
      ].join('\n'),
    );
    expect(verdict.reasons).toContain(
      'body does not match: $.body.prediction: expected 0.87 ±0.01, got 0.42 (+1 more)',
    );
  });

  test('keys that are not identifiers are quoted in paths', () => {
    expect(deepSubset({ 'class-1': 1 }, { 'class-1': 2 }, 0)).toEqual([
      { path: '$["class-1"]', message: 'expected 1, got 2' },
    ]);
  });
});

describe('numbersMatch', () => {
  test('exact without tolerance, inclusive with it', () => {
    expect(numbersMatch(1, 1, 0)).toBe(true);
    expect(numbersMatch(0.1 + 0.2, 0.3, 0)).toBe(true);
    expect(numbersMatch(1, 1.001, 0)).toBe(false);
    expect(numbersMatch(0.87, 0.86, 0.01)).toBe(true);
    expect(numbersMatch(0.87, 0.859, 0.01)).toBe(false);
  });
});
