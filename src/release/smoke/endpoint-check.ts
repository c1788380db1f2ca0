import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import {
  requestFunctionUrl,
  UrlTimeoutError,
  type UrlAnswer,
  type UrlRequest,
  type UrlRequestOptions,
} from '../../aws/url-request.js';
import type { Logger } from '../../log.js';
import type { UrlAuth } from '../../settings.js';
import { DEFAULT_INVOKE_TIMEOUT_MS, type InvocationResult } from './invoke.js';
import { runSmokeTests, type SmokeRunResult } from './smoke-run.js';
import type { SmokeCase, SmokeSpec } from './smoke-spec.js';

const USER_AGENT = 'lambda-ml-deploy-endpoint-check';

export interface EndpointTarget {
  /** The alias's function URL. */
  url: string;
  auth: UrlAuth;
  region: string;
  /** For SigV4 (AWS_IAM): the run's credentials. */
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** A custom AWS endpoint (local emulator) that serves the URL by its Host header. */
  endpoint?: string;
  logger: Logger;
  /** Sends the request (tests replace it). */
  send?: (request: UrlRequest, options: UrlRequestOptions) => Promise<UrlAnswer>;
}

/** The HTTP request an endpoint case sends: JSON bodies get a content type. Pure. */
export function endpointRequest(url: string, smokeCase: SmokeCase): UrlRequest {
  const spec = smokeCase.http;
  if (!spec) throw new Error(`endpoint case '${smokeCase.name}' has no http request`);
  const headers: Record<string, string> = { 'user-agent': USER_AGENT, ...(spec.headers ?? {}) };
  const request: UrlRequest = { url, method: spec.method, path: spec.path, headers };
  if (typeof spec.body === 'string') request.body = spec.body;
  else if (spec.body !== undefined) {
    request.body = JSON.stringify(spec.body);
    if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type'))
      headers['content-type'] = 'application/json';
  }
  if (spec.query) request.query = spec.query;
  return request;
}

/**
 * An HTTP answer in the shape the smoke matcher judges: a proxy-style response {statusCode, body,
 * headers}, so `expect.status` and `expect.body` mean what they mean for http smoke cases. Pure.
 */
export function answerAsInvocation(answer: UrlAnswer): InvocationResult {
  return {
    payloadText: answer.body,
    parsed: { statusCode: answer.status, body: answer.body, headers: answer.headers },
    latencyMs: answer.latencyMs,
    ...(answer.headers['x-amz-executed-version']
      ? { executedVersion: answer.headers['x-amz-executed-version'] }
      : {}),
  };
}

/** Sends one endpoint case through the URL (signed for AWS_IAM) and returns what came back. */
export function endpointInvoker(
  target: EndpointTarget,
  defaultTimeoutMs = DEFAULT_INVOKE_TIMEOUT_MS,
): (smokeCase: SmokeCase) => Promise<InvocationResult> {
  const send = target.send ?? requestFunctionUrl;
  return async (smokeCase) => {
    const timeoutMs = smokeCase.timeoutMs ?? defaultTimeoutMs;
    const started = performance.now();
    try {
      const answer = await send(endpointRequest(target.url, smokeCase), {
        timeoutMs,
        ...(target.endpoint ? { endpoint: target.endpoint } : {}),
        ...(target.auth === 'AWS_IAM'
          ? {
              sign: {
                region: target.region,
                credentials: target.credentials ?? missingCredentials,
              },
            }
          : {}),
      });
      return answerAsInvocation(answer);
    } catch (error) {
      if (error instanceof UrlTimeoutError)
        return {
          payloadText: '',
          latencyMs: performance.now() - started,
          timedOut: true,
          timeoutMs,
        };
      throw error;
    }
  };
}

const missingCredentials: AwsCredentialIdentityProvider = () =>
  Promise.reject(new Error('no AWS credentials to sign the function URL request with'));

/** Runs the spec's endpoint cases through the URL, a few at a time, and logs each result. */
export async function checkEndpoint(
  spec: SmokeSpec,
  target: EndpointTarget,
): Promise<SmokeRunResult> {
  return runSmokeTests({
    cases: spec.endpoint ?? [],
    invoke: endpointInvoker(target, spec.defaults.timeoutMs),
    concurrency: spec.concurrency,
    logger: target.logger,
  });
}
