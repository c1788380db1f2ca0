// A fault-injecting proxy between the action and the sandbox's moto. From a seed it decides, for a
// chosen fraction of AWS calls, to answer with throttling, a 5xx before the call reaches moto, a
// 503 after it landed (the write happened, the answer is lost), a ResourceConflictException for
// Lambda writes, a reset connection, or extra latency. It logs every call, every injected fault
// and every alias write (with its routing and whether it landed), and keeps the secrets it saw
// (the web identity token, the assumed credentials) for the log checker.
import * as http from 'node:http';
import { randomUUID } from 'node:crypto';
import { draw, seededUnit } from './random.mjs';

export const FAULT_KINDS = [
  'throttle',
  'error-before',
  'error-after',
  'conflict',
  'reset',
  'latency',
];

const LAMBDA_PATH = /^\/20\d\d-\d\d-\d\d\//;

/** Which AWS service a request is for: the SigV4 credential scope, else its shape. */
export function serviceOf(method, path, headers, body) {
  const auth = String(headers.authorization ?? '');
  const scope = /Credential=[^/]+\/\d{8}\/[^/]+\/([^/]+)\/aws4_request/.exec(auth);
  if (scope) return scope[1] === 'monitoring' ? 'cloudwatch' : scope[1];
  const target = String(headers['x-amz-target'] ?? '');
  if (target.startsWith('GraniteServiceVersion')) return 'cloudwatch';
  if (LAMBDA_PATH.test(path)) return 'lambda';
  if (method === 'POST' && path.split('?')[0] === '/' && /Action=/.test(body)) return 'sts';
  return 's3';
}

const decode = (part) => decodeURIComponent(part ?? '');

/** A readable operation name (and the function/alias it targets) from the request. */
export function describeCall(service, method, url, headers, body) {
  const [path = '', query = ''] = url.split('?');
  if (service === 'sts' || service === 'iam') {
    const action = /(?:^|&)Action=([^&]+)/.exec(body)?.[1];
    return { operation: action ?? `${method} ${path}` };
  }
  if (service === 'cloudwatch') {
    const target = String(headers['x-amz-target'] ?? '');
    const action = target.split('.').pop() || /(?:^|&)Action=([^&]+)/.exec(body)?.[1];
    return { operation: action ?? `${method} ${path}` };
  }
  if (service === 'lambda') {
    const m =
      /^\/\d{4}-\d\d-\d\d\/(functions|layers)(?:\/([^/]+))?(?:\/([^/]+))?(?:\/([^/]+))?/.exec(path);
    const [, kind, name, sub, subName] = m ?? [];
    const fn = decode(name);
    const qualifier = /(?:^|&)Qualifier=([^&]+)/.exec(query)?.[1];
    const op = (operation, extra = {}) => ({ operation, functionName: fn, ...extra });
    if (kind === 'layers') return { operation: `${method} layer ${sub ?? ''}` };
    if (!name) return { operation: method === 'POST' ? 'CreateFunction' : 'ListFunctions' };
    if (sub === 'aliases') {
      if (!subName) return op(method === 'POST' ? 'CreateAlias' : 'ListAliases');
      const alias = decode(subName);
      if (method === 'PUT') return op('UpdateAlias', { alias });
      if (method === 'DELETE') return op('DeleteAlias', { alias });
      return op('GetAlias', { alias });
    }
    if (sub === 'versions') return op(method === 'POST' ? 'PublishVersion' : 'ListVersions');
    if (sub === 'invocations') return op('Invoke', { qualifier: decode(qualifier) });
    if (sub === 'code') return op('UpdateFunctionCode');
    if (sub === 'configuration')
      return op(method === 'PUT' ? 'UpdateFunctionConfiguration' : 'GetFunctionConfiguration', {
        qualifier: decode(qualifier),
      });
    if (sub === 'url') return op(`${method} FunctionUrl`, { qualifier: decode(qualifier) });
    if (sub === 'policy') return op(`${method} Permission`);
    if (!sub && method === 'DELETE') return op('DeleteFunction', { qualifier: decode(qualifier) });
    if (!sub && method === 'GET') return op('GetFunction', { qualifier: decode(qualifier) });
    return op(`${method} ${sub ?? 'function'}`);
  }
  if (method === 'PUT' && /(^|&)partNumber=/.test(query)) return { operation: 'UploadPart' };
  if (method === 'PUT') return { operation: 'PutObject' };
  if (method === 'POST' && /(^|&)uploads(=|&|$)/.test(query))
    return { operation: 'CreateMultipartUpload' };
  if (method === 'POST' && /(^|&)uploadId=/.test(query))
    return { operation: 'CompleteMultipartUpload' };
  if (method === 'HEAD') return { operation: 'HeadObject' };
  if (method === 'GET') return { operation: 'GetObject' };
  return { operation: `${method} ${path}` };
}

