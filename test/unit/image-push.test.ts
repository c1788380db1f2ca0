import { createHash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { memoryLogger } from '../../src/log.js';
import { readBaseImage, writeImage, planLayers } from '../../src/packaging/image/image-build.js';
import { contentTag, pushImage } from '../../src/packaging/image/push.js';
import {
  dependenciesTag,
  findDependencies,
  saveDependencies,
} from '../../src/packaging/image/deps-cache.js';
import {
  MANIFEST_TYPES,
  parseImageReference,
  RegistryClient,
  type FetchFn,
} from '../../src/packaging/image/registry.js';
import { instantClock } from './support/run-context.js';

const sha = (data: Buffer | string) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

/** An in-memory registry speaking the distribution API, recording every request. */
function fakeRegistry(host: string) {
  const blobs = new Map<string, Map<string, Buffer>>(); // repo -> digest -> bytes
  const manifests = new Map<string, { type: string; bytes: Buffer }>(); // repo@ref
  const uploads = new Map<string, { repo: string; parts: Buffer[] }>();
  const requests: string[] = [];
  let next = 0;
  const repoBlobs = (repo: string) => blobs.get(repo) ?? blobs.set(repo, new Map()).get(repo)!;
  const fetchFn: FetchFn = async (url, init = {}) => {
    const u = new URL(url);
    const method = init.method ?? 'GET';
    const body = init.body ? Buffer.from(init.body as Buffer) : Buffer.alloc(0);
    requests.push(`${method} ${u.pathname}${u.search}`);
    let m = /^\/v2\/(.+)\/blobs\/uploads\/(\w*)$/.exec(u.pathname);
    if (m) {
      const repo = m[1];
      if (method === 'POST') {
        const mount = u.searchParams.get('mount');
        const from = u.searchParams.get('from');
        if (mount && from && blobs.get(from)?.has(mount)) {
          repoBlobs(repo).set(mount, blobs.get(from)!.get(mount)!);
          return new Response(null, { status: 201 });
        }
        const id = `u${next++}`;
        uploads.set(id, { repo, parts: [] });
        return new Response(null, {
          status: 202,
          headers: { location: `/v2/${repo}/blobs/uploads/${id}` },
        });
      }
      const upload = uploads.get(m[2]);
      if (!upload) return new Response(null, { status: 404 });
      if (method === 'DELETE') return new Response(null, { status: 204 });
      upload.parts.push(body);
      if (method === 'PATCH')
        return new Response(null, { status: 202, headers: { location: u.pathname } });
      const digest = u.searchParams.get('digest') ?? '';
      const all = Buffer.concat(upload.parts);
      if (sha(all) !== digest) return new Response('digest mismatch', { status: 400 });
      repoBlobs(upload.repo).set(digest, all);
      return new Response(null, { status: 201 });
    }
    m = /^\/v2\/(.+)\/blobs\/(sha256:\w+)$/.exec(u.pathname);
    if (m) {
      const found = blobs.get(m[1])?.get(m[2]);
      if (!found) return new Response(null, { status: 404 });
      return new Response(method === 'HEAD' ? null : found, { status: 200 });
    }
    m = /^\/v2\/(.+)\/manifests\/(.+)$/.exec(u.pathname);
    if (m) {
      const key = `${m[1]}@${m[2]}`;
      if (method === 'PUT') {
        const type = (init.headers as Record<string, string>)['content-type'];
        manifests.set(key, { type, bytes: body });
        manifests.set(`${m[1]}@${sha(body)}`, { type, bytes: body });
        return new Response(null, { status: 201 });
      }
      const found = manifests.get(key);
      if (!found) return new Response(null, { status: 404 });
      return new Response(method === 'HEAD' ? null : found.bytes, {
        status: 200,
        headers: { 'content-type': found.type },
      });
    }
    return new Response(null, { status: 404 });
  };
  return { host, blobs, manifests, requests, fetch: fetchFn, repoBlobs };
}

let dir: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'image-push-'));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

