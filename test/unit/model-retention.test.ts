import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { memoryLogger } from '../../src/log.js';
import {
  MODEL_GRACE_MS,
  deleteUnreferencedModelObjects,
  unreferencedObjects,
} from '../../src/packaging/model-retention.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');
const old = new Date(NOW - 2 * MODEL_GRACE_MS);
const fresh = new Date(NOW - 60_000);

describe('unreferencedObjects', () => {
  it('keeps referenced and recent objects, deletes the rest', () => {
    const listed = [
      { key: 'p/model/files/a', lastModified: old },
      { key: 'p/model/files/b', lastModified: old },
      { key: 'p/model/files/c', lastModified: fresh },
      { key: 'p/model/manifests/m1.json', lastModified: old },
      { key: 'p/model/files/d' },
    ];
    expect(unreferencedObjects(listed, new Set(['p/model/files/a']), NOW)).toEqual([
      'p/model/files/b',
      'p/model/manifests/m1.json',
    ]);
  });
});

describe('deleteUnreferencedModelObjects (SDK boundary)', () => {
  const client = new S3Client({
    region: 'us-east-1',
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
  });
  const s3 = mockClient(client);
  // What GetObject's Body offers (the stream mixin's reader).
  const body = (text: string) => ({ transformToString: () => Promise.resolve(text) }) as never;
  const manifest = (...keys: string[]) =>
    JSON.stringify({
      format: 1,
      files: keys.map((key, i) => ({ path: `f${i}`, size: 1, sha256: 'x', key })),
    });

  beforeEach(() => s3.reset());

  it('deletes only what no pinned manifest references', async () => {
    s3.on(GetObjectCommand, { Key: 'p/model/manifests/kept.json' }).resolves({
      Body: body(manifest('p/model/files/shared', 'p/model/files/new')),
    });
    s3.on(ListObjectsV2Command).resolves({
      Contents: [
        { Key: 'p/model/files/shared', LastModified: old },
        { Key: 'p/model/files/new', LastModified: old },
        { Key: 'p/model/files/gone', LastModified: old },
        { Key: 'p/model/manifests/kept.json', LastModified: old },
        { Key: 'p/model/manifests/gone.json', LastModified: old },
      ],
    });
    s3.on(DeleteObjectsCommand).resolves({});
    const deleted = await deleteUnreferencedModelObjects(client, {
      bucket: 'bkt',
      prefix: 'p',
      manifestUris: ['s3://bkt/p/model/manifests/kept.json', 's3://other/x/manifests/y.json'],
      now: NOW,
      logger: memoryLogger(),
    });
    expect(deleted).toEqual(['p/model/files/gone', 'p/model/manifests/gone.json']);
    expect(s3.commandCalls(ListObjectsV2Command)[0]?.args[0].input.Prefix).toBe('p/model/');
    expect(s3.commandCalls(DeleteObjectsCommand)[0]?.args[0].input.Delete?.Objects).toEqual([
      { Key: 'p/model/files/gone' },
      { Key: 'p/model/manifests/gone.json' },
    ]);
    // Another bucket's manifest is not read, and nothing there is judged.
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(1);
  });

  it('deletes nothing when a pinned manifest cannot be read', async () => {
    s3.on(GetObjectCommand).rejects({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
    s3.on(ListObjectsV2Command).resolves({
      Contents: [{ Key: 'p/model/files/a', LastModified: old }],
    });
    await expect(
      deleteUnreferencedModelObjects(client, {
        bucket: 'bkt',
        prefix: 'p',
        manifestUris: ['s3://bkt/p/model/manifests/m.json'],
        now: NOW,
        logger: memoryLogger(),
      }),
    ).rejects.toThrow(
      /reading the pinned manifest s3:\/\/bkt\/p\/model\/manifests\/m\.json failed/,
    );
    expect(s3.commandCalls(DeleteObjectsCommand)).toHaveLength(0);
  });
});
