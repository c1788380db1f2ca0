import type { InvocationResult } from './invoke.js';
import type { JsonValue, SmokeCase } from './smoke-spec.js';

export interface CaseVerdict {
  passed: boolean;
  /** One line per failure kind, each readable on its own (the summary table shows these). */
  reasons: string[];
  /** Every mismatch, one path per line: `$.body.prediction: expected 0.87 ±0.01, got 0.42`. */
  diff?: string;
}

export interface Mismatch {
  path: string;
  message: string;
}

const MAX_SHOWN = 80;

/** A value as JSON, shortened for one-line messages. */
export function show(value: unknown): string {
  let text: string;
  if (value === undefined) text = 'undefined';
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = String(value);
    }
  }
  return text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN - 3)}...` : text;
}

function kind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'list';
  return typeof value === 'object' ? 'object' : typeof value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function childPath(path: string, key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

/** Numbers equal within an absolute tolerance; a hair of slack so 0.87 vs 0.86 at ±0.01 passes. */
export function numbersMatch(expected: number, actual: number, tolerance: number): boolean {
  if (expected === actual) return true;
  const slack = 1e-9 * Math.max(1, Math.abs(expected), Math.abs(actual));
  return Math.abs(expected - actual) <= tolerance + slack;
}

/**
 * Deep subset: objects by key (extra keys in `actual` are fine), lists element-wise with the same
 * length, numbers within `tolerance`, everything else exactly. Returns every mismatch.
 */
export function deepSubset(
  expected: unknown,
  actual: unknown,
  tolerance: number,
  path = '$',
): Mismatch[] {
  if (isPlainObject(expected)) {
    if (!isPlainObject(actual))
      return [
        {
          path,
          message: `expected an object ${show(expected)}, got ${kind(actual)} ${show(actual)}`,
        },
      ];
    const out: Mismatch[] = [];
    for (const [key, value] of Object.entries(expected)) {
      const at = childPath(path, key);
      if (!(key in actual)) out.push({ path: at, message: `missing (expected ${show(value)})` });
      else out.push(...deepSubset(value, actual[key], tolerance, at));
    }
    return out;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual))
      return [
        { path, message: `expected a list ${show(expected)}, got ${kind(actual)} ${show(actual)}` },
      ];
    if (actual.length !== expected.length) {
      return [
        {
          path,
          message: `expected a list of ${expected.length}, got ${actual.length}: ${show(actual)}`,
        },
      ];
    }
    return expected.flatMap((value, i) => deepSubset(value, actual[i], tolerance, `${path}[${i}]`));
  }
  if (typeof expected === 'number') {
    if (typeof actual !== 'number')
      return [{ path, message: `expected ${show(expected)}, got ${kind(actual)} ${show(actual)}` }];
    if (numbersMatch(expected, actual, tolerance)) return [];
    return [
      {
        path,
        message: `expected ${expected}${tolerance > 0 ? ` ±${tolerance}` : ''}, got ${actual}`,
      },
    ];
  }
  if (expected === actual) return [];
  if (kind(expected) !== kind(actual)) {
    return [{ path, message: `expected ${show(expected)}, got ${kind(actual)} ${show(actual)}` }];
  }
  return [{ path, message: `expected ${show(expected)}, got ${show(actual)}` }];
}

function formatMismatches(mismatches: Mismatch[]): string {
  return mismatches.map((m) => `${m.path}: ${m.message}`).join('\n');
}

function summarize(what: string, mismatches: Mismatch[]): string {
  const first = mismatches[0];
  const more = mismatches.length > 1 ? ` (+${mismatches.length - 1} more)` : '';
  return `${what} does not match: ${first.path}: ${first.message}${more}`;
}

/** errorType: errorMessage from a Lambda error payload, or the raw text. */
export function describeFunctionError(result: InvocationResult): string {
  const parsed = result.parsed;
  if (
    isPlainObject(parsed) &&
    (typeof parsed.errorMessage === 'string' || typeof parsed.errorType === 'string')
  ) {
    const type = typeof parsed.errorType === 'string' ? parsed.errorType : 'Error';
    const message = typeof parsed.errorMessage === 'string' ? parsed.errorMessage : '';
    return message ? `${type}: ${message}` : type;
  }
  const text = result.payloadText.trim();
  return text ? show(text) : '(no error payload)';
}

function decodeBody(response: Record<string, unknown>): string | undefined {
  const body = response.body;
  if (body === undefined || body === null) return undefined;
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return response.isBase64Encoded === true ? Buffer.from(text, 'base64').toString('utf8') : text;
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

/** Compares one case's expectations with what its invocation returned. Pure. */
export function matchCase(smokeCase: SmokeCase, result: InvocationResult): CaseVerdict {
  const expect = smokeCase.expect;
  const tolerance = expect.tolerance ?? 0;
  const reasons: string[] = [];
  const mismatches: Mismatch[] = [];

  if (result.timedOut) {
    return {
      passed: false,
      reasons: [`timed out: no answer within ${result.timeoutMs ?? result.latencyMs} ms`],
    };
  }

  const compare = (what: string, expected: JsonValue, actual: unknown, path: string) => {
    const found = deepSubset(expected, actual, tolerance, path);
    if (found.length > 0) {
      reasons.push(summarize(what, found));
      mismatches.push(...found);
    }
  };

  if (result.functionError) {
    if (expect.error !== true) {
      reasons.push(`function error (${result.functionError}): ${describeFunctionError(result)}`);
    } else if (expect.payload !== undefined) {
      compare('error payload', expect.payload, result.parsed, '$');
    }
  } else {
    if (expect.error === true) {
      reasons.push(
        `expected a function error, but the function returned ${show(result.parsed ?? result.payloadText)}`,
      );
    }
    if (expect.payload !== undefined) {
      if (
        result.parsed === undefined &&
        !(typeof expect.payload === 'string' && result.payloadText === expect.payload)
      ) {
        reasons.push(`payload is not JSON: ${show(result.payloadText)}`);
      } else if (result.parsed !== undefined) {
        compare('payload', expect.payload, result.parsed, '$');
      }
    }
    if (expect.status !== undefined || expect.body !== undefined) {
      const response = result.parsed;
      if (!isPlainObject(response) || !('statusCode' in response)) {
        reasons.push(
          `expected an API Gateway proxy response {statusCode, body}, got ${show(response ?? result.payloadText)}`,
        );
      } else {
        if (expect.status !== undefined) {
          const status = Number(response.statusCode);
          if (status !== expect.status) {
            const mismatch = {
              path: '$.statusCode',
              message: `expected ${expect.status}, got ${show(response.statusCode)}`,
            };
            reasons.push(`status ${show(response.statusCode)}, expected ${expect.status}`);
            mismatches.push(mismatch);
          }
        }
        if (expect.body !== undefined) {
          const text = decodeBody(response);
          const parsedBody = text === undefined ? undefined : parseJson(text);
          if (text === undefined) {
            reasons.push(`response has no body (expected ${show(expect.body)})`);
            mismatches.push({ path: '$.body', message: `missing (expected ${show(expect.body)})` });
          } else if (typeof expect.body === 'string') {
            const same =
              text === expect.body || (parsedBody?.ok === true && parsedBody.value === expect.body);
            if (!same) {
              const mismatch = {
                path: '$.body',
                message: `expected ${show(expect.body)}, got ${show(text)}`,
              };
              reasons.push(summarize('body', [mismatch]));
              mismatches.push(mismatch);
            }
          } else if (!parsedBody?.ok) {
            reasons.push(`body is not JSON: ${show(text)}`);
            mismatches.push({
              path: '$.body',
              message: `expected JSON ${show(expect.body)}, got ${show(text)}`,
            });
          } else {
            compare('body', expect.body, parsedBody.value, '$.body');
          }
        }
      }
    }
  }

  if (expect.maxLatencyMs !== undefined && result.latencyMs > expect.maxLatencyMs) {
    reasons.push(
      `latency ${Math.round(result.latencyMs)} ms over the budget of ${expect.maxLatencyMs} ms`,
    );
  }

  const verdict: CaseVerdict = { passed: reasons.length === 0, reasons };
  if (mismatches.length > 0) verdict.diff = formatMismatches(mismatches);
  return verdict;
}
