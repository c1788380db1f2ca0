import { createHash } from 'node:crypto';
import { InputError } from '../errors.js';

/**
 * The S3 model store's pure side: which objects a model is stored as, the manifest that pins them
 * (itself content-addressed), and how much /tmp the function needs to hold them.
 *
 * Layout under s3-prefix:
 *   <prefix>/model/files/<sha256>        one object per distinct file content
 *   <prefix>/model/manifests/<sha256>.json  {format, files: [{path, size, sha256, key}]}
 */

/** The variable that pins a version's manifest (s3://bucket/key); the loader reads it. */
export const MANIFEST_ENV = 'LAMBDA_ML_MODEL_MANIFEST';
export const MANIFEST_FORMAT = 1;
/** Lambda's largest /tmp. */
export const MAX_EPHEMERAL_MB = 10240;
export const MIN_EPHEMERAL_MB = 512;
/** /tmp room kept beside the model: 10% of it plus 64 MB for whatever else the handler writes. */
export const EPHEMERAL_MARGIN = { ratio: 0.1, extraMb: 64 } as const;

const MB = 1024 * 1024;

export interface ModelFile {
  /** Path under the model folder (posix, relative). */
  path: string;
  absPath: string;
  size: number;
  sha256: string;
}

export interface ManifestEntry {
  path: string;
  size: number;
  sha256: string;
  key: string;
}

export interface ModelManifest {
  format: typeof MANIFEST_FORMAT;
  files: ManifestEntry[];
}

export interface ModelStorePlan {
  manifest: ModelManifest;
  /** The manifest's exact bytes (what its key's sha256 names). */
  manifestBody: string;
  manifestKey: string;
  /** s3://bucket/key: the value of MANIFEST_ENV. */
  manifestUri: string;
  /** Each distinct content once (two paths with the same bytes share one object). */
  objects: { key: string; file: ModelFile }[];
  totalBytes: number;
}

export const modelFileKey = (prefix: string, sha256: string) => `${prefix}/model/files/${sha256}`;
export const manifestKeyFor = (prefix: string, sha256: string) =>
  `${prefix}/model/manifests/${sha256}.json`;

/** The manifest and the objects for these files. Pure: the same files give the same keys. */
export function planModelStore(
  files: readonly ModelFile[],
  bucket: string,
  prefix: string,
): ModelStorePlan {
  const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]?.path === sorted[i - 1]?.path)
      throw new InputError(
        'model',
        `two model files would both be stored as '${sorted[i]?.path}'.`,
      );
  }
  const entries = sorted.map((f) => ({
    path: f.path,
    size: f.size,
    sha256: f.sha256,
    key: modelFileKey(prefix, f.sha256),
  }));
  const manifest: ModelManifest = { format: MANIFEST_FORMAT, files: entries };
  const manifestBody = `${JSON.stringify(manifest, null, 1)}\n`;
  const manifestSha = createHash('sha256').update(manifestBody).digest('hex');
  const manifestKey = manifestKeyFor(prefix, manifestSha);
  const objects = new Map<string, { key: string; file: ModelFile }>();
  for (const f of sorted) {
    const key = modelFileKey(prefix, f.sha256);
    if (!objects.has(key)) objects.set(key, { key, file: f });
  }
  return {
    manifest,
    manifestBody,
    manifestKey,
    manifestUri: `s3://${bucket}/${manifestKey}`,
    objects: [...objects.values()],
    totalBytes: sorted.reduce((sum, f) => sum + f.size, 0),
  };
}

/** /tmp the model needs, margin included, in MB. */
export function requiredEphemeralMb(modelBytes: number): number {
  const modelMb = modelBytes / MB;
  return Math.ceil(modelMb * (1 + EPHEMERAL_MARGIN.ratio) + EPHEMERAL_MARGIN.extraMb);
}

/**
 * The ephemeral-storage the version gets: the given size when the model fits in it, else a named
 * error; when not given, sized from the model (at least Lambda's 512 MB default, so a small model
 * leaves the setting alone).
 */
export function planEphemeralStorage(
  modelBytes: number,
  given: number | undefined,
): { mb?: number; requiredMb: number; sized: boolean } {
  const requiredMb = requiredEphemeralMb(modelBytes);
  const modelMb = Math.ceil(modelBytes / MB);
  if (requiredMb > MAX_EPHEMERAL_MB) {
    throw new InputError(
      'model-store',
      `the model is ${modelMb} MB; with room to spare it needs ${requiredMb} MB of /tmp, more than Lambda's ${MAX_EPHEMERAL_MB} MB. ` +
        'Mount it from EFS (file-systems) or make it smaller.',
    );
  }
  if (given !== undefined) {
    if (given < requiredMb)
      throw new InputError(
        'ephemeral-storage',
        `${given} MB cannot hold the ${modelMb} MB model that model-store: s3 downloads into /tmp (it needs ${requiredMb} MB with margin). ` +
          `Set it to at least ${requiredMb}, or leave it empty to size it from the model.`,
      );
    return { mb: given, requiredMb, sized: false };
  }
  if (requiredMb <= MIN_EPHEMERAL_MB) return { requiredMb, sized: false };
  return { mb: requiredMb, requiredMb, sized: true };
}
