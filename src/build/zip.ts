import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import yazl from 'yazl';
import { errorMessage } from '../errors.js';
import type { BundleFile } from './bundle-files.js';
import { HashingStream } from './hash.js';

/**
 * Deterministic, streaming zip writer (yazl underneath).
 *
 * Same files, same bytes: entries in sorted order, one fixed timestamp, modes normalised to
 * 0644/0755, no extra fields that vary (no Info-ZIP UT timestamp field), no comment.
 * The timestamp is the DOS epoch, 1980-01-01 00:00:00. DOS dates have no time zone and yazl
 * encodes them from a Date's *local* fields, so the Date is built from local fields as well:
 * the encoded date is the same whatever TZ says.
 *
 * Per entry the content is stored or deflated: known compressed formats are stored unread; other
 * files are sampled (first `sampleBytes`, deflated in memory at the real level) and stored when
 * deflate would not shrink them enough. Float weights save only ~5-8% under deflate at ~35 MB/s,
 * so weight formats need a larger gain to be deflated.
 *
 * The zip is streamed to a temp file next to the destination and renamed at the end; its sha256
 * is computed from the same stream, so no file is read twice and nothing large is held in memory.
 */

/** Default deflate level: the fast end. Measured: level 6 is 3-4x slower for 1-10% smaller output (the zip size only costs upload time; Lambda limits the unzipped size). */
export const DEFAULT_DEFLATE_LEVEL = 1;
/** How much of each file is deflated in memory to decide between store and deflate. */
export const DEFAULT_SAMPLE_BYTES = 1 << 20;
/** Stored when the sample deflates to more than this fraction of its size. */
export const STORE_ABOVE_RATIO = 0.95;
/** The same for float-weight formats: deflating them must save at least 10% to be worth the time. */
export const STORE_ABOVE_RATIO_WEIGHTS = 0.9;

/** Formats that are compressed already: stored without sampling. */
export const COMPRESSED_EXTENSIONS: ReadonlySet<string> = new Set([
  '.zip', '.gz', '.tgz', '.bz2', '.tbz2', '.xz', '.txz', '.zst', '.zstd', '.lz4', '.lzma', '.br', '.7z', '.rar',
  '.whl', '.jar', '.egg', '.jpg', '.jpeg', '.png', '.gif', '.webp', '.avif', '.mp3', '.mp4', '.ogg', '.flac', '.webm',
]);

/** Binary weight formats (mostly float arrays, compress poorly); sampled with the stricter threshold. */
export const WEIGHT_EXTENSIONS: ReadonlySet<string> = new Set([
  '.pt', '.pth', '.bin', '.safetensors', '.onnx', '.h5', '.hdf5', '.ckpt', '.pb', '.tflite', '.gguf', '.npy', '.keras', '.params',
]);

const READ_CHUNK = 1 << 18;
const S_IFREG = 0o100000;

export type CompressionPlan = { kind: 'store'; reason: 'empty' | 'compressed-format' } | { kind: 'sample'; storeAboveRatio: number };

/** Pure: what to do with a file before looking at its bytes. */
export function planCompression(zipPath: string, size: number): CompressionPlan {
  if (size === 0) return { kind: 'store', reason: 'empty' };
  const ext = path.posix.extname(zipPath).toLowerCase();
  if (COMPRESSED_EXTENSIONS.has(ext)) return { kind: 'store', reason: 'compressed-format' };
  return { kind: 'sample', storeAboveRatio: WEIGHT_EXTENSIONS.has(ext) ? STORE_ABOVE_RATIO_WEIGHTS : STORE_ABOVE_RATIO };
}

/** Pure: the decision once the sample's deflated size is known. */
export function shouldStore(plan: CompressionPlan, sampleBytes: number, deflatedBytes: number): boolean {
  if (plan.kind === 'store') return true;
  if (sampleBytes === 0) return true;
  return deflatedBytes / sampleBytes > plan.storeAboveRatio;
}

/** The fixed entry timestamp: DOS epoch from local fields, so its DOS encoding ignores TZ. */
export function fixedZipDate(): Date {
  return new Date(1980, 0, 1, 0, 0, 0, 0);
}

export interface ZipOptions {
  files: readonly BundleFile[];
  /** Destination path of the zip; its folder must exist. */
  destPath: string;
  /** Deflate level 1-9 for entries that are deflated. */
  level?: number;
  sampleBytes?: number;
  /** Files sampled at the same time (each holds one sample buffer). */
  concurrency?: number;
}

export interface ZipResult {
  path: string;
  sha256Hex: string;
  /** base64 of the sha256 digest: what Lambda reports as CodeSha256 for this zip. */
  codeSha256: string;
  zippedBytes: number;
  unzippedBytes: number;
  files: number;
  stored: number;
  deflated: number;
}

const deflateRaw = promisify(zlib.deflateRaw) as (buffer: Buffer, options: zlib.ZlibOptions) => Promise<Buffer>;

