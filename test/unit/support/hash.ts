import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** A sha256 digest in the two spellings the action needs. */
export interface Sha256Digest {
  /** Lowercase hex: S3 keys, logs, the job summary. */
  hex: string;
  /** Base64 of the raw digest: what Lambda reports as CodeSha256. */
  base64: string;
}

function toDigest(hash: Hash): Sha256Digest {
  const raw = hash.digest();
  return { hex: raw.toString('hex'), base64: raw.toString('base64') };
}

/** sha256 hex of a string (UTF-8) or bytes. */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * sha256 hex over several strings without ambiguity: each part is length-prefixed, so
 * ['ab', 'c'] and ['a', 'bc'] give different digests.
 */
export function sha256OfParts(parts: readonly string[]): string {
  const hash = createHash('sha256');
  for (const part of parts) {
    const bytes = Buffer.from(part, 'utf8');
    hash.update(`${bytes.length}:`);
    hash.update(bytes);
  }
  return hash.digest('hex');
}

/** Lambda's CodeSha256 spelling (base64 of the raw digest) of a hex sha256. */
export function hexToBase64(hex: string): string {
  if (!/^[0-9a-f]{64}$/i.test(hex)) throw new Error(`not a sha256 hex digest: '${hex}'`);
  return Buffer.from(hex, 'hex').toString('base64');
}

/** sha256 of a file, streamed (constant memory whatever the file size), with its size. */
export async function sha256File(file: string): Promise<Sha256Digest & { bytes: number }> {
  const counter = new HashingStream();
  await pipeline(createReadStream(file, { highWaterMark: 1 << 20 }), counter, async (source) => {
    for await (const chunk of source) void chunk; // drain
  });
  return { ...counter.digest(), bytes: counter.bytes };
}

/**
 * A pass-through stream that hashes and counts what flows through it, so a file can be written
 * and hashed in one pass. `digest()` is valid once the stream has ended.
 */
export class HashingStream extends Transform {
  private readonly hash = createHash('sha256');
  private result: Sha256Digest | undefined;
  bytes = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    this.result = toDigest(this.hash);
    callback();
  }

  digest(): Sha256Digest {
    if (!this.result) throw new Error('HashingStream.digest() called before the stream ended');
    return this.result;
  }
}
