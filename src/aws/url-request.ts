import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import * as http from 'node:http';
import * as https from 'node:https';
import { SignatureV4 } from '@smithy/signature-v4';
import type {
  AwsCredentialIdentity,
  AwsCredentialIdentityProvider,
  Checksum,
  SourceData,
} from '@smithy/types';

/** One HTTP request to a Lambda function URL, signed with SigV4 when the URL's auth is AWS_IAM. */
export interface UrlRequest {
  /** The function URL, e.g. https://abc.lambda-url.us-east-1.on.aws/ */
  url: string;
  method: string;
  /** Starts with '/'. */
  path: string;
  query?: Record<string, string | string[]>;
  headers?: Record<string, string>;
  body?: string;
}

export interface UrlAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
  latencyMs: number;
}

export interface UrlRequestOptions {
  /** Sign for service `lambda` in `region` (AuthType AWS_IAM). */
  sign?: {
    region: string;
    credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  };
  /**
   * A custom AWS endpoint (AWS_ENDPOINT_URL, a local emulator): the request goes there, with the
   * function URL's host in the Host header, which is how such an emulator tells URL requests apart.
   */
  endpoint?: string;
  timeoutMs: number;
  now?: () => number;
}

/** Thrown when no answer came within the budget. */
export class UrlTimeoutError extends Error {
  override name = 'UrlTimeoutError';
}

/** node:crypto as the signer's hash (SHA-256, or HMAC-SHA-256 with a secret). */
class NodeSha256 implements Checksum {
  private hash: Hash | Hmac;
  constructor(private readonly secret?: SourceData) {
    this.hash = this.fresh();
  }
  private fresh(): Hash | Hmac {
    return this.secret === undefined
      ? createHash('sha256')
      : createHmac('sha256', toBuffer(this.secret));
  }
  update(data: Uint8Array): void {
    this.hash.update(data);
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.hash.digest()));
  }
  reset(): void {
    this.hash = this.fresh();
  }
}

function toBuffer(data: SourceData): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

/** RFC 3986 query string, as SigV4 canonicalises it (spaces as %20, never +). Pure. */
export function queryString(query: Record<string, string | string[]> | undefined): string {
  if (!query) return '';
  const enc = (v: string) =>
    encodeURIComponent(v).replace(
      /[!'()*]/g,
      (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
    );
  const parts: string[] = [];
  for (const [key, value] of Object.entries(query))
    for (const v of Array.isArray(value) ? value : [value]) parts.push(`${enc(key)}=${enc(v)}`);
  return parts.join('&');
}

/** The headers the request is sent with: signed (SigV4, service lambda) when asked. */
export async function requestHeaders(
  request: UrlRequest,
  sign: UrlRequestOptions['sign'],
): Promise<Record<string, string>> {
  const target = new URL(request.url);
  const headers: Record<string, string> = {
    ...Object.fromEntries(
      Object.entries(request.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]),
    ),
    host: target.host,
  };
  if (request.body !== undefined)
    headers['content-length'] = String(Buffer.byteLength(request.body));
  if (!sign) return headers;
  const signer = new SignatureV4({
    service: 'lambda',
    region: sign.region,
    credentials: sign.credentials,
    sha256: NodeSha256,
  });
  const signed = await signer.sign({
    method: request.method,
    protocol: target.protocol,
    hostname: target.hostname,
    ...(target.port ? { port: Number(target.port) } : {}),
    path: request.path,
    query: request.query ?? {},
    headers,
    ...(request.body !== undefined ? { body: request.body } : {}),
  });
  return signed.headers;
}

/** Sends one request to a function URL; resolves with the answer, whatever its status. */
export async function requestFunctionUrl(
  request: UrlRequest,
  options: UrlRequestOptions,
): Promise<UrlAnswer> {
  const now = options.now ?? (() => performance.now());
  const headers = await requestHeaders(request, options.sign);
  const target = new URL(options.endpoint ?? request.url);
  const query = queryString(request.query);
  const transport = target.protocol === 'http:' ? http : https;
  const started = now();
  return new Promise<UrlAnswer>((resolve, reject) => {
    const req = transport.request(
      {
        hostname: target.hostname,
        port: target.port || undefined,
        method: request.method,
        path: `${request.path}${query ? `?${query}` : ''}`,
        headers,
        ...(options.endpoint ? {} : { servername: target.hostname }),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          clearTimeout(timer);
          const answerHeaders: Record<string, string> = {};
          for (const [k, v] of Object.entries(res.headers))
            if (v !== undefined) answerHeaders[k] = Array.isArray(v) ? v.join(', ') : v;
          resolve({
            status: res.statusCode ?? 0,
            headers: answerHeaders,
            body: Buffer.concat(chunks).toString('utf8'),
            latencyMs: now() - started,
          });
        });
      },
    );
    const timer = setTimeout(() => {
      req.destroy(new UrlTimeoutError(`no answer within ${options.timeoutMs} ms`));
    }, options.timeoutMs);
    req.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.end(request.body);
  });
}
