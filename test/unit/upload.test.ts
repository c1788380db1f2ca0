import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { PART_SIZE, progressReporter, uploadContentAddressed } from '../../src/packaging/upload.js';
import { memoryLogger } from '../../src/log.js';

function s3Error(name: string, status: number): S3ServiceException {
  return new S3ServiceException({
    name,
    $fault: 'client',
    $metadata: { httpStatusCode: status },
    message: name,
  });
}

const client = new S3Client({
  region: 'us-east-1',
  credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
});
const s3 = mockClient(client);
let dir: string;
let file: string;

beforeEach(async () => {
  s3.reset();
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'upload-'));
  file = path.join(dir, 'layer.zip');
  await fs.writeFile(file, Buffer.alloc(1000, 7));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const base = () => ({
  bucket: 'bkt',
  key: 'p/layers/abc.zip',
  file,
  sha256Hex: 'abc',
  logger: memoryLogger(),
});

describe('uploadContentAddressed', () => {
  it('skips the upload when the object is already there with the same size', async () => {
    s3.on(HeadObjectCommand).resolves({ ContentLength: 1000, Metadata: { sha256: 'abc' } });
    const options = base();
    await expect(
      uploadContentAddressed(client, { ...options, expectedBucketOwner: '123456789012' }),
    ).resolves.toEqual({
      uploaded: false,
      key: 'p/layers/abc.zip',
      bytes: 1000,
    });
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
    expect(s3.commandCalls(CreateMultipartUploadCommand)).toHaveLength(0);
    expect(s3.commandCalls(HeadObjectCommand)[0].args[0].input).toEqual({
      Bucket: 'bkt',
      Key: 'p/layers/abc.zip',
      ExpectedBucketOwner: '123456789012',
    });
    expect(options.logger.lines.join('\n')).toMatch(/already there/);
  });

  it('uploads when HeadObject says 404, with SSE, a SHA-256 checksum and the sha256 metadata', async () => {
    s3.on(HeadObjectCommand).rejects(s3Error('NotFound', 404));
    s3.on(PutObjectCommand).resolves({ ETag: '"e"' });
    await expect(uploadContentAddressed(client, base())).resolves.toEqual({
      uploaded: true,
      key: 'p/layers/abc.zip',
      bytes: 1000,
    });
    const put = s3.commandCalls(PutObjectCommand);
    expect(put).toHaveLength(1);
    expect(put[0].args[0].input).toMatchObject({
      Bucket: 'bkt',
      Key: 'p/layers/abc.zip',
      ServerSideEncryption: 'AES256',
      ChecksumAlgorithm: 'SHA256',
      Metadata: { sha256: 'abc' },
      ContentType: 'application/zip',
    });
  });

  it('uploads again when the object exists with another size or sha256', async () => {
    s3.on(HeadObjectCommand).resolves({ ContentLength: 1000, Metadata: { sha256: 'other' } });
    s3.on(PutObjectCommand).resolves({ ETag: '"e"' });
    const options = base();
    await expect(uploadContentAddressed(client, options)).resolves.toMatchObject({
      uploaded: true,
    });
    expect(options.logger.lines.join('\n')).toMatch(/exists but differs/);
  });

  it('explains a 403 from HeadObject in terms of the permissions needed', async () => {
    s3.on(HeadObjectCommand).rejects(s3Error('Forbidden', 403));
    await expect(uploadContentAddressed(client, base())).rejects.toThrow(
      /Checking s3:\/\/bkt\/p\/layers\/abc\.zip was denied \(403\)\. The role needs s3:GetObject on arn:aws:s3:::bkt\/p\/layers\/\* and s3:ListBucket on arn:aws:s3:::bkt/,
    );
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
  });

  it('uses a multipart upload with parts of PART_SIZE for large files', async () => {
    await fs.writeFile(file, Buffer.alloc(PART_SIZE * 2 + 10, 1));
    s3.on(HeadObjectCommand).rejects(s3Error('NotFound', 404));
    s3.on(CreateMultipartUploadCommand).resolves({ UploadId: 'u1' });
    s3.on(UploadPartCommand).resolves({ ETag: '"p"' });
    s3.on(CompleteMultipartUploadCommand).resolves({ ETag: '"c"' });
    const options = base();
    await expect(uploadContentAddressed(client, options)).resolves.toMatchObject({
      uploaded: true,
      bytes: PART_SIZE * 2 + 10,
    });
    expect(s3.commandCalls(UploadPartCommand)).toHaveLength(3);
    expect(s3.commandCalls(CreateMultipartUploadCommand)[0].args[0].input).toMatchObject({
      ServerSideEncryption: 'AES256',
      ChecksumAlgorithm: 'SHA256',
    });
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
    expect(options.logger.lines.some((l) => /uploaded .* \(100%\)/.test(l))).toBe(true);
  });

  it('on an interactive terminal, every part moves the progress line; the log gets quarters', async () => {
    await fs.writeFile(file, Buffer.alloc(PART_SIZE * 2 + 10, 1));
    s3.on(HeadObjectCommand).rejects(s3Error('NotFound', 404));
    s3.on(CreateMultipartUploadCommand).resolves({ UploadId: 'u1' });
    s3.on(UploadPartCommand).resolves({ ETag: '"p"' });
    s3.on(CompleteMultipartUploadCommand).resolves({ ETag: '"c"' });
    const statuses: string[] = [];
    const logger = { ...memoryLogger(), status: (text: string) => void statuses.push(text) };
    await uploadContentAddressed(client, { ...base(), logger });
    expect(statuses.length).toBeGreaterThanOrEqual(3);
    expect(statuses.at(-1)).toMatch(/^uploading p\/layers\/abc\.zip: .* \(100%\)$/);
  });
});

describe('progressReporter', () => {
  it('logs once per quarter crossed, whatever the number of events', () => {
    const lines: string[] = [];
    const report = progressReporter(400, (m) => lines.push(m));
    for (const loaded of [10, 50, 99, 100, 150, 390, 400, 400]) report(loaded);
    expect(lines).toEqual([
      '  uploaded 100 B of 400 B (25%)',
      '  uploaded 390 B of 400 B (97%)',
      '  uploaded 400 B of 400 B (100%)',
    ]);
  });
});
