import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { ActionError } from '../../errors.js';
import { withRetry, type RetryOptions } from '../../retry.js';

/**
 * A small client of the OCI distribution API (what Docker registries and ECR speak): manifests
 * and blobs, read and written. Credentials: Basic (ECR's authorization token) sent to the
 * registry itself, or the anonymous Bearer token flow public registries ask for on a 401.
 * Plain http only for loopback hosts (a local registry); everything else is https.
 */

export type FetchFn = (url: string, init?: RequestInit) => Promise<Response>;

export const MANIFEST_TYPES = {
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
} as const;

const ACCEPT = Object.values(MANIFEST_TYPES).join(', ');
/** Chunk size of blob uploads (ECR takes 5 MB and more per part, except the last). */
export const UPLOAD_CHUNK = 16 << 20;

export interface ImageReference {
  /** host[:port] */
  registry: string;
  repository: string;
  /** A tag, or a digest (sha256:...). */
  reference: string;
}

/** Parses `host/repo:tag`, `host/repo@sha256:...`; Docker Hub names get docker.io. Pure. */
export function parseImageReference(ref: string): ImageReference {
  let rest = ref;
  let reference = 'latest';
  const at = rest.indexOf('@');
  if (at !== -1) {
    reference = rest.slice(at + 1);
    rest = rest.slice(0, at);
  } else {
    const colon = rest.lastIndexOf(':');
    if (colon > rest.lastIndexOf('/')) {
      reference = rest.slice(colon + 1);
      rest = rest.slice(0, colon);
    }
  }
  const slash = rest.indexOf('/');
  const first = slash === -1 ? '' : rest.slice(0, slash);
  const isHost = first.includes('.') || first.includes(':') || first === 'localhost';
  const registry = isHost ? first : 'registry-1.docker.io';
  let repository = isHost ? rest.slice(slash + 1) : rest;
  if (!isHost && !repository.includes('/')) repository = `library/${repository}`;
  return { registry, repository, reference };
}

const isLoopback = (host: string) => /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/.test(host);

/** The base URL of a registry host (http only for loopback). Pure. */
export function registryUrl(host: string): string {
  return `${isLoopback(host) ? 'http' : 'https'}://${host}`;
}

export interface Manifest {
  mediaType: string;
  bytes: Buffer;
  digest: string;
}

export interface RegistryOptions {
  /** e.g. https://123456789012.dkr.ecr.us-east-1.amazonaws.com or http://127.0.0.1:5000 */
  baseUrl: string;
  /** `user:password` sent as Basic auth (ECR), or undefined: anonymous (Bearer flow on a 401). */
  basic?: string;
  fetch?: FetchFn;
  retry?: RetryOptions;
}

export class RegistryError extends ActionError {
  override name = 'RegistryError';
  constructor(
    what: string,
    readonly status: number,
    detail: string,
  ) {
    super(
      `Registry: ${what} failed with HTTP ${status}${detail ? `: ${detail.slice(0, 300)}` : ''}`,
    );
  }
}

type Body = Buffer | undefined;

/** 429, 5xx and lost connections (fetch's TypeError) are tried again. */
export function isTransientRegistryError(error: unknown): boolean {
  if (error instanceof RegistryError) return error.status === 429 || error.status >= 500;
  return error instanceof TypeError;
}

export class RegistryClient {
  readonly baseUrl: string;
  private readonly fetchFn: FetchFn;
  private readonly basic?: string;
  private bearer?: string;
  private readonly retry: RetryOptions;

  constructor(options: RegistryOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    const url = new URL(this.baseUrl);
    if (url.protocol !== 'https:' && !isLoopback(url.host))
      throw new ActionError(
        `Registry ${url.host}: plain http is only used for a local registry; use https.`,
      );
    this.fetchFn = options.fetch ?? ((u, init) => fetch(u, init));
    this.basic = options.basic;
    this.retry = options.retry ?? {};
  }

  get host(): string {
    return new URL(this.baseUrl).host;
  }

  private auth(): Record<string, string> {
    if (this.bearer) return { authorization: `Bearer ${this.bearer}` };
    if (this.basic) return { authorization: `Basic ${Buffer.from(this.basic).toString('base64')}` };
    return {};
  }

