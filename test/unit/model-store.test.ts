import { createHash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { memoryLogger } from '../../src/log.js';
import {
  MAX_EPHEMERAL_MB,
  manifestKeyFor,
  modelFileKey,
  planEphemeralStorage,
  planModelStore,
  requiredEphemeralMb,
  type ModelFile,
} from '../../src/packaging/model-manifest.js';
import { prepareModelStore, uploadModelStore } from '../../src/packaging/model-store.js';
import { desiredConfigFrom } from '../../src/release/function/desired-config.js';

const MB = 1024 * 1024;
const sha = (text: string) => createHash('sha256').update(text).digest('hex');
const file = (p: string, content: string): ModelFile => ({
  path: p,
  absPath: `/nowhere/${p}`,
  size: content.length,
  sha256: sha(content),
});

describe('planModelStore', () => {
  it('keys files and the manifest by content; the same files give the same manifest key', () => {
    const a = planModelStore([file('b.bin', 'bbb'), file('a.json', 'a')], 'bkt', 'p/fn');
    const again = planModelStore([file('a.json', 'a'), file('b.bin', 'bbb')], 'bkt', 'p/fn');
    expect(a.manifestKey).toBe(again.manifestKey);
    expect(a.manifest.files.map((f) => f.path)).toEqual(['a.json', 'b.bin']);
    expect(a.manifest.files[1]).toEqual({
      path: 'b.bin',
      size: 3,
      sha256: sha('bbb'),
      key: modelFileKey('p/fn', sha('bbb')),
    });
    expect(a.manifestKey).toBe(manifestKeyFor('p/fn', sha(a.manifestBody)));
    expect(a.manifestUri).toBe(`s3://bkt/${a.manifestKey}`);
    expect(a.totalBytes).toBe(4);
  });

  it('a change to one file changes that key and the manifest, nothing else', () => {
    const before = planModelStore([file('w.bin', 'weights'), file('l.json', 'v1')], 'b', 'p');
    const after = planModelStore([file('w.bin', 'weights'), file('l.json', 'v2')], 'b', 'p');
    const keys = (plan: typeof before) => plan.objects.map((o) => o.key);
    expect(keys(after).filter((k) => !keys(before).includes(k))).toEqual([
      modelFileKey('p', sha('v2')),
    ]);
    expect(after.manifestKey).not.toBe(before.manifestKey);
  });

  it('stores one object for two paths with the same bytes', () => {
    const plan = planModelStore([file('x/a', 'same'), file('y/a', 'same')], 'b', 'p');
    expect(plan.objects).toHaveLength(1);
    expect(plan.manifest.files).toHaveLength(2);
  });

  it('refuses two files stored under the same path', () => {
    expect(() => planModelStore([file('a', '1'), file('a', '2')], 'b', 'p')).toThrow(
      /Input 'model': two model files would both be stored as 'a'/,
    );
  });
});

describe('planEphemeralStorage', () => {
  it('leaves a small model to the default 512 MB', () => {
    expect(planEphemeralStorage(10 * MB, undefined)).toEqual({
      requiredMb: requiredEphemeralMb(10 * MB),
      sized: false,
    });
  });

  it('leaves a 300 MB model to the default 512 MB (it fits with margin)', () => {
    expect(planEphemeralStorage(300 * MB, undefined)).toEqual({ requiredMb: 394, sized: false });
  });

  it('sizes /tmp from a larger model with margin when not given', () => {
    expect(planEphemeralStorage(450 * MB, undefined)).toEqual({
      mb: 559,
      requiredMb: 559,
      sized: true,
    });
  });

  it('sizes /tmp for a model over 512 MB', () => {
    expect(planEphemeralStorage(1000 * MB, undefined).mb).toBe(1164);
  });

  it('keeps a given size that fits, and names ephemeral-storage when it does not', () => {
    expect(planEphemeralStorage(300 * MB, 2048)).toEqual({
      mb: 2048,
      requiredMb: 394,
      sized: false,
    });
    expect(() => planEphemeralStorage(300 * MB, 350)).toThrow(
      /^Input 'ephemeral-storage': 350 MB cannot hold the 300 MB model .* at least 394/,
    );
  });

  it('names model-store when the model cannot fit in Lambda’s largest /tmp', () => {
    expect(() => planEphemeralStorage(9800 * MB, undefined)).toThrow(
      new RegExp(
        `^Input 'model-store': the model is 9800 MB.*more than Lambda's ${MAX_EPHEMERAL_MB} MB`,
      ),
    );
    expect(() => planEphemeralStorage(9800 * MB, 10240)).toThrow(/Input 'model-store'/);
  });
});

describe('desired configuration with the model store', () => {
  const fn = { createFunction: false, handler: 'h.handler', environment: { A: '1' } };
  const build = { runtime: 'python3.12', architecture: 'x86_64' as const, layerName: 'l' };

  it('adds the manifest variable to the environment and the sized /tmp', () => {
    const desired = desiredConfigFrom(build, fn, undefined, undefined, {
      variable: 'LAMBDA_ML_MODEL_MANIFEST',
      manifestUri: 's3://b/k.json',
      ephemeralMb: 900,
    });
    expect(desired.environment).toEqual({ A: '1', LAMBDA_ML_MODEL_MANIFEST: 's3://b/k.json' });
    expect(desired.ephemeralStorage).toBe(900);
  });

  it('changes nothing in bundle mode', () => {
    const desired = desiredConfigFrom(build, { ...fn, ephemeralStorage: 600 }, undefined);
    expect(desired.environment).toEqual({ A: '1' });
    expect(desired.ephemeralStorage).toBe(600);
  });
});

describe('prepareModelStore and uploadModelStore (SDK boundary)', () => {
  const client = new S3Client({
    region: 'us-east-1',
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
  });
  const s3 = mockClient(client);
  let dir: string;

  beforeEach(async () => {
    s3.reset();
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'model-store-'));
    await fs.mkdir(path.join(dir, 'm', 'sub'), { recursive: true });
    await fs.writeFile(path.join(dir, 'm', 'weights.bin'), Buffer.alloc(2000, 1));
    await fs.writeFile(path.join(dir, 'm', 'sub', 'labels.json'), '{"v": 1}');
  });
  afterEach(() => fs.rm(dir, { recursive: true, force: true }));

  const bundleFiles = () => [
    {
      zipPath: 'model/weights.bin',
      absPath: path.join(dir, 'm', 'weights.bin'),
      size: 2000,
      mode: 0o644 as const,
      origin: 'model' as const,
    },
    {
      zipPath: 'model/sub/labels.json',
      absPath: path.join(dir, 'm', 'sub', 'labels.json'),
      size: 8,
      mode: 0o644 as const,
      origin: 'model' as const,
    },
  ];

  it('hashes the files under their paths below model-dest', async () => {
    const built = await prepareModelStore(bundleFiles(), {
      modelDest: 'model',
      bucket: 'bkt',
      prefix: 'p',
    });
    expect(built.plan.manifest.files.map((f) => [f.path, f.size, f.sha256])).toEqual([
      ['sub/labels.json', 8, sha('{"v": 1}')],
      ['weights.bin', 2000, createHash('sha256').update(Buffer.alloc(2000, 1)).digest('hex')],
    ]);
    expect(built.ephemeralMb).toBeUndefined();
  });

  it('uploads what is missing, then the manifest; skips what is there', async () => {
    const built = await prepareModelStore(bundleFiles(), {
      modelDest: 'model',
      bucket: 'bkt',
      prefix: 'p',
    });
    const weights = built.plan.manifest.files.find((f) => f.path === 'weights.bin');
    s3.on(HeadObjectCommand).rejects({ name: 'NotFound', $metadata: { httpStatusCode: 404 } });
    s3.on(HeadObjectCommand, { Key: weights?.key }).resolves({
      ContentLength: 2000,
      Metadata: { sha256: weights?.sha256 ?? '' },
    });
    s3.on(PutObjectCommand).resolves({});
    const result = await uploadModelStore(client, built.plan, {
      bucket: 'bkt',
      workDir: dir,
      logger: memoryLogger(),
    });
    expect(result).toEqual({
      uploaded: ['sub/labels.json'],
      skipped: ['weights.bin'],
      manifestUploaded: true,
    });
    const puts = s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input);
    expect(puts.map((p) => p.Key)).toEqual([
      built.plan.objects.find((o) => o.file.path === 'sub/labels.json')?.key,
      built.plan.manifestKey,
    ]);
    expect(puts[1]?.ContentType).toBe('application/json');
    expect(puts[1]?.Metadata).toEqual({ sha256: sha(built.plan.manifestBody) });
  });

  it('an unchanged model makes no PutObject at all', async () => {
    const built = await prepareModelStore(bundleFiles(), {
      modelDest: 'model',
      bucket: 'bkt',
      prefix: 'p',
    });
    const sizes = new Map(built.plan.objects.map((o) => [o.key, o.file.size]));
    s3.on(HeadObjectCommand).callsFake((input: { Key: string }) => ({
      ContentLength: sizes.get(input.Key) ?? Buffer.byteLength(built.plan.manifestBody),
    }));
    const result = await uploadModelStore(client, built.plan, {
      bucket: 'bkt',
      workDir: dir,
      logger: memoryLogger(),
    });
    expect(result.uploaded).toEqual([]);
    expect(result.manifestUploaded).toBe(false);
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
  });
});
