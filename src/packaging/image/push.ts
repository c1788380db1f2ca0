import { formatBytes, type Logger } from '../../log.js';
import type { BuiltImage } from './image-build.js';
import { fileChunks, rechunk, type RegistryClient } from './registry.js';

/**
 * Pushes a built image: every blob the repository lacks (a HEAD first: a blob already there is
 * never sent again), base layers mounted from the base's repository when both live in the same
 * registry (no bytes sent) or copied once otherwise, then the manifest tagged by its digest.
 */

export interface PushTarget {
  client: RegistryClient;
  repository: string;
}

export interface PushResult {
  /** Blobs uploaded (bytes sent). */
  blobsPushed: number;
  /** Blobs the repository already had. */
  blobsSkipped: number;
  /** Base layers linked from the base's repository in the same registry. */
  blobsMounted: number;
  /** Blob and manifest bytes sent. */
  bytesPushed: number;
  manifestPushed: boolean;
  tag: string;
  /** What was pushed, for the summary: name, digest, bytes. */
  pushed: { name: string; digest: string; bytes: number }[];
}

/** The tag an image gets: its own digest, so a tag never moves to other content. Pure. */
export function contentTag(digest: string): string {
  return digest.replace(':', '-');
}

interface Blob {
  name: string;
  digest: string;
  size: number;
  kind: 'base' | 'ours';
  chunks?: () => AsyncIterable<Buffer> | Iterable<Buffer>;
}

function blobsOf(image: BuiltImage): Blob[] {
  return [
    ...image.base.manifest.layers.map((l, i) => ({
      name: `base layer ${i + 1}`,
      digest: l.digest,
      size: l.size,
      kind: 'base' as const,
    })),
    ...image.layers.map((l) => ({
      name: `${l.name} layer`,
      digest: l.digest,
      size: l.size,
      kind: 'ours' as const,
      chunks: () => {
        if (!l.blob)
          throw new Error(
            `the reused ${l.name} layer ${l.digest} is no longer in the repository; re-run (it is rebuilt)`,
          );
        return fileChunks(l.blob.file);
      },
    })),
    {
      name: 'config',
      digest: image.config.digest,
      size: image.config.bytes.length,
      kind: 'ours' as const,
      chunks: () => [image.config.bytes],
    },
  ];
}

export async function pushImage(
  image: BuiltImage,
  target: PushTarget,
  options: { logger: Logger },
): Promise<PushResult> {
  const { client, repository } = target;
  const { logger } = options;
  const tag = contentTag(image.manifest.digest);
  const blobs = blobsOf(image);
  const result: PushResult = {
    blobsPushed: 0,
    blobsSkipped: 0,
    blobsMounted: 0,
    bytesPushed: 0,
    manifestPushed: false,
    tag,
    pushed: [],
  };
  if (await client.headManifest(repository, image.manifest.digest)) {
    result.blobsSkipped = blobs.length;
    logger.info(
      `${repository}@${image.manifest.digest} is already in the registry: nothing to push.`,
    );
    logger.info(pushLine(result));
    return result;
  }
  const sameRegistry = image.base.client.host === client.host;
  for (const blob of blobs) {
    if (await client.hasBlob(repository, blob.digest)) {
      result.blobsSkipped++;
      continue;
    }
    if (blob.kind === 'base' && sameRegistry) {
      if (await client.mountBlob(repository, blob.digest, image.base.repository)) {
        result.blobsMounted++;
        logger.info(`Mounted ${blob.name} ${blob.digest} from ${image.base.repository}.`);
        continue;
      }
    }
    const chunks =
      blob.chunks?.() ?? baseChunks(image.base.client, image.base.repository, blob.digest);
    logger.info(`Pushing ${blob.name} ${blob.digest} (${formatBytes(blob.size)}).`);
    await client.uploadBlob(repository, blob.digest, chunks);
    result.blobsPushed++;
    result.bytesPushed += blob.size;
    result.pushed.push({ name: blob.name, digest: blob.digest, bytes: blob.size });
  }
  await client.putManifest(repository, tag, image.manifest);
  result.manifestPushed = true;
  result.bytesPushed += image.manifest.bytes.length;
  result.pushed.push({
    name: 'manifest',
    digest: image.manifest.digest,
    bytes: image.manifest.bytes.length,
  });
  logger.info(
    `Pushed ${result.blobsPushed} blobs and the manifest (${formatBytes(result.bytesPushed)}); ` +
      `${result.blobsSkipped} already there, ${result.blobsMounted} mounted; tag ${tag}.`,
  );
  logger.info(pushLine(result));
  return result;
}

/** One machine-readable line per push (the job log is what scripts and tests read). */
export function pushLine(result: PushResult): string {
  return (
    `image-push blobs-pushed=${result.blobsPushed} bytes-pushed=${result.bytesPushed} ` +
    `blobs-skipped=${result.blobsSkipped} blobs-mounted=${result.blobsMounted} ` +
    `manifest-pushed=${result.manifestPushed} pushed=${result.pushed.map((p) => p.name.replace(/ /g, '-')).join(',')}`
  );
}

async function* baseChunks(
  source: RegistryClient,
  repository: string,
  digest: string,
): AsyncGenerator<Buffer> {
  const response = await source.getBlob(repository, digest);
  if (!response.body) throw new Error(`base layer ${digest} arrived without a body`);
  yield* rechunk(response.body as AsyncIterable<Uint8Array>);
}
