import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import ts from 'typescript';
import { collectBundleFiles, type BundleFile } from '../../src/packaging/bundle-files.js';
import { DEFAULT_EXCLUDES } from '../../src/settings.js';
import { hexToBase64, sha256File, sha256Hex, sha256OfParts } from '../../src/packaging/hash.js';
import {
  planCompression,
  shouldStore,
  STORE_ABOVE_RATIO,
  STORE_ABOVE_RATIO_WEIGHTS,
  writeDeterministicZip,
} from '../../src/packaging/zip.js';

// ---- a small reader of the zip's central directory, independent of the writer -------------

interface CentralEntry {
  name: string;
  method: number;
  dosTime: number;
  dosDate: number;
  crc32: number;
  compressedSize: number;
  size: number;
  extraLength: number;
  unixMode: number;
  versionMadeBy: number;
}

function readCentralDirectory(zip: Buffer): CentralEntry[] {
  let eocd = -1;
  for (let i = zip.length - 22; i >= 0; i--) {
    if (zip.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error('no end of central directory record');
  const count = zip.readUInt16LE(eocd + 10);
  let offset = zip.readUInt32LE(eocd + 16);
  const entries: CentralEntry[] = [];
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(offset) !== 0x02014b50) throw new Error(`bad central header at ${offset}`);
    const nameLength = zip.readUInt16LE(offset + 28);
    const extraLength = zip.readUInt16LE(offset + 30);
    const commentLength = zip.readUInt16LE(offset + 32);
    entries.push({
      versionMadeBy: zip.readUInt16LE(offset + 4),
      method: zip.readUInt16LE(offset + 10),
      dosTime: zip.readUInt16LE(offset + 12),
      dosDate: zip.readUInt16LE(offset + 14),
      crc32: zip.readUInt32LE(offset + 16),
      compressedSize: zip.readUInt32LE(offset + 20),
      size: zip.readUInt32LE(offset + 24),
      extraLength,
      unixMode: zip.readUInt32LE(offset + 38) >>> 16,
      name: zip.subarray(offset + 46, offset + 46 + nameLength).toString('utf8'),
    });
    offset += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

const byName = (entries: CentralEntry[]) =>
  Object.fromEntries(entries.map((entry) => [entry.name, entry]));
const STORE = 0;
const DEFLATE = 8;

// ---- fixtures ---------------------------------------------------------------------------------

let tmp: string;
beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'zip-test-'));
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

let counter = 0;
async function freshDir(name: string): Promise<string> {
  const dir = path.join(tmp, `${name}-${counter++}`);
  await fs.mkdir(dir, { recursive: true });
  return dir;
}

/** Float32 normal(0, 0.02) values from a seeded generator: deflate saves only ~7% on them. */
function floatWeights(count: number, seed = 7): Buffer {
  let state = seed;
  const random = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state + 0.5) / 4294967296;
  };
  const values = new Float32Array(count);
  for (let i = 0; i < count; i += 2) {
    const radius = Math.sqrt(-2 * Math.log(random())) * 0.02;
    const angle = 2 * Math.PI * random();
    values[i] = radius * Math.cos(angle);
    values[i + 1] = radius * Math.sin(angle);
  }
  return Buffer.from(values.buffer);
}

const HANDLER =
  'import json\n\ndef lambda_handler(event, context):\n    return {"statusCode": 200, "body": json.dumps(event)}\n';
const TREE: Array<[string, string | Buffer, number]> = [
  ['lambda_function.py', HANDLER, 0o644],
  ['lib/util.py', 'def add(a, b):\n    return a + b\n'.repeat(20), 0o664],
  ['bin/run.sh', '#!/bin/sh\necho hi\n', 0o775],
  ['data/table.csv', 'a,b,c\n1,2,3\n'.repeat(500), 0o600],
  ['model/weights.bin', floatWeights(4096), 0o644],
];

