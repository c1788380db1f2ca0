import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { formatBytes, type Logger } from '../log.js';
import type { Sleep } from '../retry.js';
import type { BundleFile } from './bundle-files.js';
import {
  planEphemeralStorage,
  planModelStore,
  type ModelFile,
  type ModelStorePlan,
} from './model-manifest.js';
import { uploadContentAddressed } from './upload.js';

/**
 * The S3 model store's effects: hashing the model files the bundle left out, and uploading them
 * (each content once, skipped when present) and then the manifest that pins them.
 */

export interface ModelStoreBuilt {
  plan: ModelStorePlan;
  /** ephemeral-storage for the version (undefined: leave as it is). */
  ephemeralMb?: number;
  requiredMb: number;
  sizedEphemeral: boolean;
}

export interface ModelStoreUpload {
  uploaded: string[];
  skipped: string[];
  manifestUploaded: boolean;
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 }))
    hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Model files as the bundle named them (model-dest/...), hashed and planned. */
export async function prepareModelStore(
  modelFiles: readonly BundleFile[],
  options: { modelDest: string; bucket: string; prefix: string; ephemeralStorage?: number },
): Promise<ModelStoreBuilt> {
  const dest = options.modelDest.replace(/^\.?\/*/, '').replace(/\/+$/, '');
  const files: ModelFile[] = [];
  for (const f of modelFiles) {
    const rel =
      dest && f.zipPath.startsWith(`${dest}/`) ? f.zipPath.slice(dest.length + 1) : f.zipPath;
    files.push({
      path: rel,
      absPath: f.absPath,
      size: f.size,
      sha256: await sha256File(f.absPath),
    });
  }
  const plan = planModelStore(files, options.bucket, options.prefix);
  const storage = planEphemeralStorage(plan.totalBytes, options.ephemeralStorage);
  return {
    plan,
    ephemeralMb: storage.mb,
    requiredMb: storage.requiredMb,
    sizedEphemeral: storage.sized,
  };
}

/**
 * Uploads the files that are not in the bucket yet, then the manifest (last, so a manifest in the
 * bucket always has its files there).
 */
export async function uploadModelStore(
  s3: S3Client,
  plan: ModelStorePlan,
  options: { bucket: string; workDir: string; logger: Logger; sleep?: Sleep },
): Promise<ModelStoreUpload> {
  const { bucket, logger } = options;
  const result: ModelStoreUpload = { uploaded: [], skipped: [], manifestUploaded: false };
  for (const { key, file } of plan.objects) {
    const up = await uploadContentAddressed(s3, {
      bucket,
      key,
      file: file.absPath,
      sha256Hex: file.sha256,
      logger,
      contentType: 'application/octet-stream',
      ...(options.sleep ? { sleep: options.sleep } : {}),
    });
    (up.uploaded ? result.uploaded : result.skipped).push(file.path);
  }
  const manifestFile = path.join(options.workDir, 'model-manifest.json');
  await fs.writeFile(manifestFile, plan.manifestBody);
  const manifestSha = path.basename(plan.manifestKey, '.json');
  const manifest = await uploadContentAddressed(s3, {
    bucket,
    key: plan.manifestKey,
    file: manifestFile,
    sha256Hex: manifestSha,
    logger,
    contentType: 'application/json',
    ...(options.sleep ? { sleep: options.sleep } : {}),
  });
  result.manifestUploaded = manifest.uploaded;
  logger.info(
    `Model store: ${result.uploaded.length} file(s) uploaded, ${result.skipped.length} already there; ` +
      `manifest ${plan.manifestUri} (${formatBytes(plan.totalBytes)} in ${plan.manifest.files.length} file(s))`,
  );
  return result;
}
