/**
 * The local sandbox as the e2e tests see it: the variables `bash scripts/sandbox.sh up` wrote to
 * .sandbox/env.json, ready-made AWS SDK client settings, and the GitHub emulation's test hooks.
 * Everything throws "run `bash scripts/sandbox.sh up` first" when the sandbox is not up.
 */
import * as http from 'node:http';
import {
  readSandboxEnv,
  REPO_ROOT,
  SANDBOX_HINT,
} from '../../../scripts/sandbox/action-runner.mjs';

export { REPO_ROOT };

export interface Sandbox {
  /** All variables of .sandbox/env.json (pass them to child processes). */
  env: Record<string, string>;
  /** moto_server, e.g. http://127.0.0.1:41234 */
  endpoint: string;
  region: string;
  /** lmd-sandbox-artifacts */
  bucket: string;
  /** Execution role for CreateFunction: arn:aws:iam::123456789012:role/lambda-ml-deploy-exec */
  roleArn: string;
  /** The role GitHub OIDC assumes: arn:aws:iam::123456789012:role/github-deploy */
  deployRoleArn: string;
  /** lmd-sandbox/build-python3.11:latest (also tagged public.ecr.aws/sam/build-python3.11:latest-x86_64) */
  buildImage: string;
  /** lmd-sandbox/lambda-runtime:python3.11 */
  runtimeImage: string;
  /** python3.11 */
  runtime: string;
  /** The GitHub emulation (REST API base URL and /_sandbox hooks). */
  githubUrl: string;
  oidcRequestUrl: string;
  oidcRequestToken: string;
}

/** Settings for AWS SDK v3 clients that talk to the sandbox's moto. */
export interface SandboxAwsConfig {
  region: string;
  endpoint: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
}

export interface RecordedComment {
  id: number;
  body: string;
  html_url: string;
  created_at: string;
  updated_at: string;
  user: { login: string; type: string };
  repository: string;
  issue_number: number;
}

export interface OidcTokenRequest {
  audience: string;
  sub: string;
  at: string;
}

function required(env: Record<string, string>, key: string): string {
  const value = env[key];
  if (!value) throw new Error(`.sandbox/env.json has no ${key}: ${SANDBOX_HINT}.`);
  return value;
}

/** Reads .sandbox/env.json; throws "... run `bash scripts/sandbox.sh up` first" when missing. */
export function loadSandbox(root: string = REPO_ROOT): Sandbox {
  const env = readSandboxEnv(root);
  return {
    env,
    endpoint: required(env, 'AWS_ENDPOINT_URL'),
    region: required(env, 'AWS_REGION'),
    bucket: required(env, 'SANDBOX_BUCKET'),
    roleArn: required(env, 'SANDBOX_ROLE_ARN'),
    deployRoleArn: required(env, 'SANDBOX_DEPLOY_ROLE_ARN'),
    buildImage: required(env, 'SANDBOX_BUILD_IMAGE'),
    runtimeImage: required(env, 'SANDBOX_RUNTIME_IMAGE'),
    runtime: required(env, 'SANDBOX_RUNTIME'),
    githubUrl: required(env, 'SANDBOX_GITHUB_URL'),
    oidcRequestUrl: required(env, 'ACTIONS_ID_TOKEN_REQUEST_URL'),
    oidcRequestToken: required(env, 'ACTIONS_ID_TOKEN_REQUEST_TOKEN'),
  };
}

/** Region, endpoint and the sandbox's test credentials, for `new LambdaClient(awsConfig(sandbox))`. */
export function awsConfig(sandbox: Sandbox): SandboxAwsConfig {
  return {
    region: sandbox.region,
    endpoint: sandbox.endpoint,
    credentials: {
      accessKeyId: sandbox.env.AWS_ACCESS_KEY_ID ?? 'testing',
      secretAccessKey: sandbox.env.AWS_SECRET_ACCESS_KEY ?? 'testing',
    },
  };
}

async function call(url: string, init?: RequestInit): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(url, init);
  } catch (error) {
    throw new Error(`The sandbox does not answer at ${url} (${String(error)}): ${SANDBOX_HINT}.`);
  }
  if (!response.ok)
    throw new Error(
      `${init?.method ?? 'GET'} ${url}: HTTP ${response.status} ${await response.text()}`,
    );
  return response;
}

/** Fails with the fix when moto or the GitHub emulation does not answer (use in beforeAll). */
export async function assertSandboxUp(sandbox: Sandbox): Promise<void> {
  await call(`${sandbox.endpoint}/moto-api/`);
  await call(`${sandbox.githubUrl}/_sandbox/health`);
}

/** Every PR comment the GitHub emulation holds now (all repositories and issues). */
export async function githubComments(sandbox: Sandbox): Promise<RecordedComment[]> {
  return (await (await call(`${sandbox.githubUrl}/_sandbox/comments`)).json()) as RecordedComment[];
}

/** The OIDC token requests served so far (audience and subject of each). */
export async function oidcTokenRequests(sandbox: Sandbox): Promise<OidcTokenRequest[]> {
  return (await (await call(`${sandbox.githubUrl}/_sandbox/tokens`)).json()) as OidcTokenRequest[];
}

/** Overrides claims of the OIDC tokens served from now on (e.g. { sub: 'repo:other/repo:ref:refs/heads/main' }). */
export async function setOidcClaims(
  sandbox: Sandbox,
  claims: Record<string, string>,
): Promise<void> {
  await call(`${sandbox.githubUrl}/_sandbox/oidc`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(claims),
  });
}

/** Clears recorded comments, token requests and claim overrides of the GitHub emulation. */
export async function resetGithub(sandbox: Sandbox): Promise<void> {
  await call(`${sandbox.githubUrl}/_sandbox/reset`, { method: 'POST' });
}

/** A function name no other test (or earlier run against the same moto) uses. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6).toString(36)}`;
}

export interface UrlResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * A request to a function URL of the sandbox (https://<id>.lambda-url.<region>.on.aws/): sent to
 * moto's port with that Host header, which is how the sandbox's moto tells it from an API call.
 * (fetch cannot set Host, so this uses node:http.)
 */
export async function requestFunctionUrl(
  sandbox: Sandbox,
  functionUrl: string,
  request: { method?: string; path?: string; body?: string; headers?: Record<string, string> } = {},
): Promise<UrlResponse> {
  const host = new URL(functionUrl).host;
  const endpoint = new URL(sandbox.endpoint);
  const body = request.body === undefined ? undefined : Buffer.from(request.body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        hostname: endpoint.hostname,
        port: endpoint.port,
        method: request.method ?? 'GET',
        path: request.path ?? '/',
        headers: {
          ...request.headers,
          host,
          ...(body ? { 'content-length': String(body.length) } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', (error) =>
      reject(new Error(`The sandbox does not answer at ${sandbox.endpoint} (${String(error)})`)),
    );
    req.end(body);
  });
}