  /** One request, with the Bearer token flow on a 401 and retries on 429/5xx. */
  private async request(
    what: string,
    url: string,
    init: { method: string; headers?: Record<string, string>; body?: Body },
    accept: (status: number) => boolean,
  ): Promise<Response> {
    const full = url.startsWith('http') ? url : `${this.baseUrl}${url}`;
    return withRetry(
      async () => {
        let response = await this.exchange(full, init);
        if (response.status === 401 && (await this.authenticate(response))) {
          response = await this.exchange(full, init);
        }
        if (accept(response.status)) return response;
        const detail = await response.text().catch(() => '');
        throw new RegistryError(what, response.status, detail);
      },
      { ...this.retry, isRetryable: isTransientRegistryError },
    );
  }

  private exchange(
    url: string,
    init: { method: string; headers?: Record<string, string>; body?: Body },
  ): Promise<Response> {
    return this.fetchFn(url, {
      method: init.method,
      headers: { ...this.auth(), ...init.headers },
      ...(init.body ? { body: init.body } : {}),
      redirect: 'follow',
    });
  }

  /** The anonymous (or Basic-authenticated) token a Bearer challenge asks for. */
  private async authenticate(response: Response): Promise<boolean> {
    const challenge = response.headers.get('www-authenticate') ?? '';
    await response.body?.cancel().catch(() => undefined);
    if (!/^bearer /i.test(challenge) || this.bearer) return false;
    const params = Object.fromEntries(
      [...challenge.slice(7).matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]),
    );
    if (!params.realm) return false;
    const realm = new URL(params.realm);
    if (params.service) realm.searchParams.set('service', params.service);
    if (params.scope) realm.searchParams.set('scope', params.scope);
    const tokenResponse = await this.fetchFn(realm.toString(), {
      headers: this.basic
        ? { authorization: `Basic ${Buffer.from(this.basic).toString('base64')}` }
        : {},
    });
    if (!tokenResponse.ok) return false;
    const body = (await tokenResponse.json()) as { token?: string; access_token?: string };
    this.bearer = body.token ?? body.access_token;
    return Boolean(this.bearer);
  }

  async getManifest(repository: string, reference: string): Promise<Manifest> {
    const response = await this.request(
      `GET manifest ${repository}:${reference}`,
      `/v2/${repository}/manifests/${reference}`,
      { method: 'GET', headers: { accept: ACCEPT } },
      (s) => s === 200,
    );
    const bytes = Buffer.from(await response.arrayBuffer());
    const mediaType =
      (response.headers.get('content-type') ?? '').split(';')[0] ||
      ((JSON.parse(bytes.toString('utf8')) as { mediaType?: string }).mediaType ?? '');
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    if (reference.startsWith('sha256:') && reference !== digest)
      throw new ActionError(
        `Registry ${this.host}: manifest ${repository}@${reference} arrived with digest ${digest}.`,
      );
    return { mediaType, bytes, digest };
  }

  /** The digest of a manifest when it exists; undefined on 404. */
  async headManifest(repository: string, reference: string): Promise<boolean> {
    const response = await this.request(
      `HEAD manifest ${repository}:${reference}`,
      `/v2/${repository}/manifests/${reference}`,
      { method: 'HEAD', headers: { accept: ACCEPT } },
      (s) => s === 200 || s === 404,
    );
    return response.status === 200;
  }

  async putManifest(repository: string, tag: string, manifest: Manifest): Promise<void> {
    await this.request(
      `PUT manifest ${repository}:${tag}`,
      `/v2/${repository}/manifests/${tag}`,
      { method: 'PUT', headers: { 'content-type': manifest.mediaType }, body: manifest.bytes },
      (s) => s === 201 || s === 200,
    );
  }

  async getBlob(repository: string, digest: string): Promise<Response> {
    return this.request(
      `GET blob ${repository}@${digest}`,
      `/v2/${repository}/blobs/${digest}`,
      { method: 'GET' },
      (s) => s === 200,
    );
  }

  async getJsonBlob<T>(repository: string, digest: string): Promise<{ value: T; bytes: Buffer }> {
    const response = await this.getBlob(repository, digest);
    const bytes = Buffer.from(await response.arrayBuffer());
    return { value: JSON.parse(bytes.toString('utf8')) as T, bytes };
  }

  async hasBlob(repository: string, digest: string): Promise<boolean> {
    const response = await this.request(
      `HEAD blob ${repository}@${digest}`,
      `/v2/${repository}/blobs/${digest}`,
      { method: 'HEAD' },
      (s) => s === 200 || s === 404,
    );
    return response.status === 200;
  }

  /**
   * Cross-repository mount: the registry links a blob it already holds in `from` into
   * `repository` without a byte sent. false when it started an upload instead (not mountable).
   */
  async mountBlob(repository: string, digest: string, from: string): Promise<boolean> {
    const query = new URLSearchParams({ mount: digest, from }).toString();
    const response = await this.request(
      `mount blob ${digest} from ${from}`,
      `/v2/${repository}/blobs/uploads/?${query}`,
      { method: 'POST', headers: { 'content-length': '0' } },
      (s) => s === 201 || s === 202,
    );
    if (response.status === 201) return true;
    const location = response.headers.get('location');
    if (location)
      await this.request(
        'cancel upload',
        this.resolve(location),
        { method: 'DELETE' },
        () => true,
      ).catch(() => undefined);
    return false;
  }

  private resolve(location: string): string {
    return new URL(location, this.baseUrl + '/').toString();
  }

  /**
   * Uploads a blob from chunks (each at most UPLOAD_CHUNK, all but the last at least 5 MB):
   * one PUT for a blob that fits in one chunk, otherwise PATCH per chunk then the closing PUT.
   */
  async uploadBlob(
    repository: string,
    digest: string,
    chunks: AsyncIterable<Buffer> | Iterable<Buffer>,
    onChunk?: (bytes: number) => void,
  ): Promise<void> {
    const started = await this.request(
      `start upload of ${digest}`,
      `/v2/${repository}/blobs/uploads/`,
      { method: 'POST', headers: { 'content-length': '0' } },
      (s) => s === 202,
    );
    let location = this.resolve(started.headers.get('location') ?? '');
    let offset = 0;
    let previous: Buffer | undefined;
    const patch = async (chunk: Buffer) => {
      const response = await this.request(
        `upload ${digest} bytes ${offset}-${offset + chunk.length - 1}`,
        location,
        {
          method: 'PATCH',
          headers: {
            'content-type': 'application/octet-stream',
            'content-range': `${offset}-${offset + chunk.length - 1}`,
          },
          body: chunk,
        },
        (s) => s === 202 || s === 204,
      );
      location = this.resolve(response.headers.get('location') ?? location);
      offset += chunk.length;
      onChunk?.(chunk.length);
    };
    for await (const chunk of chunks) {
      if (previous) await patch(previous);
      previous = chunk;
    }
    const closing = new URL(location);
    closing.searchParams.set('digest', digest);
    const last = previous ?? Buffer.alloc(0);
    await this.request(
      `finish upload of ${digest}`,
      closing.toString(),
      {
        method: 'PUT',
        headers: { 'content-type': 'application/octet-stream' },
        ...(last.length ? { body: last } : {}),
      },
      (s) => s === 201 || s === 204,
    );
    if (last.length) onChunk?.(last.length);
  }
}

/** A file read in upload chunks. */
export async function* fileChunks(file: string, size = UPLOAD_CHUNK): AsyncGenerator<Buffer> {
  yield* rechunk(createReadStream(file, { highWaterMark: 1 << 20 }), size);
}

/** Any byte stream cut into chunks of exactly `size` (the last one shorter). */
export async function* rechunk(
  source: AsyncIterable<Uint8Array>,
  size = UPLOAD_CHUNK,
): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let held = 0;
  for await (const piece of source) {
    let buffer = Buffer.from(piece);
    while (held + buffer.length >= size) {
      const take = size - held;
      parts.push(buffer.subarray(0, take));
      yield Buffer.concat(parts);
      parts = [];
      held = 0;
      buffer = buffer.subarray(take);
    }
    if (buffer.length) {
      parts.push(buffer);
      held += buffer.length;
    }
  }
  if (held) yield Buffer.concat(parts);
}
