import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument } from 'yaml';
import { errorMessage } from '../../errors.js';
import { parsePercent, type ColdStartBudget, type MemoryBudget } from './cold-start.js';

/** HTTP methods an API Gateway REST proxy event can carry. */
export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

/** A JSON value as it comes out of the spec (YAML is read into plain JSON data). */
export type JsonValue =
  string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface HttpRequestSpec {
  method: HttpMethod;
  /** Always starts with '/'; the query string goes in `query`. */
  path: string;
  /** An object or array is sent JSON-encoded; a string is sent as is. */
  body?: JsonValue;
  headers?: Record<string, string>;
  /** A list value becomes a multi-value query parameter. */
  query?: Record<string, string | string[]>;
}

export interface SmokeExpect {
  /** Deep subset of the returned JSON payload (or of the error payload when `error: true`). */
  payload?: JsonValue;
  /** statusCode of an API Gateway proxy response. */
  status?: number;
  /** Deep subset of the proxy response's JSON body; a string is compared with the raw body. */
  body?: JsonValue;
  /** Absolute tolerance for numbers (0: exact). */
  tolerance?: number;
  maxLatencyMs?: number;
  /** true: the case passes only when the function returned an error. */
  error?: boolean;
}

export interface SmokeCase {
  /** Position in the spec's `cases` list (0-based). */
  index: number;
  name: string;
  /** Exactly one of `event` and `http` is set. */
  event?: JsonValue;
  http?: HttpRequestSpec;
  /** Spec defaults already merged in. */
  expect: SmokeExpect;
  /** Invocation budget: longer is a failure (spec `timeout-ms`, case or defaults). */
  timeoutMs?: number;
}

export interface SmokeDefaults {
  tolerance?: number;
  maxLatencyMs?: number;
  timeoutMs?: number;
}

export interface SmokeSpec {
  file: string;
  cases: SmokeCase[];
  /** Parallel invocations, when the spec sets it. */
  concurrency?: number;
  defaults: SmokeDefaults;
  /** Budgets for the first (cold) invocation of the version. */
  coldStart?: ColdStartBudget;
  memory?: MemoryBudget;
  /** HTTP cases sent through the alias's function URL after the shift (each has `http`). */
  endpoint?: SmokeCase[];
}

