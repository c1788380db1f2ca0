import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  loadSmokeSpec,
  parseSmokeSpec,
  SmokeSpecError,
  suggestKey,
} from '../../src/release/smoke/smoke-spec.js';

const DESIGN_EXAMPLE = `
cases:
  - name: virginica
    event: {sl: 6.9, sw: 3.1, pl: 5.1, pw: 2.3}
    expect:
      payload: {body: "virginica"}
  - name: http predict
    http: {method: POST, path: /predict, body: {f1: 1.5, f2: 2.3}}
    expect:
      status: 200
      body: {prediction: 0.87}
      tolerance: 0.01
      max-latency-ms: 3000
  - name: bad input is rejected
    event: {}
    expect: {status: 400}
  - name: crash is a failure
    event: {boom: true}
    expect: {error: true}
`;

function problemsOf(text: string, file = 'smoke.yml'): string[] {
  try {
    parseSmokeSpec(text, file);
  } catch (error) {
    if (error instanceof SmokeSpecError) return error.problems;
    throw error;
  }
  throw new Error('expected the spec to be rejected');
}

describe('parseSmokeSpec: valid specs', () => {
  test('the DESIGN.md example parses into typed cases', () => {
    const spec = parseSmokeSpec(DESIGN_EXAMPLE, 'smoke.yml');
    expect(spec.file).toBe('smoke.yml');
    expect(spec.cases.map((c) => c.name)).toEqual([
      'virginica',
      'http predict',
      'bad input is rejected',
      'crash is a failure',
    ]);
    expect(spec.cases[0]).toEqual({
      index: 0,
      name: 'virginica',
      event: { sl: 6.9, sw: 3.1, pl: 5.1, pw: 2.3 },
      expect: { payload: { body: 'virginica' } },
    });
    expect(spec.cases[1]).toEqual({
      index: 1,
      name: 'http predict',
      http: { method: 'POST', path: '/predict', body: { f1: 1.5, f2: 2.3 } },
      expect: { status: 200, body: { prediction: 0.87 }, tolerance: 0.01, maxLatencyMs: 3000 },
    });
    expect(spec.cases[2]!.event).toEqual({});
    expect(spec.cases[3]!.expect).toEqual({ error: true });
  });

  test('JSON is accepted as well', () => {
    const json = JSON.stringify({
      cases: [
        {
          name: 'a',
          http: {
            method: 'get',
            path: '/health',
            query: { verbose: 1, tag: ['x', 'y'] },
            headers: { 'X-Key': 'k' },
          },
        },
      ],
    });
    const spec = parseSmokeSpec(json, 'smoke.json');
    expect(spec.cases[0]!.http).toEqual({
      method: 'GET',
      path: '/health',
      query: { verbose: '1', tag: ['x', 'y'] },
      headers: { 'X-Key': 'k' },
    });
    expect(spec.cases[0]!.expect).toEqual({});
  });

  test('defaults fill in per-case tolerance, latency and timeout; case values win', () => {
    const spec = parseSmokeSpec(
      `
concurrency: 2
defaults: {tolerance: 0.1, max-latency-ms: 500, timeout-ms: 9000}
cases:
  - {name: a, event: 1}
  - {name: b, event: 2, timeout-ms: 100, expect: {tolerance: 0, max-latency-ms: 50}}
`,
      's.yml',
    );
    expect(spec.concurrency).toBe(2);
    expect(spec.defaults).toEqual({ tolerance: 0.1, maxLatencyMs: 500, timeoutMs: 9000 });
    expect(spec.cases[0]).toMatchObject({
      timeoutMs: 9000,
      expect: { tolerance: 0.1, maxLatencyMs: 500 },
    });
    expect(spec.cases[1]).toMatchObject({
      timeoutMs: 100,
      expect: { tolerance: 0, maxLatencyMs: 50 },
    });
  });

  test('error: true may check the error payload', () => {
    const spec = parseSmokeSpec(
      'cases: [{name: x, event: {}, expect: {error: true, payload: {errorType: ValueError}}}]',
      's.yml',
    );
    expect(spec.cases[0]!.expect).toEqual({ error: true, payload: { errorType: 'ValueError' } });
  });
});