/** Writes TREE in the given order, with the given mtime; returns the workspace. */
async function writeTree(order: number[], mtime: Date): Promise<string> {
  const root = await freshDir('tree');
  for (const index of order) {
    const [rel, content, mode] = TREE[index];
    const file = path.join(root, rel);
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, content);
    await fs.chmod(file, mode);
    await fs.utimes(file, mtime, mtime);
  }
  return root;
}

async function zipTree(
  root: string,
  name = 'out.zip',
): Promise<{ bytes: Buffer; result: Awaited<ReturnType<typeof writeDeterministicZip>> }> {
  const files = await collectBundleFiles({
    workspace: root,
    sourceDir: '.',
    include: [],
    exclude: DEFAULT_EXCLUDES,
    model: [],
    modelDest: 'model',
  });
  const out = path.join(await freshDir('out'), name);
  const result = await writeDeterministicZip({ files, destPath: out });
  return { bytes: await fs.readFile(out), result };
}

/** src/packaging/zip.ts and what it imports, transpiled to plain ESM in a temp folder that sees node_modules. */
async function transpiledZipModule(): Promise<string> {
  const dir = await freshDir('transpiled');
  for (const rel of ['src/errors.ts', 'src/packaging/zip.ts']) {
    const source = await fs.readFile(path.resolve(rel), 'utf8');
    const { outputText } = ts.transpileModule(source, {
      compilerOptions: {
        module: ts.ModuleKind.ESNext,
        target: ts.ScriptTarget.ES2022,
        esModuleInterop: true,
      },
    });
    const target = path.join(dir, rel.replace(/\.ts$/, '.js'));
    await fs.mkdir(path.dirname(target), { recursive: true });
    await fs.writeFile(target, outputText);
  }
  await fs.writeFile(path.join(dir, 'package.json'), '{"type": "module"}');
  await fs.symlink(path.resolve('node_modules'), path.join(dir, 'node_modules'));
  return dir;
}

function python(script: string, ...args: string[]): string {
  const run = spawnSync('python3', ['-c', script, ...args], { encoding: 'utf8' });
  if (run.error) throw run.error;
  if (run.status !== 0) throw new Error(`python3 failed: ${run.stderr}`);
  return run.stdout;
}

// ---- determinism --------------------------------------------------------------------------------

