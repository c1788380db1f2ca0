import { randomUUID } from 'node:crypto';
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { callAws, type AwsCallOptions } from '../../aws/call.js';
import { errorCode } from '../../errors.js';
import { isTransient } from '../../retry.js';
import type { HttpRequestSpec, SmokeCase } from './smoke-spec.js';

/** What one invocation of a version returned. */
export interface InvocationResult {
  /** Lambda's FunctionError ('Unhandled', 'Handled'); absent when the function returned normally. */
  functionError?: string;
  /** The response payload as text ('' on timeout). */
  payloadText: string;
  /** The payload parsed as JSON, when it is JSON. */
  parsed?: unknown;
  latencyMs: number;
  /** Last 4 KB of the execution log, base64-decoded (LogType Tail). */
  logTail?: string;
  /** The version Lambda says it ran. */
  executedVersion?: string;
  /** Set when the invocation did not answer within its budget. */
  timedOut?: boolean;
  /** The budget that applied, for messages. */
  timeoutMs?: number;
}

/** API Gateway REST API (v1) Lambda proxy event, as a proxy integration delivers it. */
export interface ApiGatewayProxyEvent {
  resource: string;
  path: string;
  httpMethod: string;
  headers: Record<string, string>;
  multiValueHeaders: Record<string, string[]>;
  queryStringParameters: Record<string, string> | null;
  multiValueQueryStringParameters: Record<string, string[]> | null;
  pathParameters: null;
  stageVariables: null;
  requestContext: {
    resourcePath: string;
    httpMethod: string;
    path: string;
    stage: string;
    requestId: string;
    requestTimeEpoch: number;
    protocol: string;
    identity: { sourceIp: string; userAgent: string };
  };
  body: string | null;
  isBase64Encoded: false;
}

export interface ProxyEventOptions {
  stage?: string;
  requestId?: string;
  /** Epoch ms for requestContext.requestTimeEpoch. */
  now?: number;
}

const USER_AGENT = 'lambda-ml-deploy-smoke';

/** Wraps an HTTP request from the spec as an API Gateway REST proxy event (v1). */
export function buildProxyEvent(
  http: HttpRequestSpec,
  options: ProxyEventOptions = {},
): ApiGatewayProxyEvent {
  const stage = options.stage ?? 'smoke';
  const headers: Record<string, string> = { 'User-Agent': USER_AGENT, ...(http.headers ?? {}) };
  let body: string | null = null;
  if (typeof http.body === 'string') body = http.body;
  else if (http.body !== undefined) {
    body = JSON.stringify(http.body);
    const hasContentType = Object.keys(headers).some((h) => h.toLowerCase() === 'content-type');
    if (!hasContentType) headers['Content-Type'] = 'application/json';
  }
  let query: Record<string, string> | null = null;
  let multiQuery: Record<string, string[]> | null = null;
  if (http.query && Object.keys(http.query).length > 0) {
    query = {};
    multiQuery = {};
    for (const [key, value] of Object.entries(http.query)) {
      const values = Array.isArray(value) ? value : [value];
      query[key] = values[values.length - 1]!; // API Gateway keeps the last value in the single-value map
      multiQuery[key] = values;
    }
  }
  const multiValueHeaders = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]]));
  return {
    resource: http.path,
    path: http.path,
    httpMethod: http.method,
    headers,
    multiValueHeaders,
    queryStringParameters: query,
    multiValueQueryStringParameters: multiQuery,
    pathParameters: null,
    stageVariables: null,
    requestContext: {
      resourcePath: http.path,
      httpMethod: http.method,
      path: `/${stage}${http.path}`,
      stage,
      requestId: options.requestId ?? randomUUID(),
      requestTimeEpoch: options.now ?? Date.now(),
      protocol: 'HTTP/1.1',
      identity: { sourceIp: '127.0.0.1', userAgent: USER_AGENT },
    },
    body,
    isBase64Encoded: false,
  };
}

/** The payload a case sends: its raw event, or its HTTP request as a proxy event. */
export function buildInvokePayload(smokeCase: SmokeCase, options: ProxyEventOptions = {}): unknown {
  if (smokeCase.http) return buildProxyEvent(smokeCase.http, options);
  return smokeCase.event;
}

/** Starts a timer; returns a function that cancels it. Injected in tests. */
export type StartTimer = (onTimeout: () => void, ms: number) => () => void;
const realTimer: StartTimer = (onTimeout, ms) => {
  const handle = setTimeout(onTimeout, ms);
  return () => clearTimeout(handle);
};

/** `attempts` on throttling / 5xx / not-ready default to 4 here. */
export interface InvokeOptions extends AwsCallOptions {
  /** Budget per attempt; longer is a timeout (a failure, not retried). Default 60 s. */
  timeoutMs?: number;
  now?: () => number;
  startTimer?: StartTimer;
}

