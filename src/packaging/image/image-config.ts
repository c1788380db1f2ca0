import { createHash } from 'node:crypto';
import { ActionError } from '../../errors.js';
import { MANIFEST_TYPES, type Manifest } from './registry.js';

/** The OCI / Docker image manifest and config shapes this action reads and writes. Pure. */

export interface Descriptor {
  mediaType: string;
  size: number;
  digest: string;
  platform?: { os?: string; architecture?: string; variant?: string };
  annotations?: Record<string, string>;
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
}

export interface ImageConfig {
  architecture?: string;
  os?: string;
  created?: string;
  config?: {
    Env?: string[];
    Entrypoint?: string[] | null;
    Cmd?: string[] | null;
    WorkingDir?: string;
    [key: string]: unknown;
  };
  rootfs: { type: 'layers'; diff_ids: string[] };
  history?: { created?: string; created_by?: string; empty_layer?: boolean; comment?: string }[];
  [key: string]: unknown;
}

/** A layer this action adds on top of the base. */
export interface AddedLayer {
  /** For the history and the summary: dependencies, model, code. */
  name: string;
  digest: string;
  diffId: string;
  size: number;
}

export const isIndex = (mediaType: string) =>
  mediaType === MANIFEST_TYPES.ociIndex || mediaType === MANIFEST_TYPES.dockerList;

/** Docker's architecture names for Lambda's. Pure. */
export function platformArchitecture(architecture: string): 'amd64' | 'arm64' {
  return architecture === 'arm64' ? 'arm64' : 'amd64';
}

/** The manifest of `architecture` in an index (attestations and other OSes skipped). Pure. */
export function pickPlatform(index: ImageIndex, architecture: string, ref: string): Descriptor {
  const wanted = platformArchitecture(architecture);
  const found = index.manifests.find(
    (m) => m.platform?.os === 'linux' && m.platform.architecture === wanted,
  );
  if (!found) {
    const offered = index.manifests
      .map((m) => `${m.platform?.os ?? '?'}/${m.platform?.architecture ?? '?'}`)
      .join(', ');
    throw new ActionError(
      `base-image ${ref} has no linux/${wanted} image (it has ${offered}): pick a base image for architecture ${architecture}.`,
    );
  }
  return found;
}

const sha256 = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

function layerMediaType(manifestType: string): string {
  return manifestType === MANIFEST_TYPES.ociManifest
    ? 'application/vnd.oci.image.layer.v1.tar+gzip'
    : 'application/vnd.docker.image.rootfs.diff.tar.gzip';
}

/**
 * The new image's config: the base's, with our layers' diff ids and history appended and the
 * handler as CMD (the base's ENTRYPOINT, Lambda's runtime interface, stays). Nothing time- or
 * host-dependent is added, so the same base and layers give the same bytes. Pure.
 */
export function imageConfig(
  base: ImageConfig,
  added: readonly AddedLayer[],
  handler: string,
): Buffer {
  const config: ImageConfig = {
    ...base,
    config: { ...(base.config ?? {}), Cmd: [handler] },
    rootfs: { type: 'layers', diff_ids: [...base.rootfs.diff_ids, ...added.map((l) => l.diffId)] },
    history: [
      ...(base.history ?? []),
      ...added.map((l) => ({ created_by: `lambda-ml-deploy: ${l.name}`, comment: l.digest })),
      { created_by: `lambda-ml-deploy: CMD ["${handler}"]`, empty_layer: true },
    ],
  };
  return Buffer.from(JSON.stringify(config));
}

/** The new image's manifest, same format as the base's, and its digest. Pure. */
export function imageManifest(
  baseManifest: ImageManifest,
  baseType: string,
  configBytes: Buffer,
  added: readonly AddedLayer[],
): Manifest {
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: baseType,
    config: {
      mediaType: baseManifest.config.mediaType,
      size: configBytes.length,
      digest: sha256(configBytes),
    },
    layers: [
      ...baseManifest.layers,
      ...added.map((l) => ({
        mediaType: layerMediaType(baseType),
        size: l.size,
        digest: l.digest,
      })),
    ],
  };
  const bytes = Buffer.from(JSON.stringify(manifest));
  return { mediaType: baseType, bytes, digest: sha256(bytes) };
}