describe('writeDeterministicZip: reproducible bytes', () => {
  test('same tree, different mtimes and creation order: byte-identical zips and CodeSha256', async () => {
    const a = await writeTree([0, 1, 2, 3, 4], new Date('2024-03-01T12:00:00Z'));
    const b = await writeTree([4, 3, 2, 1, 0], new Date('2019-07-15T03:21:09Z'));
    const zipA = await zipTree(a);
    const zipB = await zipTree(b);
    expect(zipA.bytes.equals(zipB.bytes)).toBe(true);
    expect(zipA.result.codeSha256).toBe(zipB.result.codeSha256);
    expect(zipA.result.sha256Hex).toBe(zipB.result.sha256Hex);
  });

  test('different TZ gives the same bytes, and the DOS date is 1980-01-01 00:00:00', async () => {
    // TZ is read when a process starts (jest's process.env is a copy), so each zone gets its own
    // Node process running the same zip module, transpiled as is.
    const tree = await writeTree([0, 1, 2, 3, 4], new Date('2024-03-01T12:00:00Z'));
    const files = await collectBundleFiles({
      workspace: tree,
      sourceDir: '.',
      include: [],
      exclude: [],
      model: [],
      modelDest: 'model',
    });
    const moduleDir = await transpiledZipModule();
    const out = await freshDir('tz');
    const zipIn = (tz: string) => {
      const dest = path.join(out, `${tz.replace('/', '_')}.zip`);
      const script = [
        `import { writeDeterministicZip } from './src/packaging/zip.js';`,
        `const result = await writeDeterministicZip({ files: JSON.parse(process.argv[1]), destPath: process.argv[2] });`,
        `console.log(JSON.stringify({ epoch: new Date(1980, 0, 1).getTime(), offset: new Date(2024, 0, 1).getTimezoneOffset(), sha: result.sha256Hex }));`,
      ].join('\n');
      const run = spawnSync(
        process.execPath,
        ['--input-type=module', '-e', script, JSON.stringify(files), dest],
        {
          cwd: moduleDir,
          env: { ...process.env, TZ: tz },
          encoding: 'utf8',
        },
      );
      if (run.status !== 0) throw new Error(`zip in TZ=${tz} failed: ${run.stderr}`);
      return {
        ...(JSON.parse(run.stdout) as { epoch: number; offset: number; sha: string }),
        dest,
      };
    };
    const east = zipIn('Pacific/Kiritimati');
    const west = zipIn('Pacific/Pago_Pago');
    const utc = zipIn('UTC');
    // The zones really differ (UTC+14, UTC-11), so equal bytes are not a vacuous result.
    expect([east.offset, west.offset, utc.offset]).toEqual([-840, 660, 0]);
    expect(new Set([east.epoch, west.epoch, utc.epoch]).size).toBe(3);
    expect(east.sha).toBe(west.sha);
    expect(utc.sha).toBe(west.sha);
    const [eastBytes, westBytes] = await Promise.all([
      fs.readFile(east.dest),
      fs.readFile(west.dest),
    ]);
    expect(eastBytes.equals(westBytes)).toBe(true);
    // ... and the same bytes as this (jest) process writes.
    const here = await writeDeterministicZip({ files, destPath: path.join(out, 'here.zip') });
    expect(here.sha256Hex).toBe(utc.sha);
    for (const entry of readCentralDirectory(eastBytes)) {
      expect(entry.dosDate).toBe((0 << 9) | (1 << 5) | 1); // 1980-01-01
      expect(entry.dosTime).toBe(0); // 00:00:00
    }
  });

  test('no extra fields, entries sorted, unix modes normalised to 0644/0755 regular files', async () => {
    const tree = await writeTree([2, 0, 4, 1, 3], new Date());
    const entries = readCentralDirectory((await zipTree(tree)).bytes);
    expect(entries.map((entry) => entry.name)).toEqual([
      'bin/run.sh',
      'data/table.csv',
      'lambda_function.py',
      'lib/util.py',
      'model/weights.bin',
    ]);
    for (const entry of entries) {
      expect(entry.extraLength).toBe(0);
      expect(entry.versionMadeBy >> 8).toBe(3); // unix, so the mode is honoured on extract
    }
    const modes = Object.fromEntries(entries.map((entry) => [entry.name, entry.unixMode]));
    expect(modes).toEqual({
      'bin/run.sh': 0o100755,
      'data/table.csv': 0o100644, // was 0600
      'lambda_function.py': 0o100644,
      'lib/util.py': 0o100644, // was 0664
      'model/weights.bin': 0o100644,
    });
  });
});

// ---- content ------------------------------------------------------------------------------------

