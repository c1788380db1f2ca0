import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { ActionError } from '../../errors.js';
import { formatBytes, formatDuration, type Clock, type Logger } from '../../log.js';
import type { BundleFile } from '../bundle-files.js';
import { CONTAINER_IMAGE_LIMIT_BYTES } from '../limits.js';
import { planCompression, shouldStore } from '../zip.js';
import {
  imageConfig,
  imageManifest,
  isIndex,
  pickPlatform,
  type AddedLayer,
  type Descriptor,
  type ImageConfig,
  type ImageIndex,
  type ImageManifest,
} from './image-config.js';
import {
  parseImageReference,
  RegistryClient,
  registryUrl,
  type FetchFn,
  type Manifest,
} from './registry.js';
import { writeLayer, type LayerBlob, type LayerCompression, type LayerEntry } from './tar-layer.js';

/**
 * The image: the base image's manifest and config read from its registry, three deterministic
 * layers on top (dependencies at /opt/python, the model and the handler code at /var/task), the
 * handler as CMD. Written to disk, never to a Docker daemon; pushed by push.ts.
 */

export interface BaseImage {
  ref: string;
  registry: string;
  repository: string;
  client: RegistryClient;
  manifest: ImageManifest;
  manifestType: string;
  config: ImageConfig;
}

export interface ImageLayer extends AddedLayer {
  /** Bytes of the files in it. */
  contentBytes: number;
  files: number;
  compression: LayerCompression;
  /** The blob written by this run; undefined for a layer reused from the repository. */
  blob?: LayerBlob;
}

export interface BuiltImage {
  base: BaseImage;
  layers: ImageLayer[];
  config: { bytes: Buffer; digest: string };
  manifest: Manifest;
  /** Compressed bytes of the whole image (base layers included). */
  compressedBytes: number;
  /** Bytes of the files in our layers. */
  contentBytes: number;
}

