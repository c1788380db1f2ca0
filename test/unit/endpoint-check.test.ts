import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { memoryLogger } from '../../src/log.js';
import {
  queryString,
  requestFunctionUrl,
  requestHeaders,
  type UrlRequest,
} from '../../src/aws/url-request.js';
import {
  answerAsInvocation,
  checkEndpoint,
  endpointRequest,
} from '../../src/release/smoke/endpoint-check.js';
import { parseSmokeSpec } from '../../src/release/smoke/smoke-spec.js';
import { endpointChecksWanted } from '../../src/pipelines/endpoint.js';
import type { DeploySettings } from '../../src/settings.js';

const URL_ = 'https://abc123.lambda-url.us-east-1.on.aws/';
const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret', sessionToken: 'tok' };

const spec = parseSmokeSpec(
  [
    'cases:',
    '  - {name: invoke, event: {}}',
    'endpoint:',
    '  - name: predict',
    '    http: {method: POST, path: /predict, body: {x: 1}, query: {v: [a b, c]}}',
    '    expect: {status: 200, body: {y: 2}}',
    '  - name: health',
    '    http: {method: GET, path: /health}',
    '    expect: {status: 200}',
    '    timeout-ms: 50',
  ].join('\n'),
  'spec.yml',
);

describe('endpoint cases', () => {
  it('become HTTP requests: JSON bodies with a content type', () => {
    expect(endpointRequest(URL_, spec.endpoint![0])).toEqual({
      url: URL_,
      method: 'POST',
      path: '/predict',
      headers: {
        'user-agent': 'lambda-ml-deploy-endpoint-check',
        'content-type': 'application/json',
      },
      body: '{"x":1}',
      query: { v: ['a b', 'c'] },
    });
  });

  it('are judged on the HTTP response like http smoke cases', async () => {
    const sent: UrlRequest[] = [];
    const run = await checkEndpoint(spec, {
      url: URL_,
      auth: 'NONE',
      region: 'us-east-1',
      logger: memoryLogger(),
      send: async (request) => {
        sent.push(request);
        return request.path === '/predict'
          ? { status: 200, headers: {}, body: '{"y": 2.0, "z": 1}', latencyMs: 5 }
          : { status: 502, headers: {}, body: 'Internal Server Error', latencyMs: 3 };
      },
    });
    expect(sent.map((r) => r.path).sort()).toEqual(['/health', '/predict']);
    expect(run.passed).toBe(false);
    expect(run.results.map((r) => [r.name, r.passed, r.reasons])).toEqual([
      ['predict', true, []],
      ['health', false, ['status 502, expected 200']],
    ]);
  });

  it('a 2xx answer whose body is not the expected JSON fails with the mismatch', () => {
    expect(answerAsInvocation({ status: 200, headers: {}, body: 'x', latencyMs: 1 })).toEqual({
      payloadText: 'x',
      parsed: { statusCode: 200, body: 'x', headers: {} },
      latencyMs: 1,
    });
  });
});

describe('requestHeaders (SigV4 for AWS_IAM URLs)', () => {
  const request: UrlRequest = { url: URL_, method: 'POST', path: '/predict', body: '{}' };

  it('leaves a NONE request unsigned, with the URL host', async () => {
    const headers = await requestHeaders(request, undefined);
    expect(headers).toEqual({ host: 'abc123.lambda-url.us-east-1.on.aws', 'content-length': '2' });
  });

  it('signs for service lambda in the region, with the session token', async () => {
    const headers = await requestHeaders(request, { region: 'us-east-1', credentials });
    expect(headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/us-east-1\/lambda\/aws4_request, SignedHeaders=[^,]*host[^,]*, Signature=[0-9a-f]{64}$/,
    );
    expect(headers['x-amz-security-token']).toBe('tok');
    expect(headers['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/);
  });

  it('signs a different body differently', async () => {
    const sign = async (body: string) =>
      (await requestHeaders({ ...request, body }, { region: 'us-east-1', credentials }))
        .authorization;
    const [a, b] = await Promise.all([sign('{"a":1}'), sign('{"a":2}')]);
    expect(a).not.toBe(b);
  });

  it('encodes query strings as SigV4 does (%20, never +)', () => {
    expect(queryString({ q: 'a b', k: ["it's", '*'] })).toBe('q=a%20b&k=it%27s&k=%2A');
  });
});

describe('requestFunctionUrl through a custom endpoint', () => {
  let server: http.Server;
  let endpoint: string;
  const seen: Array<{ host?: string; url?: string; body: string; auth?: string }> = [];
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({
          host: req.headers.host,
          url: req.url,
          body: Buffer.concat(chunks).toString(),
          auth: req.headers.authorization,
        });
        if (req.url?.startsWith('/slow')) return; // never answers
        res.writeHead(201, { 'content-type': 'application/json', 'x-amz-executed-version': '3' });
        res.end('{"ok":true}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it("sends the request there with the URL's Host header, signed", async () => {
    const answer = await requestFunctionUrl(
      { url: URL_, method: 'POST', path: '/predict', query: { v: '1' }, body: '{"x":1}' },
      { endpoint, timeoutMs: 5000, sign: { region: 'us-east-1', credentials } },
    );
    expect(answer).toMatchObject({ status: 201, body: '{"ok":true}' });
    expect(answer.headers['x-amz-executed-version']).toBe('3');
    expect(seen.at(-1)).toMatchObject({
      host: 'abc123.lambda-url.us-east-1.on.aws',
      url: '/predict?v=1',
      body: '{"x":1}',
    });
    expect(seen.at(-1)?.auth).toMatch(/^AWS4-HMAC-SHA256 /);
  });

  it('gives up after the timeout', async () => {
    await expect(
      requestFunctionUrl({ url: URL_, method: 'GET', path: '/slow' }, { endpoint, timeoutMs: 100 }),
    ).rejects.toThrow(/no answer within 100 ms/);
  });
});

describe('endpointChecksWanted', () => {
  const settings = (url: boolean, checks: boolean) =>
    ({ endpoint: { url, checks, urlAuth: 'AWS_IAM', cors: {} } }) as unknown as DeploySettings;
  it('runs the endpoint cases when there is a URL and checks are on', () => {
    expect(endpointChecksWanted(settings(true, true), spec)).toBe(true);
    expect(endpointChecksWanted(settings(true, false), spec)).toBe(false);
    expect(endpointChecksWanted(settings(true, true), undefined)).toBe(false);
  });
  it('refuses endpoint cases without a URL before anything is built, naming the fix', () => {
    expect(() => endpointChecksWanted(settings(false, true), spec)).toThrow(
      /Input 'url': is false, but the smoke spec spec.yml has 2 endpoint case\(s\).*set url: true, or endpoint-checks: false/,
    );
    expect(endpointChecksWanted(settings(false, false), spec)).toBe(false);
  });
});