describe('parseSmokeSpec: every problem names file, case and field', () => {
  const table: Array<[string, string, RegExp]> = [
    ['not a mapping', '- a\n- b', /^smoke\.yml: must be a mapping with a 'cases' list/],
    ['no cases', 'defaults: {}', /^smoke\.yml: field 'cases' is required/],
    ['empty cases', 'cases: []', /^smoke\.yml: field 'cases' must be a non-empty list/],
    [
      'cases not a list',
      'cases: {a: 1}',
      /^smoke\.yml: field 'cases' must be a non-empty list.*a mapping/,
    ],
    [
      'unknown top key',
      'case: []\ncases: [{name: a, event: {}}]',
      /^smoke\.yml: field 'case' unknown field; did you mean 'cases'\?/,
    ],
    [
      'concurrency 0',
      'concurrency: 0\ncases: [{name: a, event: {}}]',
      /^smoke\.yml: field 'concurrency' must be a positive whole number up to 64, got number 0/,
    ],
    [
      'defaults typo',
      'defaults: {max-latency: 5}\ncases: [{name: a, event: {}}]',
      /^smoke\.yml: field 'defaults\.max-latency' unknown field; did you mean 'max-latency-ms'\?/,
    ],
    ['case not a mapping', 'cases: [hello]', /^smoke\.yml: cases\[0\]: must be a mapping/],
    ['missing name', 'cases: [{event: {}}]', /^smoke\.yml: cases\[0\]: field 'name' is required/],
    [
      'empty name',
      'cases: [{name: "  ", event: {}}]',
      /^smoke\.yml: cases\[0\]: field 'name' must be a non-empty text/,
    ],
    [
      'numeric name',
      'cases: [{name: 42, event: {}}]',
      /^smoke\.yml: cases\[0\]: field 'name' must be a non-empty text, got number 42/,
    ],
    [
      'duplicate name',
      'cases: [{name: a, event: {}}, {name: a, event: {}}]',
      /^smoke\.yml: cases\[1\] \("a"\): field 'name' duplicates the name of cases\[0\]/,
    ],
    [
      'neither event nor http',
      'cases: [{name: a}]',
      /^smoke\.yml: cases\[0\] \("a"\): field 'event' or 'http' is required/,
    ],
    [
      'both event and http',
      'cases: [{name: a, event: {}, http: {method: GET, path: /}}]',
      /^smoke\.yml: cases\[0\] \("a"\): field 'event' and 'http' are both set/,
    ],
    [
      'null event',
      'cases: [{name: a, event: }]',
      /^smoke\.yml: cases\[0\] \("a"\): field 'event' is empty \(null\); use \{\}/,
    ],
    [
      'unknown case key',
      'cases: [{name: a, event: {}, expects: {}}]',
      /^smoke\.yml: cases\[0\] \("a"\): field 'expects' unknown field; did you mean 'expect'\?/,
    ],
    [
      'http not a mapping',
      'cases: [{name: a, http: /predict}]',
      /^smoke\.yml: cases\[0\] \("a"\): field 'http' must be a mapping/,
    ],
    [
      'http bad method',
      'cases: [{name: a, http: {method: FETCH, path: /}}]',
      /^smoke\.yml: cases\[0\] \("a"\): field 'http\.method' must be one of GET, POST/,
    ],
    [
      'http missing method',
      'cases: [{name: a, http: {path: /}}]',
      /^smoke\.yml: cases\[0\] \("a"\): field 'http\.method' is required/,
    ],
    [
      'http relative path',
      'cases: [{name: a, http: {method: GET, path: predict}}]',
      /^smoke\.yml: cases\[0\] \("a"\): field 'http\.path' must start with '\/'/,
    ],
    [
      'http query in path',
      'cases: [{name: a, http: {method: GET, path: "/p?x=1"}}]',
      /^smoke\.yml: cases\[0\] \("a"\): field 'http\.path' must not contain a query string; put parameters under 'http\.query'/,
    ],
    [
      'http numeric body',
      'cases: [{name: a, http: {method: POST, path: /, body: 5}}]',
      /^smoke\.yml: cases\[0\] \("a"\): field 'http\.body' must be a mapping or list/,
    ],
    [
      'http header object',
      'cases: [{name: a, http: {method: GET, path: /, headers: {X: {y: 1}}}}]',
      /^smoke\.yml: cases\[0\] \("a"\): field 'http\.headers\.X' must be a text/,
    ],
    [
      'http unknown key',
      'cases: [{name: a, http: {method: GET, path: /, params: {}}}]',
      /^smoke\.yml: cases\[0\] \("a"\): field 'http\.params' unknown field/,
    ],
    [
      'http mistyped key',
      'cases: [{name: a, http: {methd: GET, path: /}}]',
      /field 'http\.methd' unknown field; did you mean 'method'\?/,
    ],
    [
      'expect not a mapping',
      'cases: [{name: a, event: {}, expect: 200}]',
      /^smoke\.yml: cases\[0\] \("a"\): field 'expect' must be a mapping/,
    ],
    [
      'status too high',
      'cases: [{name: a, event: {}, expect: {status: 2000}}]',
      /^smoke\.yml: cases\[0\] \("a"\): field 'expect\.status' must be an HTTP status code.*got number 2000/,
    ],
    [
      'status as text',
      'cases: [{name: a, event: {}, expect: {status: "200"}}]',
      /field 'expect\.status' must be an HTTP status code.*got "200"/,
    ],
    [
      'status fraction',
      'cases: [{name: a, event: {}, expect: {status: 200.5}}]',
      /field 'expect\.status' must be an HTTP status code/,
    ],
    [
      'negative tolerance',
      'cases: [{name: a, event: {}, expect: {tolerance: -1}}]',
      /^smoke\.yml: cases\[0\] \("a"\): field 'expect\.tolerance' must be a number >= 0/,
    ],
    [
      'latency zero',
      'cases: [{name: a, event: {}, expect: {max-latency-ms: 0}}]',
      /field 'expect\.max-latency-ms' must be a positive whole number/,
    ],
    [
      'latency camelCase',
      'cases: [{name: a, event: {}, expect: {maxLatencyMs: 10}}]',
      /field 'expect\.maxLatencyMs' unknown field; did you mean 'max-latency-ms'\?/,
    ],
    [
      'latency snake_case',
      'cases: [{name: a, event: {}, expect: {max_latency_ms: 10}}]',
      /field 'expect\.max_latency_ms' unknown field; did you mean 'max-latency-ms'\?/,
    ],
    [
      'error as text',
      'cases: [{name: a, event: {}, expect: {error: "yes"}}]',
      /^smoke\.yml: cases\[0\] \("a"\): field 'expect\.error' must be true or false/,
    ],
    [
      'error with status',
      'cases: [{name: a, event: {}, expect: {error: true, status: 500}}]',
      /field 'expect\.error' cannot be combined with status\/body/,
    ],
    [
      'null payload',
      'cases: [{name: a, event: {}, expect: {payload: }}]',
      /field 'expect\.payload' must be a value to compare/,
    ],
    [
      'unknown expect key',
      'cases: [{name: a, event: {}, expect: {statuscode: 200}}]',
      /field 'expect\.statuscode' unknown field; did you mean 'status'\?|field 'expect\.statuscode' unknown field; allowed/,
    ],
    [
      'far-off key lists allowed',
      'cases: [{name: a, event: {}, expect: {zzzzzz: 1}}]',
      /field 'expect\.zzzzzz' unknown field; allowed: payload, status, body, tolerance, max-latency-ms, error/,
    ],
    [
      'timeout negative',
      'cases: [{name: a, event: {}, timeout-ms: -5}]',
      /field 'timeout-ms' must be a positive whole number/,
    ],
  ];

  test.each(table)('%s', (_label, text, pattern) => {
    const problems = problemsOf(text);
    expect(problems.some((p) => pattern.test(p))).toBe(true);
    for (const problem of problems) expect(problem.startsWith('smoke.yml')).toBe(true);
  });

  test('all problems are reported at once, case by case', () => {
    const error = (() => {
      try {
        parseSmokeSpec(
          'cases: [{name: a, event: {}, expect: {status: 1}}, {name: b, http: {method: GET, path: x}}]',
          'specs/smoke.yml',
        );
      } catch (e) {
        return e as SmokeSpecError;
      }
      throw new Error('not rejected');
    })();
    expect(error).toBeInstanceOf(SmokeSpecError);
    expect(error.problems).toHaveLength(2);
    expect(error.message).toContain('specs/smoke.yml has 2 problems');
    expect(error.message).toContain(`cases[0] ("a"): field 'expect.status'`);
    expect(error.message).toContain(`cases[1] ("b"): field 'http.path'`);
  });

  test('YAML syntax errors carry the file and line', () => {
    const problems = problemsOf('cases:\n  - name: a\n    event: {sl: 1\n', 'bad.yml');
    expect(problems[0]).toMatch(/^bad\.yml:\d+:\d+: not valid YAML\/JSON/);
  });

  test('duplicate keys are a syntax error, not a silent overwrite', () => {
    const problems = problemsOf('cases: [{name: a, event: {}}]\ncases: []', 'dup.yml');
    expect(problems[0]).toMatch(/^dup\.yml:2:1: not valid YAML\/JSON/);
  });
});