/** Every problem found in a spec, one line each, all reported at once. */
export class SmokeSpecError extends Error {
  override name = 'SmokeSpecError';
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(
      problems.length === 1
        ? `Smoke-test spec ${problems[0]}`
        : `Smoke-test spec ${file} has ${problems.length} problems:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
  }
}

/** The fields the spec allows at each level (schema/smoke-spec.schema.json must list the same). */
export const SPEC_FIELDS = {
  top: ['cases', 'defaults', 'concurrency', 'cold-start', 'memory', 'endpoint'],
  endpoint: ['name', 'http', 'expect', 'timeout-ms'],
  'endpoint-expect': ['status', 'body', 'tolerance', 'max-latency-ms'],
  'cold-start': ['max-init-ms', 'max-regression'],
  memory: ['max-used-percent'],
  defaults: ['tolerance', 'max-latency-ms', 'timeout-ms'],
  case: ['name', 'event', 'http', 'expect', 'timeout-ms'],
  http: ['method', 'path', 'body', 'headers', 'query'],
  expect: ['payload', 'status', 'body', 'tolerance', 'max-latency-ms', 'error'],
} as const;
const TOP_KEYS = SPEC_FIELDS.top;
const COLD_START_KEYS = SPEC_FIELDS['cold-start'];
const MEMORY_KEYS = SPEC_FIELDS.memory;
const DEFAULT_KEYS = SPEC_FIELDS.defaults;
const CASE_KEYS = SPEC_FIELDS.case;
const HTTP_KEYS = SPEC_FIELDS.http;
const EXPECT_KEYS = SPEC_FIELDS.expect;
export const MAX_CONCURRENCY = 64;

type Report = (where: string, detail: string) => void;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string')
    return `"${value.length > 40 ? `${value.slice(0, 40)}...` : value}"`;
  return `${typeof value} ${String(value)}`;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
}

/** The allowed key closest to a misspelt one (case, '-' and '_' ignored), if any is close. */
export function suggestKey(key: string, allowed: readonly string[]): string | undefined {
  const normal = (s: string) => s.toLowerCase().replace(/[-_\s]/g, '');
  let best: string | undefined;
  let bestScore = Infinity;
  for (const candidate of allowed) {
    const score = editDistance(normal(key), normal(candidate));
    if (score < bestScore) {
      best = candidate;
      bestScore = score;
    }
  }
  const limit = Math.max(1, Math.floor(normal(key).length / 3));
  return bestScore <= limit ? best : undefined;
}

function checkKeys(
  record: Record<string, unknown>,
  allowed: readonly string[],
  where: string,
  report: Report,
): void {
  for (const key of Object.keys(record)) {
    if (allowed.includes(key)) continue;
    const suggestion = suggestKey(key, allowed);
    const hint = suggestion ? `did you mean '${suggestion}'?` : `allowed: ${allowed.join(', ')}`;
    report(where ? `${where}.${key}` : key, `unknown field; ${hint}`);
  }
}

function positiveInt(
  value: unknown,
  field: string,
  report: Report,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0 || value > max) {
    report(
      field,
      `must be a positive whole number${max < Number.MAX_SAFE_INTEGER ? ` up to ${max}` : ''}, got ${describeValue(value)}`,
    );
    return undefined;
  }
  return value;
}

function tolerance(value: unknown, field: string, report: Report): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    report(
      field,
      `must be a number >= 0 (absolute tolerance for numbers), got ${describeValue(value)}`,
    );
    return undefined;
  }
  return value;
}

function stringMap(
  value: unknown,
  field: string,
  report: Report,
  allowLists: boolean,
): Record<string, string | string[]> | undefined {
  if (value === undefined) return undefined;
  if (!isRecord(value)) {
    report(field, `must be a mapping of names to values, got ${describeValue(value)}`);
    return undefined;
  }
  const result: Record<string, string | string[]> = {};
  const scalar = (v: unknown) =>
    typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
  for (const [key, v] of Object.entries(value)) {
    if (scalar(v)) result[key] = String(v);
    else if (allowLists && Array.isArray(v) && v.length > 0 && v.every(scalar))
      result[key] = v.map(String);
    else
      report(
        `${field}.${key}`,
        `must be a text${allowLists ? ' or a non-empty list of texts' : ''}, got ${describeValue(v)}`,
      );
  }
  return result;
}

function parseHttp(value: unknown, where: string, report: Report): HttpRequestSpec | undefined {
  if (!isRecord(value)) {
    report(
      where,
      `must be a mapping {method, path, body?, headers?, query?}, got ${describeValue(value)}`,
    );
    return undefined;
  }
  checkKeys(value, HTTP_KEYS, where, report);
  let method: HttpMethod | undefined;
  const rawMethod = value.method;
  if (rawMethod === undefined)
    report(`${where}.method`, `is required (one of ${HTTP_METHODS.join(', ')})`);
  else if (
    typeof rawMethod !== 'string' ||
    !HTTP_METHODS.includes(rawMethod.toUpperCase() as HttpMethod)
  ) {
    report(
      `${where}.method`,
      `must be one of ${HTTP_METHODS.join(', ')}, got ${describeValue(rawMethod)}`,
    );
  } else method = rawMethod.toUpperCase() as HttpMethod;

  let path: string | undefined;
  const rawPath = value.path;
  if (rawPath === undefined) report(`${where}.path`, `is required (e.g. /predict)`);
  else if (typeof rawPath !== 'string' || !rawPath.startsWith('/')) {
    report(`${where}.path`, `must start with '/', got ${describeValue(rawPath)}`);
  } else if (rawPath.includes('?') || rawPath.includes('#')) {
    report(
      `${where}.path`,
      `must not contain a query string; put parameters under '${where}.query'`,
    );
  } else path = rawPath;

  const body = value.body;
  if (body !== undefined && !(typeof body === 'string' || typeof body === 'object')) {
    report(
      `${where}.body`,
      `must be a mapping or list (sent as JSON) or a text (sent as is), got ${describeValue(body)}`,
    );
  } else if (body === null) {
    report(
      `${where}.body`,
      `must be a mapping or list (sent as JSON) or a text (sent as is), got null; leave it out for no body`,
    );
  }
  const headers = stringMap(value.headers, `${where}.headers`, report, false) as
    Record<string, string> | undefined;
  const query = stringMap(value.query, `${where}.query`, report, true);
  if (!method || !path) return undefined;
  const http: HttpRequestSpec = { method, path };
  if (body !== undefined && body !== null) http.body = body as JsonValue;
  if (headers) http.headers = headers;
  if (query) http.query = query;
  return http;
}

function parseExpect(value: unknown, where: string, report: Report): SmokeExpect {
  const expect: SmokeExpect = {};
  if (value === undefined) return expect;
  if (!isRecord(value)) {
    report(
      where,
      `must be a mapping (payload, status, body, tolerance, max-latency-ms, error), got ${describeValue(value)}`,
    );
    return expect;
  }
  checkKeys(value, EXPECT_KEYS, where, report);
  if ('payload' in value) {
    if (value.payload === null || value.payload === undefined)
      report(
        `${where}.payload`,
        'must be a value to compare (a mapping, list, text, number or boolean), got null',
      );
    else expect.payload = value.payload as JsonValue;
  }
  if (value.status !== undefined) {
    const s = value.status;
    if (typeof s !== 'number' || !Number.isInteger(s) || s < 100 || s > 599) {
      report(
        `${where}.status`,
        `must be an HTTP status code (a whole number from 100 to 599), got ${describeValue(s)}`,
      );
    } else expect.status = s;
  }
  if ('body' in value) {
    if (value.body === null || value.body === undefined)
      report(
        `${where}.body`,
        'must be a mapping or list (deep subset of the JSON body) or a text (compared with the body), got null',
      );
    else expect.body = value.body as JsonValue;
  }
  const tol = tolerance(value.tolerance, `${where}.tolerance`, report);
  if (tol !== undefined) expect.tolerance = tol;
  const latency = positiveInt(value['max-latency-ms'], `${where}.max-latency-ms`, report);
  if (latency !== undefined) expect.maxLatencyMs = latency;
  if (value.error !== undefined) {
    if (typeof value.error !== 'boolean')
      report(`${where}.error`, `must be true or false, got ${describeValue(value.error)}`);
    else expect.error = value.error;
  }
  if (expect.error === true && (expect.status !== undefined || expect.body !== undefined)) {
    report(
      `${where}.error`,
      `cannot be combined with status/body: a function error has no HTTP response (use 'payload' to check errorType/errorMessage)`,
    );
  }
  return expect;
}

function parseDefaults(value: unknown, report: Report): SmokeDefaults {
  const defaults: SmokeDefaults = {};
  if (value === undefined) return defaults;
  if (!isRecord(value)) {
    report(
      'defaults',
      `must be a mapping (${DEFAULT_KEYS.join(', ')}), got ${describeValue(value)}`,
    );
    return defaults;
  }
  checkKeys(value, DEFAULT_KEYS, 'defaults', report);
  const tol = tolerance(value.tolerance, 'defaults.tolerance', report);
  if (tol !== undefined) defaults.tolerance = tol;
  const latency = positiveInt(value['max-latency-ms'], 'defaults.max-latency-ms', report);
  if (latency !== undefined) defaults.maxLatencyMs = latency;
  const timeout = positiveInt(value['timeout-ms'], 'defaults.timeout-ms', report);
  if (timeout !== undefined) defaults.timeoutMs = timeout;
  return defaults;
}

function parseColdStart(value: unknown, report: Report): ColdStartBudget | undefined {
  if (value === undefined) return undefined;
  if (!isRecord(value)) {
    report(
      'cold-start',
      `must be a mapping {max-init-ms, max-regression}, e.g. {max-init-ms: 3000, max-regression: 50%}, got ${describeValue(value)}`,
    );
    return undefined;
  }
  checkKeys(value, COLD_START_KEYS, 'cold-start', report);
  const budget: ColdStartBudget = {};
  const maxInit = positiveInt(value['max-init-ms'], 'cold-start.max-init-ms', report);
  if (maxInit !== undefined) budget.maxInitMs = maxInit;
  const raw = value['max-regression'];
  if (raw !== undefined) {
    const percent = parsePercent(raw);
    if (percent === undefined)
      report(
        'cold-start.max-regression',
        `must be a percentage such as 50% (how much slower than the served version's cold start is allowed), got ${describeValue(raw)}`,
      );
    else budget.maxRegressionPercent = percent;
  }
  return budget;
}