const isLambdaWrite = (service, method, operation) =>
  service === 'lambda' && method !== 'GET' && method !== 'HEAD' && operation !== 'Invoke';

/** The error AWS would send, in the protocol of the service: status, headers, body. */
export function errorResponse(service, kind, method) {
  const requestId = randomUUID();
  const shapes = {
    throttle: {
      lambda: [429, 'TooManyRequestsException', 'Rate exceeded'],
      s3: [503, 'SlowDown', 'Please reduce your request rate.'],
      sts: [400, 'Throttling', 'Rate exceeded'],
      cloudwatch: [400, 'Throttling', 'Rate exceeded'],
    },
    'error-before': {
      lambda: [500, 'ServiceException', 'An internal error occurred.'],
      s3: [500, 'InternalError', 'We encountered an internal error. Please try again.'],
      sts: [500, 'InternalFailure', 'An internal error occurred.'],
      cloudwatch: [500, 'InternalServiceError', 'An internal error occurred.'],
    },
    'error-after': {
      lambda: [503, 'ServiceException', 'Service Unavailable'],
      s3: [503, 'ServiceUnavailable', 'Service Unavailable'],
      sts: [503, 'ServiceUnavailable', 'Service Unavailable'],
      cloudwatch: [503, 'ServiceUnavailable', 'Service Unavailable'],
    },
    conflict: {
      lambda: [
        409,
        'ResourceConflictException',
        'The operation cannot be performed at this time. An update is in progress for resource.',
      ],
    },
  };
  const family = service in shapes.throttle ? service : 's3';
  const [status, code, message] = shapes[kind][family] ?? shapes[kind].lambda;
  const headers = { 'x-amzn-requestid': requestId, 'x-amz-request-id': requestId };
  let body = '';
  if (family === 'lambda') {
    headers['x-amzn-errortype'] = code;
    headers['content-type'] = 'application/json';
    body = JSON.stringify({ Type: status < 500 ? 'User' : 'Service', message });
  } else if (family === 'cloudwatch') {
    headers['content-type'] = 'application/x-amz-json-1.0';
    headers['x-amzn-query-error'] = `${code};${status < 500 ? 'Sender' : 'Receiver'}`;
    body = JSON.stringify({ __type: `com.amazonaws.cloudwatch#${code}`, message });
  } else if (family === 'sts') {
    headers['content-type'] = 'text/xml';
    body =
      `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error>` +
      `<Type>${status < 500 ? 'Sender' : 'Receiver'}</Type><Code>${code}</Code>` +
      `<Message>${message}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`;
  } else {
    headers['content-type'] = 'application/xml';
    body =
      `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code>` +
      `<Message>${message}</Message><RequestId>${requestId}</RequestId></Error>`;
  }
  if (method === 'HEAD') body = '';
  headers['content-length'] = String(Buffer.byteLength(body));
  return { status, headers, body };
}

function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const xmlValue = (xml, tag) => new RegExp(`<${tag}>([^<]+)</${tag}>`).exec(xml)?.[1];

/**
 * Starts the proxy. Options: target (moto's URL), seed, rate (0..1, the share of calls faulted),
 * kinds (allowed fault kinds, default all), maxLatencyMs.
 */
