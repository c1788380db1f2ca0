import {
  InvokeCommand,
  LambdaClient,
  type InvokeCommandOutput,
  ResourceNotFoundException,
  TooManyRequestsException,
  ServiceException,
} from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import {
  buildInvokePayload,
  buildProxyEvent,
  caseInvoker,
  invokeVersion,
  type StartTimer,
} from '../../src/release/smoke/invoke.js';
import type { SmokeCase } from '../../src/release/smoke/smoke-spec.js';

const lambdaMock = mockClient(LambdaClient);
const lambda = new LambdaClient({ region: 'us-east-1' });
const noSleep = async () => undefined;
// The SDK wraps payloads in a Uint8Array adapter; the code under test only needs the bytes.
const encode = (value: unknown) =>
  new TextEncoder().encode(
    typeof value === 'string' ? value : JSON.stringify(value),
  ) as unknown as InvokeCommandOutput['Payload'];

function sentPayload(callIndex = 0): unknown {
  const input = lambdaMock.commandCalls(InvokeCommand)[callIndex]!.args[0].input;
  return JSON.parse(new TextDecoder().decode(input.Payload as Uint8Array));
}

/** A clock that moves forward by `step` each time it is read. */
function tickingClock(step: number) {
  let t = 1000;
  return () => {
    const now = t;
    t += step;
    return now;
  };
}

beforeEach(() => lambdaMock.reset());

describe('buildProxyEvent', () => {
  test('wraps an HTTP request as an API Gateway REST proxy event (v1)', () => {
    const event = buildProxyEvent(
      {
        method: 'POST',
        path: '/predict',
        body: { f1: 1.5 },
        headers: { 'X-Api-Key': 'k' },
        query: { debug: 'true', tag: ['a', 'b'] },
      },
      { stage: 'smoke', requestId: 'req-1', now: 1_700_000_000_000 },
    );
    expect(event).toMatchObject({
      resource: '/predict',
      path: '/predict',
      httpMethod: 'POST',
      headers: { 'X-Api-Key': 'k', 'Content-Type': 'application/json' },
      multiValueHeaders: { 'X-Api-Key': ['k'], 'Content-Type': ['application/json'] },
      queryStringParameters: { debug: 'true', tag: 'b' },
      multiValueQueryStringParameters: { debug: ['true'], tag: ['a', 'b'] },
      pathParameters: null,
      stageVariables: null,
      body: '{"f1":1.5}',
      isBase64Encoded: false,
      requestContext: {
        stage: 'smoke',
        requestId: 'req-1',
        httpMethod: 'POST',
        resourcePath: '/predict',
        path: '/smoke/predict',
        requestTimeEpoch: 1_700_000_000_000,
      },
    });
  });

  test('a text body is sent as is, a GET has null body and null query', () => {
    expect(
      buildProxyEvent({
        method: 'POST',
        path: '/',
        body: 'raw text',
        headers: { 'content-type': 'text/plain' },
      }).body,
    ).toBe('raw text');
    const get = buildProxyEvent({ method: 'GET', path: '/health' });
    expect(get.body).toBeNull();
    expect(get.queryStringParameters).toBeNull();
    expect(get.headers['Content-Type']).toBeUndefined();
  });

  test('buildInvokePayload sends a raw event unchanged', () => {
    const c: SmokeCase = { index: 0, name: 'raw', event: { sl: 6.9 }, expect: {} };
    expect(buildInvokePayload(c)).toEqual({ sl: 6.9 });
  });
});