describe('suggestKey', () => {
  test('ignores case, dashes and underscores; gives up on distant words', () => {
    expect(suggestKey('Max_Latency_MS', ['max-latency-ms', 'tolerance'])).toBe('max-latency-ms');
    expect(suggestKey('tolerence', ['max-latency-ms', 'tolerance'])).toBe('tolerance');
    expect(suggestKey('qqq', ['max-latency-ms', 'tolerance'])).toBeUndefined();
  });
});

describe('loadSmokeSpec', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'smoke-spec-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('reads and validates a file, naming it in errors', async () => {
    const good = join(dir, 'good.yml');
    await writeFile(good, DESIGN_EXAMPLE);
    expect((await loadSmokeSpec(good)).cases).toHaveLength(4);
    const bad = join(dir, 'bad.json');
    await writeFile(bad, '{"cases": [{"name": "x", "event": {}, "expect": {"status": 9}}]}');
    await expect(loadSmokeSpec(bad)).rejects.toThrow(
      `${bad}: cases[0] ("x"): field 'expect.status'`,
    );
  });

  test('a missing file says so and points at the input', async () => {
    await expect(loadSmokeSpec(join(dir, 'nope.yml'))).rejects.toThrow(
      /nope\.yml: cannot be read \(file not found\); check the 'smoke-tests' input/,
    );
  });
});