export async function startFaultProxy(options) {
  const upstream = new URL(options.target);
  const rate = options.rate ?? 0.1;
  const kinds = options.kinds ?? FAULT_KINDS;
  const maxLatencyMs = options.maxLatencyMs ?? 1500;
  const calls = [];
  const faults = [];
  const aliasWrites = [];
  const versionDeletes = [];
  const published = [];
  const secrets = new Set();
  const perOperation = new Map();
  let active = true;

  const decide = (operation, service, method) => {
    const n = (perOperation.get(operation) ?? 0) + 1;
    perOperation.set(operation, n);
    if (!active || rate <= 0) return undefined;
    const unit = seededUnit(options.seed, `${operation}#${n}`);
    if (unit() >= rate) return undefined;
    const allowed = kinds.filter(
      (k) => k !== 'conflict' || isLambdaWrite(service, method, operation),
    );
    if (allowed.length === 0) return undefined;
    const kind = draw(unit, allowed);
    return { kind, latencyMs: kind === 'latency' ? 100 + Math.floor(unit() * maxLatencyMs) : 0 };
  };

  const forward = (method, url, headers, body) =>
    new Promise((resolve, reject) => {
      const request = http.request(
        { host: upstream.hostname, port: upstream.port, method, path: url, headers },
        (answer) => {
          const chunks = [];
          answer.on('data', (c) => chunks.push(c));
          answer.on('end', () =>
            resolve({
              status: answer.statusCode ?? 502,
              headers: answer.headers,
              body: Buffer.concat(chunks),
            }),
          );
          answer.on('error', reject);
        },
      );
      request.on('error', reject);
      request.end(body);
    });

  const record = (call, text, answer) => {
    const landed = answer !== undefined && answer.status >= 200 && answer.status < 300;
    const json = parseJson(text) ?? {};
    if (call.operation === 'CreateAlias' || call.operation === 'UpdateAlias') {
      aliasWrites.push({
        seq: call.seq,
        operation: call.operation,
        functionName: call.functionName,
        alias: call.operation === 'CreateAlias' ? json.Name : call.alias,
        version: json.FunctionVersion,
        weights: json.RoutingConfig?.AdditionalVersionWeights ?? {},
        revisionId: json.RevisionId,
        description: json.Description,
        fault: call.fault,
        status: answer?.status,
        landed,
        landedAt: performance.now(),
      });
    }
    if (call.operation === 'DeleteAlias') {
      aliasWrites.push({
        seq: call.seq,
        operation: 'DeleteAlias',
        functionName: call.functionName,
        alias: call.alias,
        weights: {},
        fault: call.fault,
        status: answer?.status,
        landed,
      });
    }
    if (call.operation === 'DeleteFunction' && call.qualifier && landed)
      versionDeletes.push({
        seq: call.seq,
        functionName: call.functionName,
        version: call.qualifier,
      });
    if (call.operation === 'PublishVersion' && landed) {
      const out = parseJson(answer.body.toString('utf8')) ?? {};
      published.push({
        functionName: call.functionName,
        version: out.Version,
        sha: out.CodeSha256,
      });
    }
    if (call.operation === 'AssumeRoleWithWebIdentity') {
      const token = /(?:^|&)WebIdentityToken=([^&]+)/.exec(text)?.[1];
      if (token) secrets.add(decodeURIComponent(token.replace(/\+/g, ' ')));
      if (answer) {
        const xml = answer.body.toString('utf8');
        for (const tag of ['SecretAccessKey', 'SessionToken'])
          if (xmlValue(xml, tag)) secrets.add(xmlValue(xml, tag));
      }
    }
  };

  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const method = req.method ?? 'GET';
      const url = req.url ?? '/';
      const body = Buffer.concat(chunks);
      const text = body.toString('utf8');
      const service = serviceOf(method, url, req.headers, text);
      const described = describeCall(service, method, url, req.headers, text);
      const call = { seq: calls.length + 1, at: Date.now(), service, method, url, ...described };
      calls.push(call);
      const fault = decide(call.operation, service, method);
      if (fault) {
        call.fault = fault.kind;
        faults.push({ seq: call.seq, kind: fault.kind, operation: call.operation, service });
      }
      try {
        if (fault?.kind === 'latency') await new Promise((r) => setTimeout(r, fault.latencyMs));
        if (fault?.kind === 'reset') {
          record(call, text, undefined);
          req.socket.destroy();
          return;
        }
        if (fault && fault.kind !== 'latency' && fault.kind !== 'error-after') {
          record(call, text, undefined);
          const error = errorResponse(service, fault.kind, method);
          res.writeHead(error.status, error.headers);
          res.end(error.body);
          return;
        }
        const answer = await forward(method, url, req.headers, body);
        call.status = answer.status;
        record(call, text, answer);
        if (fault?.kind === 'error-after') {
          const error = errorResponse(service, fault.kind, method);
          res.writeHead(error.status, error.headers);
          res.end(error.body);
          return;
        }
        res.writeHead(answer.status, answer.headers);
        res.end(answer.body);
      } catch (error) {
        if (!res.headersSent) res.writeHead(502);
        res.end(String(error));
      }
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    faults,
    aliasWrites,
    versionDeletes,
    published,
    secrets,
    /** Stops injecting (calls still pass and are logged), e.g. for the post step. */
    setActive: (on) => void (active = on),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