describe('writeDeterministicZip: readable zips with the right content', () => {
  test("python's zipfile reads every entry back with the right bytes, modes and date", async () => {
    const tree = await writeTree([0, 1, 2, 3, 4], new Date());
    const { result } = await zipTree(tree);
    const report = JSON.parse(
      python(
        [
          'import hashlib, json, sys, zipfile',
          'z = zipfile.ZipFile(sys.argv[1])',
          'assert z.testzip() is None',
          'print(json.dumps({i.filename: [hashlib.sha256(z.read(i)).hexdigest(), i.external_attr >> 16, list(i.date_time), i.compress_type] for i in z.infolist()}))',
        ].join('\n'),
        result.path,
      ),
    ) as Record<string, [string, number, number[], number]>;
    expect(Object.keys(report).sort()).toEqual(TREE.map(([rel]) => rel).sort());
    for (const [rel, content, mode] of TREE) {
      const [digest, unixMode, date] = report[rel];
      expect(digest).toBe(sha256Hex(typeof content === 'string' ? Buffer.from(content) : content));
      expect(unixMode).toBe(mode & 0o111 ? 0o100755 : 0o100644);
      expect(date).toEqual([1980, 1, 1, 0, 0, 0]);
    }
  });

  test.each([
    ['streamed entries (files larger than the sample)', { sampleBytes: 1024 }],
    ['zip64 records', { forceZip64: true }],
    ['streamed entries with zip64 records', { sampleBytes: 1024, forceZip64: true }],
  ])('%s read back with the right content', async (_label, extra) => {
    const tree = await writeTree([0, 1, 2, 3, 4], new Date());
    const files = await collectBundleFiles({
      workspace: tree,
      sourceDir: '.',
      include: [],
      exclude: [],
      model: [],
      modelDest: 'model',
    });
    const result = await writeDeterministicZip({
      files,
      destPath: path.join(await freshDir('out'), 'x.zip'),
      ...extra,
    });
    const report = JSON.parse(
      python(
        [
          'import hashlib, json, sys, zipfile',
          'z = zipfile.ZipFile(sys.argv[1])',
          'assert z.testzip() is None',
          'print(json.dumps({i.filename: [hashlib.sha256(z.read(i)).hexdigest(), i.external_attr >> 16, i.compress_type] for i in z.infolist()}))',
        ].join('\n'),
        result.path,
      ),
    ) as Record<string, [string, number, number]>;
    for (const [rel, content, mode] of TREE) {
      expect(report[rel].slice(0, 2)).toEqual([
        sha256Hex(typeof content === 'string' ? Buffer.from(content) : content),
        mode & 0o111 ? 0o100755 : 0o100644,
      ]);
    }
    expect(Object.values(report).map((entry) => entry[2])).toContain(DEFLATE);
    const unzip = spawnSync('unzip', ['-tqq', result.path], { encoding: 'utf8' });
    if (!unzip.error) expect([unzip.status, unzip.stdout + unzip.stderr]).toEqual([0, '']);
  });

  test('CodeSha256 is base64(sha256(zip bytes)) and sizes are reported', async () => {
    const tree = await writeTree([0, 1, 2, 3, 4], new Date());
    const { bytes, result } = await zipTree(tree);
    const digest = createHash('sha256').update(bytes).digest();
    expect(result.sha256Hex).toBe(digest.toString('hex'));
    expect(result.codeSha256).toBe(digest.toString('base64'));
    expect(result.zippedBytes).toBe(bytes.length);
    expect(result.unzippedBytes).toBe(
      TREE.reduce((sum, [, content]) => sum + Buffer.byteLength(content), 0),
    );
    expect(result.files).toBe(TREE.length);
    expect(result.stored + result.deflated).toBe(TREE.length);
    expect(hexToBase64(result.sha256Hex)).toBe(result.codeSha256);
    const streamed = await sha256File(result.path);
    expect(streamed).toEqual({
      hex: result.sha256Hex,
      base64: result.codeSha256,
      bytes: bytes.length,
    });
  });

  test('leaves only the zip in the destination folder (temp file renamed) and replaces an old zip', async () => {
    const tree = await writeTree([0, 1], new Date());
    const files = await collectBundleFiles({
      workspace: tree,
      sourceDir: '.',
      include: [],
      exclude: [],
      model: [],
      modelDest: 'model',
    });
    const dir = await freshDir('dest');
    await fs.writeFile(path.join(dir, 'bundle.zip'), 'stale');
    const result = await writeDeterministicZip({ files, destPath: path.join(dir, 'bundle.zip') });
    expect(await fs.readdir(dir)).toEqual(['bundle.zip']);
    expect((await fs.stat(result.path)).size).toBe(result.zippedBytes);
  });
});

// ---- store vs deflate ---------------------------------------------------------------------------

