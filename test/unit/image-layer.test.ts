import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { tarItems, writeLayer, type LayerEntry } from '../../src/packaging/image/tar-layer.js';

let dir: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'image-layer-'));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

async function file(rel: string, content: string | Buffer, mode = 0o644): Promise<LayerEntry> {
  const abs = path.join(dir, 'src', rel);
  await fs.mkdir(path.dirname(abs), { recursive: true });
  await fs.writeFile(abs, content);
  await fs.chmod(abs, mode);
  const size = (await fs.stat(abs)).size;
  return { path: `var/task/${rel}`, absPath: abs, size, mode: mode & 0o111 ? 0o755 : 0o644 };
}

const sha = (data: Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

function tarList(blob: string): string[] {
  const out = spawnSync('tar', ['--numeric-owner', '--full-time', '-tvzf', blob], {
    encoding: 'utf8',
  });
  if (out.status !== 0) throw new Error(out.stderr);
  return out.stdout.trim().split('\n');
}

describe('tarItems', () => {
  it('lists every parent folder once, before what it holds, in name order', () => {
    const entry = (p: string): LayerEntry => ({ path: p, absPath: '/x', size: 0, mode: 0o644 });
    const names = tarItems([entry('var/task/b.py'), entry('opt/python/a/x.py'), entry('var/a')]);
    expect(names.map((i) => i.name)).toEqual([
      'opt/',
      'opt/python/',
      'opt/python/a/',
      'opt/python/a/x.py',
      'var/',
      'var/a',
      'var/task/',
      'var/task/b.py',
    ]);
  });

  it('refuses paths with empty, . or .. segments', () => {
    for (const p of ['var//a', './a', 'var/../etc/passwd', '/abs'])
      expect(() => tarItems([{ path: p, absPath: '/x', size: 0, mode: 0o644 }])).toThrow(
        /invalid layer path/,
      );
  });
});

describe('writeLayer', () => {
  it.each(['gzip', 'stored'] as const)(
    '%s: same files give the same bytes whatever their times and owners; digests match the bytes',
    async (compression) => {
      const entries = [
        await file('app.py', 'print("hi")\n'),
        await file('bin/run', '#!/bin/sh\n', 0o775),
        await file(`deep/${'d'.repeat(120)}/${'n'.repeat(90)}.txt`, 'long name\n'),
      ];
      const first = await writeLayer({ entries, destPath: path.join(dir, 'a.tgz'), compression });
      await fs.utimes(entries[0].absPath, 1_700_000_000, 1_700_000_000);
      const second = await writeLayer({
        entries: [...entries].reverse(),
        destPath: path.join(dir, 'b.tgz'),
        compression,
      });
      const a = await fs.readFile(first.file);
      const b = await fs.readFile(second.file);
      expect(a.equals(b)).toBe(true);
      expect(first.digest).toBe(sha(a));
      expect(first.size).toBe(a.length);
      expect(first.diffId).toBe(sha(zlib.gunzipSync(a)));
      expect(a[9]).toBe(0xff); // gzip OS byte: unknown, whatever the host
      expect(a.readUInt32LE(4)).toBe(0); // gzip mtime

      const listing = tarList(first.file);
      expect(listing.every((line) => line.includes(' 0/0 '))).toBe(true);
      expect(listing.every((line) => line.includes('1970-01-01 00:00:00'))).toBe(true);
      expect(listing.find((l) => l.endsWith('var/task/bin/run'))).toMatch(/^-rwxr-xr-x/);
      expect(listing.find((l) => l.endsWith('var/task/app.py'))).toMatch(/^-rw-r--r--/);
      expect(listing.find((l) => l.endsWith('var/task/'))).toMatch(/^drwxr-xr-x/);
      expect(listing.some((l) => l.endsWith(`${'n'.repeat(90)}.txt`))).toBe(true);
    },
  );

  it('a changed byte changes both digests', async () => {
    const one = await file('m.bin', Buffer.alloc(4096, 1));
    const a = await writeLayer({
      entries: [one],
      destPath: path.join(dir, 'a'),
      compression: 'gzip',
    });
    await fs.writeFile(one.absPath, Buffer.concat([Buffer.alloc(4095, 1), Buffer.from([2])]));
    const b = await writeLayer({
      entries: [one],
      destPath: path.join(dir, 'b'),
      compression: 'gzip',
    });
    expect(a.digest).not.toBe(b.digest);
    expect(a.diffId).not.toBe(b.diffId);
  });

  it('stored gzip holds files larger than one deflate block and unpacks to the same bytes', async () => {
    const data = Buffer.alloc(300_000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7919) % 251;
    const big = await file('model/w.bin', data);
    const layer = await writeLayer({
      entries: [big],
      destPath: path.join(dir, 'w.tgz'),
      compression: 'stored',
    });
    const out = path.join(dir, 'out');
    await fs.mkdir(out);
    const x = spawnSync('tar', ['-xzf', layer.file, '-C', out]);
    expect(x.status).toBe(0);
    expect((await fs.readFile(path.join(out, 'var/task/model/w.bin'))).equals(data)).toBe(true);
    expect(layer.contentBytes).toBe(300_000);
  });

  it('fails when a file changes size while it is written', async () => {
    const entry = await file('a.txt', 'abc');
    await fs.writeFile(entry.absPath, 'abcdef');
    await expect(
      writeLayer({ entries: [entry], destPath: path.join(dir, 'x'), compression: 'gzip' }),
    ).rejects.toThrow(/changed while/);
  });
});