function parseMemory(value: unknown, report: Report): MemoryBudget | undefined {
  if (value === undefined) return undefined;
  if (!isRecord(value)) {
    report('memory', `must be a mapping {max-used-percent}, got ${describeValue(value)}`);
    return undefined;
  }
  checkKeys(value, MEMORY_KEYS, 'memory', report);
  const raw = value['max-used-percent'];
  const percent = parsePercent(raw);
  if (raw === undefined) {
    report('memory.max-used-percent', 'is required (e.g. 90: warn above 90% of memory-size)');
  } else if (percent === undefined || percent <= 0 || percent > 100) {
    report(
      'memory.max-used-percent',
      `must be a percentage of memory-size from 1 to 100, got ${describeValue(raw)}`,
    );
  } else return { maxUsedPercent: percent };
  return undefined;
}

/** Validates already-parsed spec data. Throws SmokeSpecError listing every problem. */
export function validateSmokeSpec(data: unknown, file: string): SmokeSpec {
  const problems: string[] = [];
  const topReport: Report = (field, detail) => problems.push(`${file}: field '${field}' ${detail}`);

  if (!isRecord(data)) {
    throw new SmokeSpecError(file, [
      `${file}: must be a mapping with a 'cases' list (see the smoke-test spec in the README), got ${describeValue(data)}`,
    ]);
  }
  checkKeys(data, TOP_KEYS, '', topReport);
  const defaults = parseDefaults(data.defaults, topReport);
  const concurrency = positiveInt(data.concurrency, 'concurrency', topReport, MAX_CONCURRENCY);
  const coldStart = parseColdStart(data['cold-start'], topReport);
  const memory = parseMemory(data.memory, topReport);

  const cases: SmokeCase[] = [];
  const rawCases = data.cases;
  if (rawCases === undefined)
    topReport(
      'cases',
      'is required: a list of test cases, each with a name and an event or http request',
    );
  else if (!Array.isArray(rawCases) || rawCases.length === 0) {
    topReport('cases', `must be a non-empty list of test cases, got ${describeValue(rawCases)}`);
  } else {
    cases.push(...parseCases(rawCases, 'cases', defaults, file, problems));
  }
  let endpoint: SmokeCase[] | undefined;
  const rawEndpoint = data.endpoint;
  if (rawEndpoint !== undefined) {
    if (!Array.isArray(rawEndpoint) || rawEndpoint.length === 0)
      topReport(
        'endpoint',
        `must be a non-empty list of HTTP cases sent through the function URL, got ${describeValue(rawEndpoint)}`,
      );
    else endpoint = parseCases(rawEndpoint, 'endpoint', defaults, file, problems);
  }
  if (problems.length > 0) throw new SmokeSpecError(file, problems);
  const spec: SmokeSpec = { file, cases, defaults };
  if (concurrency !== undefined) spec.concurrency = concurrency;
  if (coldStart) spec.coldStart = coldStart;
  if (memory) spec.memory = memory;
  if (endpoint) spec.endpoint = endpoint;
  return spec;
}