async function readSample(file: string, limit: number): Promise<Buffer> {
  const handle = await fs.open(file, 'r');
  try {
    const buffer = Buffer.allocUnsafe(limit);
    let filled = 0;
    while (filled < limit) {
      const { bytesRead } = await handle.read(buffer, filled, limit - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return buffer.subarray(0, filled);
  } finally {
    await handle.close();
  }
}

/** Decides store (true) or deflate (false) for each file, sampling a few files at a time. */
export async function decideStored(files: readonly BundleFile[], level: number, sampleBytes: number, concurrency: number): Promise<boolean[]> {
  const result = new Array<boolean>(files.length);
  let next = 0;
  const worker = async () => {
    while (next < files.length) {
      const index = next++;
      const file = files[index];
      const plan = planCompression(file.zipPath, file.size);
      if (plan.kind === 'store') {
        result[index] = true;
        continue;
      }
      let sample: Buffer;
      try {
        sample = await readSample(file.absPath, Math.min(sampleBytes, file.size));
      } catch (error) {
        throw new Error(`Cannot read '${file.absPath}' (for '${file.zipPath}'): ${errorMessage(error)}`);
      }
      const deflated = await deflateRaw(sample, { level });
      result[index] = shouldStore(plan, sample.length, deflated.length);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, files.length)) }, worker));
  return result;
}

function sortedUnique(files: readonly BundleFile[]): BundleFile[] {
  const sorted = [...files].sort((a, b) => (a.zipPath < b.zipPath ? -1 : a.zipPath > b.zipPath ? 1 : 0));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i].zipPath === sorted[i - 1].zipPath) {
      throw new Error(`Two files would be stored at '${sorted[i].zipPath}': '${sorted[i - 1].absPath}' and '${sorted[i].absPath}'.`);
    }
  }
  return sorted;
}

/** Writes the deterministic zip of `files` to `destPath`; returns its hashes and sizes. */
export async function writeDeterministicZip(options: ZipOptions): Promise<ZipResult> {
  const level = options.level ?? DEFAULT_DEFLATE_LEVEL;
  if (!Number.isInteger(level) || level < 1 || level > 9) throw new Error(`Deflate level must be an integer from 1 to 9, got ${level}.`);
  const files = sortedUnique(options.files);
  const stored = await decideStored(files, level, options.sampleBytes ?? DEFAULT_SAMPLE_BYTES, options.concurrency ?? 4);

  const destPath = path.resolve(options.destPath);
  const tmpPath = path.join(path.dirname(destPath), `.${path.basename(destPath)}.${process.pid}-${randomBytes(6).toString('hex')}.tmp`);
  const zipfile = new yazl.ZipFile();
  const hasher = new HashingStream();
  const mtime = fixedZipDate();

  let failure: Error | undefined;
  const zipFailed = new Promise<never>((_, reject) => {
    zipfile.on('error', (error: Error) => {
      failure ??= error;
      (zipfile.outputStream as unknown as NodeJS.ReadableStream & { destroy(error?: Error): void }).destroy(error);
      reject(error);
    });
  });
  zipFailed.catch(() => undefined);
  const written = pipeline(zipfile.outputStream, hasher, createWriteStream(tmpPath, { flags: 'wx' }));
  written.catch(() => undefined);

  let unzippedBytes = 0;
  files.forEach((file, index) => {
    unzippedBytes += file.size;
    const common = { mtime, mode: S_IFREG | file.mode, forceDosTimestamp: true, size: file.size };
    const entryOptions = stored[index] ? { ...common, compress: false } : { ...common, compress: true, compressionLevel: level };
    zipfile.addReadStreamLazy(file.zipPath, entryOptions, (callback) => {
      const stream = createReadStream(file.absPath, { highWaterMark: READ_CHUNK });
      stream.on('error', (error) => zipfile.emit('error', new Error(`Cannot read '${file.absPath}' (for '${file.zipPath}'): ${errorMessage(error)}`)));
      callback(null, stream);
    });
  });
  zipfile.end({ forceZip64Format: false, comment: '' });

  try {
    await Promise.race([written, zipFailed]);
  } catch (error) {
    await fs.rm(tmpPath, { force: true });
    const cause = failure ?? error;
    const hint = /unexpected number of bytes/.test(errorMessage(cause)) ? ' (a file changed size while it was being zipped)' : '';
    throw new Error(`Writing zip '${destPath}' failed: ${errorMessage(cause)}${hint}`);
  }
  await fs.rename(tmpPath, destPath);

  const digest = hasher.digest();
  const storedCount = stored.filter(Boolean).length;
  return {
    path: destPath,
    sha256Hex: digest.hex,
    codeSha256: digest.base64,
    zippedBytes: hasher.bytes,
    unzippedBytes,
    files: files.length,
    stored: storedCount,
    deflated: files.length - storedCount,
  };
}
