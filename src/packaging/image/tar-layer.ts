import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';

/**
 * Deterministic image layers: a tar of the given files, gzip-compressed, written to disk with
 * its digests. Same files, same bytes: entries sorted by name, every parent folder listed once
 * (0755), files 0644/0755, owner 0:0 with no user or group names, mtime 0, no pax timestamps (a
 * pax header only for a name or size ustar cannot hold). gzip: header with mtime 0 and OS 255
 * ("unknown") so the build host does not show; `stored` layers (already-compressed weights) are
 * written as stored deflate blocks by this code, so their bytes do not depend on zlib at all.
 */

export interface LayerEntry {
  /** Path inside the image: posix, relative to /, no '.' or '..' segments (e.g. var/task/app.py). */
  path: string;
  absPath: string;
  size: number;
  mode: 0o644 | 0o755;
}

export type LayerCompression = 'gzip' | 'stored';

export interface LayerBlob {
  /** The compressed blob on disk. */
  file: string;
  /** sha256:<hex> of the compressed bytes (the blob's digest in the manifest). */
  digest: string;
  /** sha256:<hex> of the tar (the config's rootfs.diff_ids entry). */
  diffId: string;
  /** Compressed bytes. */
  size: number;
  /** Bytes of the files in it (what the image holds once extracted). */
  contentBytes: number;
  files: number;
  compression: LayerCompression;
}

const BLOCK = 512;
const USTAR_SIZE_MAX = 0o77777777777;
const GZIP_LEVEL = 1;
const STORED_BLOCK = 65535;
const READ_CHUNK = 1 << 20;

type TarItem = { kind: 'dir'; name: string } | { kind: 'file'; name: string; entry: LayerEntry };

/** Files plus every parent folder, in the order they are written. Pure. */
export function tarItems(entries: readonly LayerEntry[]): TarItem[] {
  const items = new Map<string, TarItem>();
  for (const entry of entries) {
    const parts = entry.path.split('/');
    if (parts.some((p) => p === '' || p === '.' || p === '..'))
      throw new Error(`internal: invalid layer path '${entry.path}'`);
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/') + '/';
      if (!items.has(dir)) items.set(dir, { kind: 'dir', name: dir });
    }
    if (items.has(entry.path)) throw new Error(`internal: '${entry.path}' twice in one layer`);
    items.set(entry.path, { kind: 'file', name: entry.path, entry });
  }
  return [...items.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

function paxRecord(key: string, value: string): Buffer {
  const body = ` ${key}=${value}\n`;
  let length = Buffer.byteLength(body);
  let text = `${length}${body}`;
  // The length counts its own digits.
  while (Buffer.byteLength(text) !== length) {
    length = Buffer.byteLength(text);
    text = `${length}${body}`;
  }
  return Buffer.from(text);
}

function header(name: string, size: number, mode: number, type: '0' | '5' | 'x'): Buffer {
  const h = Buffer.alloc(BLOCK);
  h.write(name, 0, 100, 'utf8');
  h.write(octal(mode, 8), 100, 'ascii');
  h.write(octal(0, 8), 108, 'ascii');
  h.write(octal(0, 8), 116, 'ascii');
  h.write(octal(size, 12), 124, 'ascii');
  h.write(octal(0, 12), 136, 'ascii');
  h.write('        ', 148, 'ascii');
  h.write(type, 156, 'ascii');
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(octal(sum, 7) + ' ', 148, 'ascii');
  return h;
}

const padding = (size: number) => Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);

/** ustar name + prefix when the name fits, else undefined (a pax path record is needed). */
function splitName(name: string): { name: string; prefix: string } | undefined {
  if (Buffer.byteLength(name) <= 100) return { name, prefix: '' };
  for (let i = name.indexOf('/'); i !== -1; i = name.indexOf('/', i + 1)) {
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(rest) <= 100 && rest)
      return { name: rest, prefix };
  }
  return undefined;
}