/**
 * The cases of one list: `cases` (an event or an http request each) or `endpoint` (an http
 * request each, judged on the HTTP response: status, body, latency). Problems go to `problems`.
 */
function parseCases(
  rawCases: unknown[],
  list: 'cases' | 'endpoint',
  defaults: SmokeDefaults,
  file: string,
  problems: string[],
): SmokeCase[] {
  const cases: SmokeCase[] = [];
  const seen = new Map<string, number>();
  rawCases.forEach((raw, index) => {
    const name =
      isRecord(raw) && typeof raw.name === 'string' && raw.name.trim()
        ? raw.name.trim()
        : undefined;
    const label = `${list}[${index}]${name ? ` ("${name}")` : ''}`;
    const report: Report = (field, detail) =>
      problems.push(`${file}: ${label}: field '${field}' ${detail}`);
    if (!isRecord(raw)) {
      problems.push(
        `${file}: ${label}: must be a mapping with name, ${list === 'endpoint' ? 'http' : 'event or http'}, and expect; got ${describeValue(raw)}`,
      );
      return;
    }
    checkKeys(raw, list === 'endpoint' ? SPEC_FIELDS.endpoint : CASE_KEYS, '', report);
    if (!name)
      report(
        'name',
        raw.name === undefined
          ? 'is required (a unique, non-empty text)'
          : `must be a non-empty text, got ${describeValue(raw.name)}`,
      );
    else if (seen.has(name))
      report('name', `duplicates the name of ${list}[${seen.get(name)}]; names must be unique`);
    else seen.set(name, index);

    const hasEvent = 'event' in raw;
    const hasHttp = 'http' in raw;
    let event: JsonValue | undefined;
    let http: HttpRequestSpec | undefined;
    if (list === 'endpoint') {
      if (!hasHttp)
        report(
          'http',
          'is required: the request sent to the function URL, e.g. {method: POST, path: /}',
        );
      else http = parseHttp(raw.http, 'http', report);
    } else if (hasEvent && hasHttp) report('event', "and 'http' are both set; give exactly one");
    else if (!hasEvent && !hasHttp)
      report(
        'event',
        "or 'http' is required: the raw event to invoke with, or an HTTP request to wrap as an API Gateway proxy event",
      );
    else if (hasEvent) {
      if (raw.event === null || raw.event === undefined)
        report('event', 'is empty (null); use {} for an empty event');
      else event = raw.event as JsonValue;
    } else http = parseHttp(raw.http, 'http', report);

    if (list === 'endpoint' && isRecord(raw.expect))
      checkKeys(raw.expect, SPEC_FIELDS['endpoint-expect'], 'expect', (field, detail) =>
        report(
          field,
          `${detail} (an endpoint case is judged on the HTTP response: status, body, latency)`,
        ),
      );
    const expect = parseExpect(
      list === 'endpoint' && isRecord(raw.expect)
        ? Object.fromEntries(
            Object.entries(raw.expect).filter(([k]) =>
              (SPEC_FIELDS['endpoint-expect'] as readonly string[]).includes(k),
            ),
          )
        : raw.expect,
      'expect',
      report,
    );
    const timeoutMs = positiveInt(raw['timeout-ms'], 'timeout-ms', report) ?? defaults.timeoutMs;
    if (expect.tolerance === undefined && defaults.tolerance !== undefined)
      expect.tolerance = defaults.tolerance;
    if (expect.maxLatencyMs === undefined && defaults.maxLatencyMs !== undefined)
      expect.maxLatencyMs = defaults.maxLatencyMs;

    const smokeCase: SmokeCase = { index, name: name ?? `${list}[${index}]`, expect };
    if (event !== undefined) smokeCase.event = event;
    if (http) smokeCase.http = http;
    if (timeoutMs !== undefined) smokeCase.timeoutMs = timeoutMs;
    cases.push(smokeCase);
  });
  return cases;
}

