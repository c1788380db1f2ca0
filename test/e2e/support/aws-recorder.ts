import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedCall {
  method: string;
  path: string;
  /** A readable operation name for the calls tests assert on (others: METHOD path). */
  operation: string;
}

/** Names the AWS operations the e2e tests care about, from the REST path and method. */
export function operationOf(method: string, url: string): string {
  const [path = '', query = ''] = url.split('?');
  if (/^\/2018-10-31\/layers\/[^/]+\/versions$/.test(path) && method === 'POST')
    return 'PublishLayerVersion';
  if (/^\/2015-03-31\/functions\/[^/]+\/versions$/.test(path) && method === 'POST')
    return 'PublishVersion';
  if (/^\/2015-03-31\/functions\/[^/]+\/code$/.test(path) && method === 'PUT')
    return 'UpdateFunctionCode';
  if (/^\/2015-03-31\/functions\/[^/]+\/configuration$/.test(path) && method === 'PUT')
    return 'UpdateFunctionConfiguration';
  if (/^\/2015-03-31\/functions$/.test(path) && method === 'POST') return 'CreateFunction';
  if (/^\/2015-03-31\/functions\/[^/]+\/aliases\/[^/]+$/.test(path) && method === 'PUT')
    return 'UpdateAlias';
  if (/^\/2015-03-31\/functions\/[^/]+\/aliases$/.test(path) && method === 'POST')
    return 'CreateAlias';
  if (/^\/2015-03-31\/functions\/[^/]+\/invocations$/.test(path)) return 'Invoke';
  if (/^\/2021-10-31\/functions\/[^/]+\/url$/.test(path)) {
    const url: Record<string, string> = {
      GET: 'GetFunctionUrlConfig',
      POST: 'CreateFunctionUrlConfig',
      PUT: 'UpdateFunctionUrlConfig',
      DELETE: 'DeleteFunctionUrlConfig',
    };
    if (url[method]) return url[method];
  }
  if (/^\/2015-03-31\/functions\/[^/]+\/policy\/?$/.test(path))
    return method === 'POST' ? 'AddPermission' : 'GetPolicy';
  if (/^\/2015-03-31\/functions\/[^/]+\/policy\/[^/]+$/.test(path) && method === 'DELETE')
    return 'RemovePermission';
  // S3, path style: /bucket/key...
  if (/^\/[^/]+\/.+/.test(path)) {
    if (method === 'PUT' && /(^|&)partNumber=/.test(query)) return 'UploadPart';
    if (method === 'PUT') return 'PutObject';
    if (method === 'POST' && /(^|&)uploads(=|&|$)/.test(query)) return 'CreateMultipartUpload';
    if (method === 'HEAD') return 'HeadObject';
  }
  return `${method} ${path}`;
}

/**
 * A pass-through proxy in front of the sandbox's moto: the action under test gets the proxy as
 * AWS_ENDPOINT_URL, and the test reads which operations it really called.
 */
export async function startAwsRecorder(
  target: string,
): Promise<{ url: string; calls: RecordedCall[]; reset(): void; close(): Promise<void> }> {
  const upstream = new URL(target);
  const calls: RecordedCall[] = [];
  const server = http.createServer((req, res) => {
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    calls.push({ method, path: url, operation: operationOf(method, url) });
    const forward = http.request(
      { host: upstream.hostname, port: upstream.port, method, path: url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', (error) => {
      res.writeHead(502);
      res.end(String(error));
    });
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    reset: () => void calls.splice(0, calls.length),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