/** A one-layer base image in `repo` of the fake registry. */
function seedBase(registry: ReturnType<typeof fakeRegistry>, repo: string) {
  const layer = Buffer.from('base layer bytes');
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Entrypoint: ['/bootstrap'], Cmd: ['x.y'] },
      rootfs: { type: 'layers', diff_ids: [sha('tar')] },
    }),
  );
  registry.repoBlobs(repo).set(sha(layer), layer);
  registry.repoBlobs(repo).set(sha(config), config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MANIFEST_TYPES.dockerManifest,
      config: {
        mediaType: 'application/vnd.docker.container.image.v1+json',
        size: config.length,
        digest: sha(config),
      },
      layers: [
        {
          mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
          size: layer.length,
          digest: sha(layer),
        },
      ],
    }),
  );
  registry.manifests.set(`${repo}@3.12`, { type: MANIFEST_TYPES.dockerManifest, bytes: manifest });
  return { layerDigest: sha(layer) };
}

async function source(rel: string, content: string) {
  const abs = path.join(dir, 'src', rel);
  await fs.mkdir(path.dirname(abs), { recursive: true });
  await fs.writeFile(abs, content);
  return { zipPath: rel, absPath: abs, size: Buffer.byteLength(content), mode: 0o644 as const };
}

async function build(registry: ReturnType<typeof fakeRegistry>, handlerText: string) {
  const logger = memoryLogger();
  const base = await readBaseImage('127.0.0.1:5000/lambda/python:3.12', 'x86_64', {
    fetch: registry.fetch,
    logger,
  });
  const code = await source('app.py', handlerText);
  const model = {
    ...(await source('model/w.bin', 'weights'.repeat(1000))),
    origin: 'model' as const,
  };
  const plans = planLayers([], [{ ...code, origin: 'source' }, model]);
  return writeImage(base, plans, 'app.handler', {
    workDir: path.join(dir, `out-${Math.random()}`),
    logger,
    clock: instantClock,
  });
}

describe('pushImage', () => {
  it('sends only what the repository lacks; base layers are mounted in the same registry', async () => {
    const registry = fakeRegistry('127.0.0.1:5000');
    const { layerDigest } = seedBase(registry, 'lambda/python');
    const target = {
      client: new RegistryClient({ baseUrl: 'http://127.0.0.1:5000', fetch: registry.fetch }),
      repository: 'ml/iris',
    };
    const logger = memoryLogger();

    const first = await build(registry, 'def handler(e, c):\n    return 1\n');
    const pushed = await pushImage(first, target, { logger });
    expect(pushed.blobsMounted).toBe(1);
    expect(pushed.pushed.map((p) => p.name)).toEqual([
      'model layer',
      'code layer',
      'config',
      'manifest',
    ]);
    expect(registry.blobs.get('ml/iris')?.has(layerDigest)).toBe(true);
    expect(registry.manifests.get(`ml/iris@${contentTag(first.manifest.digest)}`)).toBeDefined();
    expect(pushed.tag).toBe(first.manifest.digest.replace('sha256:', 'sha256-'));

    // Same content again: one HEAD of the manifest, nothing sent.
    const same = await build(registry, 'def handler(e, c):\n    return 1\n');
    expect(same.manifest.digest).toBe(first.manifest.digest);
    registry.requests.length = 0;
    const again = await pushImage(same, target, { logger });
    expect(again.blobsPushed).toBe(0);
    expect(again.bytesPushed).toBe(0);
    expect(registry.requests).toEqual([`HEAD /v2/ml/iris/manifests/${first.manifest.digest}`]);

    // A code change: the code layer, the config and the manifest, nothing else.
    const changed = await build(registry, 'def handler(e, c):\n    return 2\n');
    const third = await pushImage(changed, target, { logger });
    expect(third.pushed.map((p) => p.name)).toEqual(['code layer', 'config', 'manifest']);
    expect(third.blobsSkipped).toBe(2); // the base layer and the model layer
    expect(third.bytesPushed).toBe(
      changed.layers.find((l) => l.name === 'code')!.size +
        changed.config.bytes.length +
        changed.manifest.bytes.length,
    );
  });

  it('the config carries the handler as CMD, the base ENTRYPOINT and our diff ids', async () => {
    const registry = fakeRegistry('127.0.0.1:5000');
    seedBase(registry, 'lambda/python');
    const image = await build(registry, 'x = 1\n');
    const config = JSON.parse(image.config.bytes.toString()) as {
      config: { Cmd: string[]; Entrypoint: string[] };
      rootfs: { diff_ids: string[] };
    };
    expect(config.config).toEqual({ Entrypoint: ['/bootstrap'], Cmd: ['app.handler'] });
    expect(config.rootfs.diff_ids).toEqual([sha('tar'), ...image.layers.map((l) => l.diffId)]);
    expect(image.manifest.digest).toBe(sha(image.manifest.bytes));
    const again = await build(registry, 'x = 1\n');
    expect(again.manifest.digest).toBe(image.manifest.digest);
  });

  it('copies base layers from another registry once, chunked through PATCH when large', async () => {
    const base = fakeRegistry('127.0.0.1:5000');
    seedBase(base, 'lambda/python');
    const ecr = fakeRegistry('ecr.example');
    const both: FetchFn = (url, init) =>
      new URL(url).host === '127.0.0.1:5000' ? base.fetch(url, init) : ecr.fetch(url, init);
    const logger = memoryLogger();
    const image = await readBaseImage('127.0.0.1:5000/lambda/python:3.12', 'x86_64', {
      fetch: both,
      logger,
    });
    const big = await source('model/big.bin', 'x'.repeat(40 << 20));
    const built = await writeImage(image, planLayers([], [{ ...big, origin: 'model' }]), 'a.b', {
      workDir: path.join(dir, 'out'),
      logger,
      clock: instantClock,
    });
    const target = {
      client: new RegistryClient({ baseUrl: 'https://ecr.example', basic: 'AWS:t', fetch: both }),
      repository: 'ml/iris',
    };
    const result = await pushImage(built, target, { logger });
    expect(result.blobsMounted).toBe(0);
    expect(result.pushed.map((p) => p.name)).toEqual([
      'base layer 1',
      'model layer',
      'config',
      'manifest',
    ]);
    const model = built.layers[0];
    expect(ecr.blobs.get('ml/iris')?.get(model.digest)?.length).toBe(model.size);
    if (model.size > 16 << 20)
      expect(ecr.requests.filter((r) => r.startsWith('PATCH')).length).toBeGreaterThan(0);
  });
});

