import { createReadStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { callAws, isNotFound } from '../aws/call.js';
import { ActionError, errorCode, errorMessage, httpStatus } from '../errors.js';
import { formatBytes, type Logger } from '../log.js';
import type { Sleep } from '../retry.js';

/**
 * Content-addressed upload: the key already names the content (its sha256), so an object that is
 * there with the same size is the same file and is not uploaded again.
 */

/** 8 MiB parts, 4 in flight: at most 32 MiB buffered, whatever the file size. */
export const PART_SIZE = 8 * 1024 * 1024;
export const QUEUE_SIZE = 4;

export interface UploadOptions {
  bucket: string;
  key: string;
  file: string;
  sha256Hex: string;
  expectedBucketOwner?: string;
  logger: Logger;
  contentType?: string;
  /** Backoff between attempts (tests pass a fake). */
  sleep?: Sleep;
}

export interface UploadResult {
  uploaded: boolean;
  key: string;
  bytes: number;
}

function accessDenied(
  bucket: string,
  key: string,
  owner: string | undefined,
  error: unknown,
): ActionError {
  const ownerHint = owner
    ? ` It is also what S3 answers when the bucket is not owned by account ${owner} (ExpectedBucketOwner).`
    : '';
  return new ActionError(
    `Checking s3://${bucket}/${key} was denied (403). The role needs s3:GetObject on arn:aws:s3:::${bucket}/${key.replace(/[^/]*$/, '*')} ` +
      `and s3:ListBucket on arn:aws:s3:::${bucket} (without ListBucket, S3 answers 403 instead of 404 for an object that does not exist), ` +
      `plus s3:PutObject to upload.${ownerHint} (${errorMessage(error)})`,
  );
}

/** The object's size (and recorded sha256) when it exists, undefined when it does not. */
export async function headObject(
  s3: S3Client,
  bucket: string,
  key: string,
  expectedBucketOwner?: string,
  sleep?: Sleep,
): Promise<{ bytes: number; sha256?: string } | undefined> {
  try {
    const head = await callAws(
      `HeadObject s3://${bucket}/${key}`,
      () =>
        s3.send(
          new HeadObjectCommand({
            Bucket: bucket,
            Key: key,
            ExpectedBucketOwner: expectedBucketOwner,
          }),
        ),
      sleep ? { sleep } : {},
    );
    return {
      bytes: head.ContentLength ?? 0,
      ...(head.Metadata?.sha256 ? { sha256: head.Metadata.sha256 } : {}),
    };
  } catch (error) {
    if (isNotFound(error)) return undefined;
    if (
      httpStatus(error) === 403 ||
      errorCode(error) === 'Forbidden' ||
      errorCode(error) === 'AccessDenied'
    ) {
      throw accessDenied(bucket, key, expectedBucketOwner, error);
    }
    if (errorCode(error) === 'NoSuchBucket')
      throw new ActionError(
        `Input 's3-bucket': bucket ${bucket} does not exist (or is in another region).`,
      );
    throw error;
  }
}

/** Logs progress each time another quarter of a large upload is done. Pure bookkeeping, no timers. */
export function progressReporter(
  total: number,
  log: (message: string) => void,
): (loaded: number) => void {
  let quartersLogged = 0;
  return (loaded) => {
    if (total <= 0) return;
    const done = Math.min(loaded, total);
    const quarters = Math.floor((done * 4) / total);
    if (quarters <= quartersLogged) return;
    quartersLogged = quarters;
    log(
      `  uploaded ${formatBytes(done)} of ${formatBytes(total)} (${Math.floor((done * 100) / total)}%)`,
    );
  };
}

/**
 * Uploads `file` to s3://bucket/key unless an object of the same size is already there.
 * Multipart with bounded concurrency for large files, SSE (AES256), a SHA-256 checksum that S3
 * verifies, and the content's sha256 in the object metadata.
 */
export async function uploadContentAddressed(
  s3: S3Client,
  options: UploadOptions,
): Promise<UploadResult> {
  const { bucket, key, file, logger } = options;
  const bytes = (await fs.stat(file)).size;
  const existing = await headObject(s3, bucket, key, options.expectedBucketOwner, options.sleep);
  const sameContent =
    existing &&
    existing.bytes === bytes &&
    (existing.sha256 === undefined || existing.sha256 === options.sha256Hex);
  if (sameContent) {
    logger.info(
      `s3://${bucket}/${key} is already there (${formatBytes(bytes)}): not uploading it again.`,
    );
    return { uploaded: false, key, bytes };
  }
  if (existing) {
    logger.warning(
      `s3://${bucket}/${key} exists but differs (${existing.bytes} bytes${existing.sha256 ? `, sha256 ${existing.sha256}` : ''}; ` +
        `the file has ${bytes} bytes, sha256 ${options.sha256Hex}): uploading it again.`,
    );
  }
  logger.info(`Uploading ${formatBytes(bytes)} to s3://${bucket}/${key}`);
  const report = progressReporter(bytes, (message) => logger.info(message));
  try {
    // Retried as a whole: the key names the content, so a second attempt writes the same object.
    await callAws(`Upload s3://${bucket}/${key}`, () => uploadOnce(s3, options, bytes, report), {
      logger,
      ...(options.sleep ? { sleep: options.sleep } : {}),
    });
  } catch (error) {
    if (httpStatus(error) === 403 || errorCode(error) === 'AccessDenied') {
      throw new ActionError(
        `Uploading to s3://${bucket}/${key} was denied (403): the role needs s3:PutObject on arn:aws:s3:::${bucket}/${key.replace(/[^/]*$/, '*')}. (${errorMessage(error)})`,
      );
    }
    throw error;
  }
  return { uploaded: true, key, bytes };
}

async function uploadOnce(
  s3: S3Client,
  options: UploadOptions,
  bytes: number,
  report: (loaded: number) => void,
): Promise<void> {
  const { bucket, key, file } = options;
  const upload = new Upload({
    client: s3,
    partSize: PART_SIZE,
    queueSize: QUEUE_SIZE,
    leavePartsOnError: false,
    params: {
      Bucket: bucket,
      Key: key,
      Body: createReadStream(file),
      ContentLength: bytes,
      ContentType: options.contentType ?? 'application/zip',
      ServerSideEncryption: 'AES256',
      ChecksumAlgorithm: 'SHA256',
      Metadata: { sha256: options.sha256Hex },
      ExpectedBucketOwner: options.expectedBucketOwner,
    },
  });
  if (bytes > PART_SIZE || options.logger.status)
    upload.on('httpUploadProgress', (progress) => {
      const loaded = Math.min(progress.loaded ?? 0, bytes);
      options.logger.status?.(
        `uploading ${options.key}: ${formatBytes(loaded)} of ${formatBytes(bytes)} ` +
          `(${bytes > 0 ? Math.floor((loaded * 100) / bytes) : 100}%)`,
      );
      if (bytes > PART_SIZE) report(loaded);
    });
  await upload.done();
}