/** The header blocks of one entry (a pax header first when ustar cannot hold its name or size). */
export function entryHeader(name: string, size: number, mode: number, type: '0' | '5'): Buffer {
  const split = splitName(name);
  const records: Buffer[] = [];
  if (!split) records.push(paxRecord('path', name));
  if (size > USTAR_SIZE_MAX) records.push(paxRecord('size', String(size)));
  const out: Buffer[] = [];
  if (records.length) {
    const pax = Buffer.concat(records);
    out.push(header('PaxHeader', pax.length, 0o644, 'x'), pax, padding(pax.length));
  }
  const h = header(
    split ? split.name : name.slice(-100),
    size > USTAR_SIZE_MAX ? 0 : size,
    mode,
    type,
  );
  if (split?.prefix) {
    h.write(split.prefix, 345, 155, 'utf8');
    let sum = 0;
    h.write('        ', 148, 'ascii');
    for (const byte of h) sum += byte;
    h.write(octal(sum, 7) + ' ', 148, 'ascii');
  }
  out.push(h);
  return Buffer.concat(out);
}

async function* tarStream(items: readonly TarItem[]): AsyncGenerator<Buffer> {
  for (const item of items) {
    if (item.kind === 'dir') {
      yield entryHeader(item.name, 0, 0o755, '5');
      continue;
    }
    const { entry } = item;
    yield entryHeader(item.name, entry.size, entry.mode, '0');
    let read = 0;
    for await (const chunk of createReadStream(entry.absPath, { highWaterMark: READ_CHUNK })) {
      const buffer = chunk as Buffer;
      read += buffer.length;
      if (read > entry.size) break;
      yield buffer;
    }
    if (read !== entry.size)
      throw new Error(`${entry.absPath} changed while it was written to an image layer`);
    yield padding(entry.size);
  }
  yield Buffer.alloc(BLOCK * 2);
}

class Digest extends Transform {
  private readonly hash = createHash('sha256');
  bytes = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    done(null, chunk);
  }
  digest(): string {
    return `sha256:${this.hash.digest('hex')}`;
  }
}

/** gzip through zlib, its header's OS byte set to 255 so every host writes the same bytes. */
class FixedGzipHeader extends Transform {
  private seen = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    if (this.seen <= 9 && this.seen + chunk.length > 9) {
      chunk = Buffer.from(chunk);
      chunk[9 - this.seen] = 0xff;
    }
    this.seen += chunk.length;
    done(null, chunk);
  }
}

const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);

/** gzip with stored deflate blocks only: no compression, and no dependence on zlib's version. */
export class StoredGzip extends Transform {
  private pending = Buffer.alloc(0);
  private crc = 0;
  private total = 0;
  private started = false;

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    if (!this.started) {
      this.push(GZIP_HEADER);
      this.started = true;
    }
    this.crc = zlib.crc32(chunk, this.crc);
    this.total += chunk.length;
    const data = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    let at = 0;
    // One block is held back, so the last one can carry BFINAL.
    while (data.length - at > STORED_BLOCK) {
      this.block(data.subarray(at, at + STORED_BLOCK), false);
      at += STORED_BLOCK;
    }
    this.pending = Buffer.from(data.subarray(at));
    done();
  }

  override _flush(done: TransformCallback): void {
    if (!this.started) this.push(GZIP_HEADER);
    this.block(this.pending, true);
    const trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(this.crc >>> 0, 0);
    trailer.writeUInt32LE(this.total % 2 ** 32, 4);
    this.push(trailer);
    done();
  }

  private block(data: Buffer, final: boolean): void {
    const head = Buffer.alloc(5);
    head[0] = final ? 1 : 0;
    head.writeUInt16LE(data.length, 1);
    head.writeUInt16LE(~data.length & 0xffff, 3);
    this.push(Buffer.concat([head, data]));
  }
}

/** Writes one layer blob to `destPath`; returns its digests and sizes. */
export async function writeLayer(options: {
  entries: readonly LayerEntry[];
  destPath: string;
  compression: LayerCompression;
}): Promise<LayerBlob> {
  const items = tarItems(options.entries);
  const tarDigest = new Digest();
  const blobDigest = new Digest();
  const compress =
    options.compression === 'stored'
      ? [new StoredGzip()]
      : [zlib.createGzip({ level: GZIP_LEVEL, chunkSize: 256 << 10 }), new FixedGzipHeader()];
  const tmp = `${options.destPath}.tmp`;
  await pipeline(
    Readable.from(tarStream(items), { objectMode: false }),
    tarDigest,
    ...compress,
    blobDigest,
    createWriteStream(tmp),
  );
  await fs.rename(tmp, options.destPath);
  return {
    file: options.destPath,
    digest: blobDigest.digest(),
    diffId: tarDigest.digest(),
    size: blobDigest.bytes,
    contentBytes: options.entries.reduce((sum, e) => sum + e.size, 0),
    files: options.entries.length,
    compression: options.compression,
  };
}