describe('dependencies layer cache', () => {
  it('records a pushed layer under its key and finds it again; a missing blob is a miss', async () => {
    const registry = fakeRegistry('127.0.0.1:5000');
    const client = new RegistryClient({ baseUrl: 'http://127.0.0.1:5000', fetch: registry.fetch });
    const blob = Buffer.from('dependencies layer');
    const layer = {
      digest: sha(blob),
      diffId: sha('tar'),
      size: blob.length,
      contentBytes: 99,
      files: 3,
    };
    const key = 'a'.repeat(64);
    // Not recorded while the blob is not in the repository.
    expect(await saveDependencies(client, 'ml/iris', key, 'x86_64', layer)).toBe(false);
    expect(await findDependencies(client, 'ml/iris', key)).toBeUndefined();
    registry.repoBlobs('ml/iris').set(layer.digest, blob);
    expect(await saveDependencies(client, 'ml/iris', key, 'x86_64', layer)).toBe(true);
    expect(registry.manifests.has(`ml/iris@${dependenciesTag(key)}`)).toBe(true);
    expect(await findDependencies(client, 'ml/iris', key)).toEqual(layer);
    expect(await findDependencies(client, 'ml/iris', 'b'.repeat(64))).toBeUndefined();
    // Recorded once: a second save sends nothing.
    expect(await saveDependencies(client, 'ml/iris', key, 'x86_64', layer)).toBe(false);
    registry.blobs.get('ml/iris')!.delete(layer.digest);
    expect(await findDependencies(client, 'ml/iris', key)).toBeUndefined();
  });
});

describe('parseImageReference', () => {
  it.each([
    ['public.ecr.aws/lambda/python:3.12-x86_64', 'public.ecr.aws', 'lambda/python', '3.12-x86_64'],
    ['127.0.0.1:5000/a/b@sha256:abc', '127.0.0.1:5000', 'a/b', 'sha256:abc'],
    ['python:3.12', 'registry-1.docker.io', 'library/python', '3.12'],
    ['localhost/x', 'localhost', 'x', 'latest'],
  ])('%s', (ref, registry, repository, reference) => {
    expect(parseImageReference(ref)).toEqual({ registry, repository, reference });
  });

  it('refuses plain http to a registry that is not local', () => {
    expect(() => new RegistryClient({ baseUrl: 'http://registry.example' })).toThrow(/https/);
  });
});