/** Reads the base image's manifest (for `architecture` when it is an index) and config. */
export async function readBaseImage(
  ref: string,
  architecture: string,
  options: { fetch?: FetchFn; logger: Logger },
): Promise<BaseImage> {
  const parsed = parseImageReference(ref);
  const client = new RegistryClient({
    baseUrl: registryUrl(parsed.registry),
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  let top: Manifest;
  try {
    top = await client.getManifest(parsed.repository, parsed.reference);
  } catch (error) {
    throw new ActionError(
      `Could not read base-image ${ref}: ${error instanceof Error ? error.message : String(error)}. ` +
        'Check the name and tag, and that the runner can reach its registry.',
    );
  }
  let manifestDoc = top;
  if (isIndex(top.mediaType)) {
    const index = JSON.parse(top.bytes.toString('utf8')) as ImageIndex;
    const chosen = pickPlatform(index, architecture, ref);
    manifestDoc = await client.getManifest(parsed.repository, chosen.digest);
  }
  const manifest = JSON.parse(manifestDoc.bytes.toString('utf8')) as ImageManifest;
  const { value: config } = await client.getJsonBlob<ImageConfig>(
    parsed.repository,
    manifest.config.digest,
  );
  const wanted = architecture === 'arm64' ? 'arm64' : 'amd64';
  if (config.architecture && config.architecture !== wanted)
    throw new ActionError(
      `base-image ${ref} is built for ${config.architecture}, but architecture is ${architecture}: pick the base image for ${architecture}.`,
    );
  options.logger.info(
    `Base image ${ref}: ${manifest.layers.length} layers, ${formatBytes(sumSizes(manifest.layers))} compressed, digest ${manifestDoc.digest}.`,
  );
  return {
    ref,
    registry: parsed.registry,
    repository: parsed.repository,
    client,
    manifest,
    manifestType: manifestDoc.mediaType || manifest.mediaType || '',
    config,
  };
}

const sumSizes = (layers: readonly Descriptor[]) => layers.reduce((sum, l) => sum + l.size, 0);

export interface LayerPlan {
  name: 'dependencies' | 'model' | 'code';
  entries: LayerEntry[];
}

/** Where each file goes: dependencies under /opt, model and code under /var/task. Pure. */
export function planLayers(
  dependencies: readonly BundleFile[],
  bundle: readonly BundleFile[],
): LayerPlan[] {
  const entry = (prefix: string) => (f: BundleFile) => ({
    path: `${prefix}/${f.zipPath}`,
    absPath: f.absPath,
    size: f.size,
    mode: f.mode,
  });
  const plans: LayerPlan[] = [
    { name: 'dependencies', entries: dependencies.map(entry('opt')) },
    { name: 'model', entries: bundle.filter((f) => f.origin === 'model').map(entry('var/task')) },
    { name: 'code', entries: bundle.filter((f) => f.origin !== 'model').map(entry('var/task')) },
  ];
  return plans.filter((p) => p.entries.length > 0);
}

/** The 10 GB check, before anything is written or pushed, with every layer's size. Pure. */
export function checkImageSize(
  base: BaseImage,
  plans: readonly LayerPlan[],
  reused: readonly ImageLayer[] = [],
): void {
  const baseBytes = sumSizes(base.manifest.layers);
  const parts = [
    ...reused.map((l) => ({ name: l.name, bytes: l.contentBytes })),
    ...plans.map((p) => ({
      name: p.name,
      bytes: p.entries.reduce((sum, e) => sum + e.size, 0),
    })),
  ];
  const total = baseBytes + parts.reduce((sum, p) => sum + p.bytes, 0);
  if (total <= CONTAINER_IMAGE_LIMIT_BYTES) return;
  const rows = [
    `base image ${base.ref}: ${formatBytes(baseBytes)} (compressed)`,
    ...parts.map((p) => `${p.name} layer: ${formatBytes(p.bytes)}`),
  ];
  throw new ActionError(
    `The image would be ${formatBytes(total)}, over Lambda's container image limit of ${formatBytes(CONTAINER_IMAGE_LIMIT_BYTES)}: ` +
      `${rows.join('; ')}. Nothing was pushed. Load the model from S3 at run time, or shrink the largest layer.`,
  );
}

const SAMPLE = 1 << 20;

/** stored when the biggest file would not shrink (weights, archives), gzip otherwise. */
async function compressionFor(plan: LayerPlan): Promise<LayerCompression> {
  if (plan.name !== 'model') return 'gzip';
  const biggest = [...plan.entries].sort((a, b) => b.size - a.size)[0];
  const decision = planCompression(biggest.path, biggest.size);
  if (decision.kind === 'store') return 'stored';
  const handle = await fs.open(biggest.absPath, 'r');
  try {
    const buffer = Buffer.alloc(Math.min(SAMPLE, biggest.size));
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    const deflated = zlib.deflateRawSync(buffer.subarray(0, bytesRead), { level: 1 });
    return shouldStore(decision, bytesRead, deflated.length) ? 'stored' : 'gzip';
  } finally {
    await handle.close();
  }
}

/**
 * Writes the layers, then the config and manifest on top of the base. `reused` layers (the
 * dependencies from the repository's cache) come first, as they are.
 */
export async function writeImage(
  base: BaseImage,
  plans: readonly LayerPlan[],
  handler: string,
  options: { workDir: string; logger: Logger; clock: Clock },
  reused: readonly ImageLayer[] = [],
): Promise<BuiltImage> {
  const dir = path.join(options.workDir, 'image');
  await fs.mkdir(dir, { recursive: true });
  const layers: ImageLayer[] = [...reused];
  for (const plan of plans) {
    const started = options.clock.now();
    const compression = await compressionFor(plan);
    const blob = await writeLayer({
      entries: plan.entries,
      destPath: path.join(dir, `${plan.name}.tar.gz`),
      compression,
    });
    options.logger.info(
      `Layer ${plan.name}: ${blob.files} files, ${formatBytes(blob.contentBytes)}, ${formatBytes(blob.size)} ${compression === 'stored' ? 'stored' : 'gzip'}, ${blob.digest} (${formatDuration(options.clock.now() - started)}).`,
    );
    layers.push({
      name: plan.name,
      digest: blob.digest,
      diffId: blob.diffId,
      size: blob.size,
      contentBytes: blob.contentBytes,
      files: blob.files,
      compression,
      blob,
    });
  }
  const configBytes = imageConfig(base.config, layers, handler);
  const manifest = imageManifest(base.manifest, base.manifestType, configBytes, layers);
  const parsed = JSON.parse(manifest.bytes.toString('utf8')) as ImageManifest;
  return {
    base,
    layers,
    config: { bytes: configBytes, digest: parsed.config.digest },
    manifest,
    compressedBytes: sumSizes(parsed.layers) + configBytes.length,
    contentBytes: layers.reduce((sum, l) => sum + l.contentBytes, 0),
  };
}