describe('invokeVersion', () => {
  test('invokes the qualifier with RequestResponse and LogType Tail; decodes payload and log', async () => {
    lambdaMock.on(InvokeCommand).resolves({
      StatusCode: 200,
      Payload: encode({ body: 'virginica' }),
      LogResult: Buffer.from('START RequestId: 1\nEND\n').toString('base64'),
      ExecutedVersion: '7',
    });
    const result = await invokeVersion(lambda, 'iris', '7', { sl: 6.9 }, { now: tickingClock(42) });
    expect(lambdaMock.commandCalls(InvokeCommand)[0]!.args[0].input).toMatchObject({
      FunctionName: 'iris',
      Qualifier: '7',
      InvocationType: 'RequestResponse',
      LogType: 'Tail',
    });
    expect(sentPayload()).toEqual({ sl: 6.9 });
    expect(result).toEqual({
      payloadText: '{"body":"virginica"}',
      parsed: { body: 'virginica' },
      latencyMs: 42,
      logTail: 'START RequestId: 1\nEND\n',
      executedVersion: '7',
      timeoutMs: 60_000,
    });
  });

  test('a function error is returned, not thrown', async () => {
    lambdaMock.on(InvokeCommand).resolves({
      StatusCode: 200,
      FunctionError: 'Unhandled',
      Payload: encode({ errorType: 'ValueError', errorMessage: 'x' }),
    });
    const result = await invokeVersion(lambda, 'iris', '7', {});
    expect(result.functionError).toBe('Unhandled');
    expect(result.parsed).toEqual({ errorType: 'ValueError', errorMessage: 'x' });
  });

  test('a payload that is not JSON keeps its text and has no parsed value', async () => {
    lambdaMock.on(InvokeCommand).resolves({ StatusCode: 200, Payload: encode('not json') });
    const result = await invokeVersion(lambda, 'iris', '7', {});
    expect(result.payloadText).toBe('not json');
    expect('parsed' in result).toBe(false);
  });

  test('throttling and 5xx are retried with the injected sleep', async () => {
    const sleeps: number[] = [];
    lambdaMock
      .on(InvokeCommand)
      .rejectsOnce(
        new TooManyRequestsException({
          message: 'Rate exceeded',
          $metadata: { httpStatusCode: 429 },
        }),
      )
      .rejectsOnce(
        new ServiceException({ message: 'internal', $metadata: { httpStatusCode: 500 } }),
      )
      .resolves({ StatusCode: 200, Payload: encode({ ok: true }) });
    const result = await invokeVersion(
      lambda,
      'iris',
      '7',
      {},
      { sleep: async (ms) => void sleeps.push(ms) },
    );
    expect(result.parsed).toEqual({ ok: true });
    expect(lambdaMock.commandCalls(InvokeCommand)).toHaveLength(3);
    expect(sleeps).toHaveLength(2);
  });

  test('a missing function is thrown at once', async () => {
    lambdaMock.on(InvokeCommand).rejects(
      new ResourceNotFoundException({
        message: 'Function not found',
        $metadata: { httpStatusCode: 404 },
      }),
    );
    await expect(invokeVersion(lambda, 'iris', '7', {}, { sleep: noSleep })).rejects.toThrow(
      'Function not found',
    );
    expect(lambdaMock.commandCalls(InvokeCommand)).toHaveLength(1);
  });

  test('an invocation over its budget is aborted and reported as timed out, not retried', async () => {
    const never = new Promise<never>(() => undefined);
    lambdaMock.on(InvokeCommand).callsFake(() => never);
    let armedFor = 0;
    const fireAtOnce: StartTimer = (onTimeout, ms) => {
      armedFor = ms;
      queueMicrotask(onTimeout);
      return () => undefined;
    };
    const result = await invokeVersion(
      lambda,
      'iris',
      '7',
      {},
      { timeoutMs: 2500, startTimer: fireAtOnce, sleep: noSleep },
    );
    expect(armedFor).toBe(2500);
    expect(result).toMatchObject({ timedOut: true, timeoutMs: 2500, payloadText: '' });
    const signal = (
      (lambdaMock.send.getCall(0).args as unknown[])[1] as { abortSignal?: AbortSignal } | undefined
    )?.abortSignal;
    expect(signal?.aborted).toBe(true);
    expect(lambdaMock.commandCalls(InvokeCommand)).toHaveLength(1);
  });

  test('the timer is cancelled when the answer comes first', async () => {
    lambdaMock.on(InvokeCommand).resolves({ StatusCode: 200, Payload: encode({}) });
    let cancelled = false;
    const timer: StartTimer = () => () => {
      cancelled = true;
    };
    await invokeVersion(lambda, 'iris', '7', {}, { startTimer: timer });
    expect(cancelled).toBe(true);
  });
});

describe('caseInvoker', () => {
  test('binds function and version, wraps http cases, applies the case timeout', async () => {
    lambdaMock
      .on(InvokeCommand)
      .resolves({ StatusCode: 200, Payload: encode({ statusCode: 200, body: '{}' }) });
    const budgets: number[] = [];
    const timer: StartTimer = (_fire, ms) => {
      budgets.push(ms);
      return () => undefined;
    };
    const invoke = caseInvoker({
      lambda,
      functionName: 'iris',
      version: '12',
      defaultTimeoutMs: 30_000,
      startTimer: timer,
    });
    await invoke({
      index: 0,
      name: 'h',
      http: { method: 'GET', path: '/health' },
      expect: {},
      timeoutMs: 1234,
    });
    await invoke({ index: 1, name: 'e', event: { a: 1 }, expect: {} });
    expect(budgets).toEqual([1234, 30_000]);
    expect(lambdaMock.commandCalls(InvokeCommand).map((c) => c.args[0].input.Qualifier)).toEqual([
      '12',
      '12',
    ]);
    expect(sentPayload(0)).toMatchObject({
      httpMethod: 'GET',
      path: '/health',
      isBase64Encoded: false,
    });
    expect(sentPayload(1)).toEqual({ a: 1 });
  });

  test('refuses an alias or $LATEST: smoke tests run against a version number', () => {
    expect(() => caseInvoker({ lambda, functionName: 'iris', version: 'prod' })).toThrow(
      /published version number, got 'prod'/,
    );
    expect(() => caseInvoker({ lambda, functionName: 'iris', version: '$LATEST' })).toThrow(
      /version number/,
    );
  });
});
