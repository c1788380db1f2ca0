import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';
import { callAws } from '../aws/call.js';
import { ActionError, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { Sleep } from '../retry.js';
import type { ModelManifest } from './model-manifest.js';

/**
 * Retention of the S3 model store: model files and manifests under <prefix>/model/ that no version
 * of the function pins any more are deleted. A content-addressed object can be pinned by a version
 * published long ago and still served (an unchanged model is never uploaded again), so an age-based
 * lifecycle rule could delete the model prod runs on; this looks at what the versions reference.
 */

/** Objects younger than this are kept: another run may have uploaded them and not published yet. */
export const MODEL_GRACE_MS = 24 * 60 * 60 * 1000;

export interface ListedObject {
  key: string;
  lastModified?: Date;
}

/** Which listed objects to delete: neither referenced nor recent. Pure. */
export function unreferencedObjects(
  listed: readonly ListedObject[],
  referenced: ReadonlySet<string>,
  now: number,
  graceMs: number = MODEL_GRACE_MS,
): string[] {
  return listed
    .filter((o) => !referenced.has(o.key))
    .filter((o) => o.lastModified !== undefined && now - o.lastModified.getTime() >= graceMs)
    .map((o) => o.key);
}

/** The keys a set of pinned manifests (s3://bucket/key) reference, the manifests included. */
export async function referencedKeys(
  s3: S3Client,
  bucket: string,
  manifestUris: Iterable<string>,
  sleep?: Sleep,
): Promise<Set<string>> {
  const keys = new Set<string>();
  for (const uri of manifestUris) {
    const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
    if (!match || match[1] !== bucket) continue; // another bucket's objects are not ours to judge
    const key = match[2] ?? '';
    keys.add(key);
    const body = await callAws(
      `GetObject s3://${bucket}/${key}`,
      async () => {
        const answer = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        return answer.Body?.transformToString() ?? '';
      },
      sleep ? { sleep } : {},
    ).catch((error: unknown) => {
      // Unreadable: nothing can be judged unreferenced, so nothing is deleted.
      throw new ActionError(`reading the pinned manifest ${uri} failed (${errorMessage(error)})`);
    });
    const manifest = JSON.parse(body) as ModelManifest;
    for (const f of manifest.files) keys.add(f.key);
  }
  return keys;
}

async function listUnder(
  s3: S3Client,
  bucket: string,
  prefix: string,
  sleep?: Sleep,
): Promise<ListedObject[]> {
  const listed: ListedObject[] = [];
  let token: string | undefined;
  do {
    const page = await callAws(
      `ListObjectsV2 s3://${bucket}/${prefix}`,
      () =>
        s3.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
        ),
      sleep ? { sleep } : {},
    );
    for (const o of page.Contents ?? [])
      if (o.Key)
        listed.push({ key: o.Key, ...(o.LastModified ? { lastModified: o.LastModified } : {}) });
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return listed;
}

/** Deletes what no pinned manifest references under <prefix>/model/; returns the deleted keys. */
export async function deleteUnreferencedModelObjects(
  s3: S3Client,
  options: {
    bucket: string;
    prefix: string;
    manifestUris: Iterable<string>;
    now: number;
    logger: Logger;
    sleep?: Sleep;
  },
): Promise<string[]> {
  const { bucket, sleep } = options;
  const referenced = await referencedKeys(s3, bucket, options.manifestUris, sleep);
  const listed = await listUnder(s3, bucket, `${options.prefix}/model/`, sleep);
  const doomed = unreferencedObjects(listed, referenced, options.now);
  for (let i = 0; i < doomed.length; i += 1000) {
    const batch = doomed.slice(i, i + 1000);
    const answer = await callAws(
      `DeleteObjects s3://${bucket} (${batch.length})`,
      () =>
        s3.send(
          new DeleteObjectsCommand({
            Bucket: bucket,
            Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
          }),
        ),
      sleep ? { sleep } : {},
    );
    const failed = answer.Errors ?? [];
    if (failed.length > 0)
      options.logger.warning(
        `Model store retention: ${failed.length} object(s) not deleted (${failed[0]?.Code ?? ''} ${failed[0]?.Message ?? ''}).`,
      );
  }
  return doomed;
}