describe('store or deflate', () => {
  test('planCompression: empty and compressed formats are stored unread, others sampled', () => {
    expect(planCompression('model/empty.txt', 0)).toEqual({ kind: 'store', reason: 'empty' });
    expect(planCompression('model/vocab.json.GZ', 10)).toEqual({
      kind: 'store',
      reason: 'compressed-format',
    });
    expect(planCompression('deps/pkg.whl', 10)).toEqual({
      kind: 'store',
      reason: 'compressed-format',
    });
    expect(planCompression('model/model.safetensors', 10)).toEqual({
      kind: 'sample',
      storeAboveRatio: STORE_ABOVE_RATIO_WEIGHTS,
    });
    expect(planCompression('model/arrays.npz', 10)).toEqual({
      kind: 'sample',
      storeAboveRatio: STORE_ABOVE_RATIO,
    });
    expect(planCompression('app.py', 10)).toEqual({
      kind: 'sample',
      storeAboveRatio: STORE_ABOVE_RATIO,
    });
  });

  test('shouldStore compares the sample ratio with the threshold', () => {
    const plain = planCompression('a.dat', 100);
    const weights = planCompression('a.pt', 100);
    expect(shouldStore(plain, 1000, 960)).toBe(true);
    expect(shouldStore(plain, 1000, 930)).toBe(false);
    expect(shouldStore(weights, 1000, 930)).toBe(true);
    expect(shouldStore(weights, 1000, 850)).toBe(false);
    expect(shouldStore(planCompression('a.zip', 100), 1000, 10)).toBe(true);
  });

  test('each entry gets the method its content deserves', async () => {
    const root = await freshDir('methods');
    const weights = floatWeights(64 * 1024); // 256 KiB, deflates to ~0.93
    await fs.writeFile(path.join(root, 'handler.py'), HANDLER.repeat(50));
    await fs.writeFile(path.join(root, 'random.dat'), randomBytes(200_000));
    await fs.writeFile(path.join(root, 'weights.safetensors'), weights);
    await fs.writeFile(path.join(root, 'weights.dat'), weights); // same floats, generic name: 7% is worth it
    await fs.writeFile(path.join(root, 'text.gz'), 'not really gzip '.repeat(1000)); // trusted by extension
    await fs.writeFile(path.join(root, 'empty.txt'), '');
    const files = await collectBundleFiles({
      workspace: root,
      sourceDir: '.',
      include: [],
      exclude: [],
      model: [],
      modelDest: 'model',
    });
    const result = await writeDeterministicZip({
      files,
      destPath: path.join(await freshDir('out'), 'm.zip'),
    });
    const entries = byName(readCentralDirectory(await fs.readFile(result.path)));
    expect(entries['handler.py'].method).toBe(DEFLATE);
    expect(entries['handler.py'].compressedSize).toBeLessThan(entries['handler.py'].size / 5);
    expect(entries['random.dat'].method).toBe(STORE);
    expect(entries['weights.safetensors'].method).toBe(STORE);
    expect(entries['weights.dat'].method).toBe(DEFLATE);
    expect(entries['weights.dat'].compressedSize / entries['weights.dat'].size).toBeGreaterThan(
      0.85,
    );
    expect(entries['text.gz'].method).toBe(STORE);
    expect(entries['empty.txt'].method).toBe(STORE);
    expect(entries['empty.txt'].compressedSize).toBe(0);
    expect(result.stored).toBe(4);
    expect(result.deflated).toBe(2);
    for (const entry of Object.values(entries)) {
      if (entry.method === STORE) expect(entry.compressedSize).toBe(entry.size);
    }
  });

  test('the decision reads only the sample: random head + zero tail is stored', async () => {
    const root = await freshDir('sample');
    const file = path.join(root, 'blob.dat');
    await fs.writeFile(file, Buffer.concat([randomBytes(64 * 1024), Buffer.alloc(1 << 20)]));
    const files: BundleFile[] = [
      { zipPath: 'blob.dat', absPath: file, size: (1 << 20) + 64 * 1024, mode: 0o644 },
    ];
    const small = await writeDeterministicZip({
      files,
      destPath: path.join(root, 'small-sample.zip'),
      sampleBytes: 64 * 1024,
    });
    const large = await writeDeterministicZip({
      files,
      destPath: path.join(root, 'large-sample.zip'),
      sampleBytes: 1 << 20,
    });
    expect(readCentralDirectory(await fs.readFile(small.path))[0].method).toBe(STORE);
    expect(readCentralDirectory(await fs.readFile(large.path))[0].method).toBe(DEFLATE);
  });
});