export const DEFAULT_INVOKE_TIMEOUT_MS = 60_000;
const INVOKE_ATTEMPTS = 4;

class InvokeTimeout extends Error {
  override name = 'InvokeTimeout';
}

/** Invoke errors worth another try: throttling, 5xx, and a version still being prepared. */
export function isRetryableInvokeError(error: unknown): boolean {
  if (error instanceof InvokeTimeout) return false;
  const code = errorCode(error);
  if (code === 'ResourceNotReadyException' || code === 'EC2ThrottledException') return true;
  return isTransient(error);
}

const decoder = new TextDecoder();

function decodeLog(logResult: string | undefined): string | undefined {
  if (!logResult) return undefined;
  return Buffer.from(logResult, 'base64').toString('utf8');
}

/**
 * Invokes one published version (RequestResponse, LogType Tail). Throttling and 5xx are retried
 * with backoff; an attempt longer than `timeoutMs` is aborted and reported as `timedOut`.
 * Other errors (missing function, access denied) are thrown.
 */
export async function invokeVersion(
  lambda: LambdaClient,
  functionName: string,
  qualifier: string,
  payload: unknown,
  options: InvokeOptions = {},
): Promise<InvocationResult> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_INVOKE_TIMEOUT_MS;
  const now = options.now ?? Date.now;
  const startTimer = options.startTimer ?? realTimer;
  const body = new TextEncoder().encode(JSON.stringify(payload ?? null));
  let startedAt = now();
  try {
    const response = await callAws(
      `Invoke ${functionName}:${qualifier}`,
      async () => {
        const controller = new AbortController();
        let cancel: () => void = () => undefined;
        const timeout = new Promise<never>((_, reject) => {
          cancel = startTimer(() => {
            controller.abort();
            reject(new InvokeTimeout(`no answer within ${timeoutMs} ms`));
          }, timeoutMs);
        });
        startedAt = now();
        const call = lambda.send(
          new InvokeCommand({
            FunctionName: functionName,
            Qualifier: qualifier,
            InvocationType: 'RequestResponse',
            LogType: 'Tail',
            Payload: body,
          }),
          { abortSignal: controller.signal },
        );
        call.catch(() => undefined); // the race below may leave it unobserved after a timeout
        try {
          return await Promise.race([call, timeout]);
        } finally {
          cancel();
        }
      },
      {
        ...options,
        // A smoke case is a read: a shorter budget than writes, so a broken version fails fast.
        attempts: options.attempts ?? INVOKE_ATTEMPTS,
        baseDelayMs: options.baseDelayMs ?? 500,
        isRetryable: isRetryableInvokeError,
      },
    );
    const latencyMs = Math.max(0, now() - startedAt);
    const payloadText = response.Payload ? decoder.decode(response.Payload) : '';
    const result: InvocationResult = { payloadText, latencyMs, timeoutMs };
    if (payloadText.trim() !== '') {
      try {
        result.parsed = JSON.parse(payloadText);
      } catch {
        // not JSON: the matcher reports it when JSON was expected
      }
    }
    if (response.FunctionError) result.functionError = response.FunctionError;
    const logTail = decodeLog(response.LogResult);
    if (logTail !== undefined) result.logTail = logTail;
    if (response.ExecutedVersion) result.executedVersion = response.ExecutedVersion;
    return result;
  } catch (error) {
    if (error instanceof InvokeTimeout) {
      return {
        payloadText: '',
        latencyMs: Math.max(0, now() - startedAt),
        timedOut: true,
        timeoutMs,
      };
    }
    throw error;
  }
}

export interface CaseInvokerOptions extends InvokeOptions {
  lambda: LambdaClient;
  functionName: string;
  /** The new version's number: smoke tests never go through an alias. */
  version: string;
  /** Used when a case sets no `timeout-ms`. */
  defaultTimeoutMs?: number;
}

/** `(case) => InvocationResult` for runSmokeTests, bound to one function version. */
export function caseInvoker(
  options: CaseInvokerOptions,
): (smokeCase: SmokeCase) => Promise<InvocationResult> {
  const { lambda, functionName, version, defaultTimeoutMs, ...invokeOptions } = options;
  if (!/^\d+$/.test(version)) {
    throw new Error(`Smoke tests run against a published version number, got '${version}'`);
  }
  return (smokeCase) =>
    invokeVersion(lambda, functionName, version, buildInvokePayload(smokeCase), {
      ...invokeOptions,
      timeoutMs:
        smokeCase.timeoutMs ??
        defaultTimeoutMs ??
        invokeOptions.timeoutMs ??
        DEFAULT_INVOKE_TIMEOUT_MS,
    });
}