/** Parses a YAML or JSON smoke-test spec and validates it strictly; `file` is used in messages. */
export function parseSmokeSpec(text: string, file: string): SmokeSpec {
  const lines = new LineCounter();
  const document = parseDocument(text, {
    prettyErrors: false,
    uniqueKeys: true,
    lineCounter: lines,
  });
  if (document.errors.length > 0) {
    throw new SmokeSpecError(
      file,
      document.errors.map((e) => {
        const position = lines.linePos(e.pos[0]);
        return `${file}${position ? `:${position.line}:${position.col}` : ''}: not valid YAML/JSON: ${e.message.split('\n')[0]}`;
      }),
    );
  }
  let data: unknown;
  try {
    data = document.toJS({ maxAliasCount: 100 });
  } catch (error) {
    throw new SmokeSpecError(file, [
      `${file}: could not be read as YAML/JSON: ${errorMessage(error)}`,
    ]);
  }
  return validateSmokeSpec(data, file);
}

/** Reads and validates a spec file. */
export async function loadSmokeSpec(path: string): Promise<SmokeSpec> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const detail = code === 'ENOENT' ? 'file not found' : errorMessage(error);
    throw new SmokeSpecError(path, [
      `${path}: cannot be read (${detail}); check the 'smoke-tests' input`,
    ]);
  }
  return parseSmokeSpec(text, path);
}