// ---- errors -----------------------------------------------------------------------------------

describe('writeDeterministicZip: failures', () => {
  test('a file that disappeared: error names it, no temp file left behind', async () => {
    const root = await freshDir('missing');
    const present = path.join(root, 'a.py');
    await fs.writeFile(present, 'x = 1\n');
    const dest = await freshDir('dest');
    const files: BundleFile[] = [
      { zipPath: 'a.py', absPath: present, size: 6, mode: 0o644 },
      { zipPath: 'b.bin.gz', absPath: path.join(root, 'gone.gz'), size: 10, mode: 0o644 },
    ];
    await expect(
      writeDeterministicZip({ files, destPath: path.join(dest, 'x.zip') }),
    ).rejects.toThrow(/gone\.gz.*b\.bin\.gz|b\.bin\.gz.*gone\.gz/);
    expect(await fs.readdir(dest)).toEqual([]);
  });

  test.each([
    ['read whole', 1 << 20],
    ['streamed', 2],
  ])(
    'a file that changed size while zipping is reported (%s), no temp file left behind',
    async (_label, sampleBytes) => {
      const root = await freshDir('grew');
      const file = path.join(root, 'a.py');
      await fs.writeFile(file, 'x = 1\n');
      const dest = await freshDir('dest');
      const files: BundleFile[] = [{ zipPath: 'a.py', absPath: file, size: 3, mode: 0o644 }];
      await expect(
        writeDeterministicZip({ files, destPath: path.join(dest, 'x.zip'), sampleBytes }),
      ).rejects.toThrow(/'.*a\.py' \(for 'a\.py'\) changed size .* 3 bytes expected, 6 read/);
      expect(await fs.readdir(dest)).toEqual([]);
    },
  );

  test('a large file that cannot be read is reported by name', async () => {
    const dest = await freshDir('dest');
    const files: BundleFile[] = [
      { zipPath: 'model/w.bin', absPath: path.join(dest, 'nope.bin'), size: 5 << 20, mode: 0o644 },
    ];
    await expect(
      writeDeterministicZip({ files, destPath: path.join(dest, 'x.zip') }),
    ).rejects.toThrow(/Cannot read '.*nope\.bin' \(for 'model\/w\.bin'\)/);
    await expect(
      writeDeterministicZip({ files, destPath: path.join(dest, 'missing-folder', 'x.zip') }),
    ).rejects.toThrow(/Cannot create the zip/);
    expect(await fs.readdir(dest)).toEqual([]);
  });

  test('duplicate zip paths and bad levels are refused', async () => {
    const root = await freshDir('dup');
    const file = path.join(root, 'a.py');
    await fs.writeFile(file, 'x = 1\n');
    const entry: BundleFile = { zipPath: 'a.py', absPath: file, size: 6, mode: 0o644 };
    await expect(
      writeDeterministicZip({
        files: [entry, { ...entry, absPath: '/elsewhere/a.py' }],
        destPath: path.join(root, 'x.zip'),
      }),
    ).rejects.toThrow(/'a\.py'.*\/elsewhere\/a\.py/);
    await expect(
      writeDeterministicZip({ files: [entry], destPath: path.join(root, 'x.zip'), level: 0 }),
    ).rejects.toThrow(/level/);
  });
});

describe('hash helpers', () => {
  test('sha256OfParts is unambiguous; hexToBase64 validates', () => {
    expect(sha256OfParts(['ab', 'c'])).not.toBe(sha256OfParts(['a', 'bc']));
    expect(sha256OfParts(['a'])).toMatch(/^[0-9a-f]{64}$/);
    expect(hexToBase64(sha256Hex(''))).toBe('47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=');
    expect(() => hexToBase64('abc')).toThrow(/sha256/);
  });
});
