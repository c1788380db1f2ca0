import { createHash } from 'node:crypto';
import { MANIFEST_TYPES, type Manifest, type RegistryClient } from './registry.js';

/**
 * The dependencies layer, remembered in the image repository itself: a small manifest tagged
 * `deps-v1-<layer key>` (the zip layer's cache key: requirements, runtime, architecture, build
 * image, pip arguments, slim) whose one layer is the dependencies layer and whose config records
 * its diff id and sizes. A run whose key is there uses that layer as it is: no pip, no Docker, no
 * tar; its blob is already in the repository, so nothing is pushed either.
 */

const FORMAT = 'v1';
const CONFIG_TYPE = 'application/vnd.oci.image.config.v1+json';
const LAYER_TYPE = 'application/vnd.oci.image.layer.v1.tar+gzip';

export interface CachedDependencies {
  digest: string;
  diffId: string;
  size: number;
  contentBytes: number;
  files: number;
}

interface CacheConfig {
  architecture: string;
  os: 'linux';
  rootfs: { type: 'layers'; diff_ids: string[] };
  'lambda-ml-deploy': { key: string; contentBytes: number; files: number };
}

/** The tag of a dependency layer key. Pure. */
export function dependenciesTag(key: string): string {
  return `deps-${FORMAT}-${key}`;
}

/** The cached layer for `key`, when its manifest and its blob are both in the repository. */
export async function findDependencies(
  client: RegistryClient,
  repository: string,
  key: string,
): Promise<CachedDependencies | undefined> {
  const tag = dependenciesTag(key);
  if (!(await client.headManifest(repository, tag))) return undefined;
  const manifest = JSON.parse(
    (await client.getManifest(repository, tag)).bytes.toString('utf8'),
  ) as {
    config: { digest: string };
    layers: { digest: string; size: number }[];
  };
  const layer = manifest.layers[0];
  if (!layer || !(await client.hasBlob(repository, layer.digest))) return undefined;
  const { value } = await client.getJsonBlob<CacheConfig>(repository, manifest.config.digest);
  const info = value['lambda-ml-deploy'];
  const diffId = value.rootfs?.diff_ids?.[0];
  if (!info || info.key !== key || !diffId) return undefined;
  return {
    digest: layer.digest,
    diffId,
    size: layer.size,
    contentBytes: info.contentBytes,
    files: info.files,
  };
}

const sha256 = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** The cache manifest and config for a built dependencies layer. Pure. */
export function dependenciesManifest(
  key: string,
  architecture: string,
  layer: CachedDependencies,
): { config: Buffer; manifest: Manifest } {
  const config: CacheConfig = {
    architecture: architecture === 'arm64' ? 'arm64' : 'amd64',
    os: 'linux',
    rootfs: { type: 'layers', diff_ids: [layer.diffId] },
    'lambda-ml-deploy': { key, contentBytes: layer.contentBytes, files: layer.files },
  };
  const configBytes = Buffer.from(JSON.stringify(config));
  const bytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MANIFEST_TYPES.ociManifest,
      config: { mediaType: CONFIG_TYPE, size: configBytes.length, digest: sha256(configBytes) },
      layers: [{ mediaType: LAYER_TYPE, size: layer.size, digest: layer.digest }],
    }),
  );
  return {
    config: configBytes,
    manifest: { mediaType: MANIFEST_TYPES.ociManifest, bytes, digest: sha256(bytes) },
  };
}

/** Records a dependencies layer already pushed with the image (its blob is in the repository). */
export async function saveDependencies(
  client: RegistryClient,
  repository: string,
  key: string,
  architecture: string,
  layer: CachedDependencies,
): Promise<boolean> {
  const tag = dependenciesTag(key);
  if (await client.headManifest(repository, tag)) return false;
  if (!(await client.hasBlob(repository, layer.digest))) return false;
  const { config, manifest } = dependenciesManifest(key, architecture, layer);
  const configDigest = sha256(config);
  if (!(await client.hasBlob(repository, configDigest)))
    await client.uploadBlob(repository, configDigest, [config]);
  await client.putManifest(repository, tag, manifest);
  return true;
}
