import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  bundleCompileItems,
  cacheTag,
  compileBundleInDocker,
  compileBundleOnHost,
  compileTreeOnHost,
  compileTreeRunArgs,
  dropBytecode,
  hostPythonVersion,
  parseBytecodeReport,
} from '../../src/packaging/bytecode.js';
import { runCommand, type CommandRunner } from '../../src/exec.js';
import { memoryLogger } from '../../src/log.js';

// These tests run the real Python scripts with the host's python3 (present on every CI runner).
const PYTHON = 'python3';

/** Reads a .pyc header with Python: flags, and whether the embedded source hash matches the source. */
const CHECK_PYC = `
import importlib.util, json, marshal, sys
pyc, src = sys.argv[1], sys.argv[2]
data = open(pyc, "rb").read()
flags = int.from_bytes(data[4:8], "little")
source = open(src, "rb").read()
code = marshal.loads(data[16:])
print(json.dumps({"magic": data[:4] == importlib.util.MAGIC_NUMBER, "flags": flags,
                  "hashOk": data[8:16] == importlib.util.source_hash(source), "filename": code.co_filename}))
`;

async function checkPyc(
  pyc: string,
  src: string,
): Promise<{ magic: boolean; flags: number; hashOk: boolean; filename: string }> {
  const result = await runCommand(PYTHON, ['-c', CHECK_PYC, pyc, src]);
  if (result.exitCode !== 0) throw new Error(result.stderr);
  return JSON.parse(result.stdout);
}

async function write(root: string, rel: string, content: string | Buffer): Promise<string> {
  const file = path.join(root, ...rel.split('/'));
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, content);
  return file;
}

async function listFiles(root: string): Promise<string[]> {
  return (await fs.readdir(root, { recursive: true, withFileTypes: true }))
    .filter((e) => e.isFile())
    .map((e) => path.relative(root, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
    .sort();
}

let version: string;
let runtime: string;
let tag: string;
let dir: string;

beforeAll(async () => {
  const found = await hostPythonVersion(runCommand, PYTHON);
  if (!found) throw new Error('python3 is needed on the host for these tests');
  version = found;
  runtime = `python${version}`;
  tag = cacheTag(runtime);
});

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bytecode-'));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('compileTreeOnHost (layer)', () => {
  async function makeTree(root: string): Promise<void> {
    await write(root, 'pkg/__init__.py', 'from .mod import VALUE\n');
    await write(root, 'pkg/mod.py', 'VALUE = 42\n');
    await write(root, 'pkg/broken.py', 'def (:\n');
    await write(root, 'pkg/__pycache__/mod.cpython-27.pyc', 'old');
    await write(root, 'pkg/__pycache__/gone.' + tag + '.pyc', 'orphan');
    await write(root, 'pkg/mod.pyc', 'legacy');
  }

  it('writes an unchecked-hash .pyc for every module, removes unusable .pyc and lists what does not compile', async () => {
    const root = path.join(dir, 'a', 'python');
    await makeTree(root);
    const report = await compileTreeOnHost({
      run: runCommand,
      logger: memoryLogger(),
      python: PYTHON,
      runtime,
      dir: root,
      lambdaDir: '/opt/python',
    });
    expect(report).toEqual({ python: version, compiled: 2, removed: 3, failed: ['pkg/broken.py'] });
    expect(await listFiles(root)).toEqual(
      [
        'pkg/__init__.py',
        `pkg/__pycache__/__init__.${tag}.pyc`,
        `pkg/__pycache__/mod.${tag}.pyc`,
        'pkg/broken.py',
        'pkg/mod.py',
      ].sort(),
    );
    const check = await checkPyc(
      path.join(root, 'pkg', '__pycache__', `mod.${tag}.pyc`),
      path.join(root, 'pkg', 'mod.py'),
    );
    expect(check).toEqual({
      magic: true,
      flags: 0b01,
      hashOk: true,
      filename: '/opt/python/pkg/mod.py',
    });
  });

  it('gives byte-identical .pyc wherever the tree is built', async () => {
    const first = path.join(dir, 'first', 'python');
    const second = path.join(dir, 'elsewhere', 'deeper', 'python');
    await makeTree(first);
    await makeTree(second);
    for (const root of [first, second]) {
      await compileTreeOnHost({
        run: runCommand,
        logger: memoryLogger(),
        python: PYTHON,
        runtime,
        dir: root,
        lambdaDir: '/opt/python',
        workers: 2,
      });
    }
    const a = await fs.readFile(path.join(first, 'pkg', '__pycache__', `__init__.${tag}.pyc`));
    const b = await fs.readFile(path.join(second, 'pkg', '__pycache__', `__init__.${tag}.pyc`));
    expect(Buffer.compare(a, b)).toBe(0);
  });

  it('refuses a host Python that is not the runtime one', async () => {
    const root = path.join(dir, 'python');
    await write(root, 'x.py', 'x = 1\n');
    await expect(
      compileTreeOnHost({
        run: runCommand,
        logger: memoryLogger(),
        python: PYTHON,
        runtime: 'python3.99',
        dir: root,
        lambdaDir: '/opt/python',
      }),
    ).rejects.toThrow(/compiled bytecode with Python .*, but runtime python3\.99 is Python 3\.99/);
  });
});

describe('dropBytecode', () => {
  it('removes every .pyc and __pycache__', async () => {
    await write(dir, 'a/__pycache__/x.cpython-311.pyc', '1234');
    await write(dir, 'a/y.pyc', '12');
    await write(dir, 'a/x.py', 'x = 1');
    expect(await dropBytecode(dir)).toEqual({ removedFiles: 2, bytes: 6 });
    expect(await listFiles(dir)).toEqual(['a/x.py']);
  });
});

describe('handler bundle bytecode', () => {
  it('compiles into a separate folder, never writing into the source folder, with Lambda paths', async () => {
    const source = path.join(dir, 'src');
    const out = path.join(dir, 'out');
    const handler = await write(
      source,
      'lambda_function.py',
      'def lambda_handler(event, context):\n    return 1\n',
    );
    const util = await write(source, 'lib/util.py', 'X = 1\n');
    const broken = await write(source, 'bad.py', 'def (:\n');
    const model = await write(dir, 'model/weights.bin', 'w');
    const before = await listFiles(source);

    const result = await compileBundleOnHost({
      run: runCommand,
      logger: memoryLogger(),
      python: PYTHON,
      runtime,
      sourceDir: source,
      outDir: out,
      files: [
        { zipPath: 'lambda_function.py', absPath: handler },
        { zipPath: 'lib/util.py', absPath: util },
        { zipPath: 'bad.py', absPath: broken },
        { zipPath: 'model/weights.bin', absPath: model },
      ],
    });

    expect(await listFiles(source)).toEqual(before);
    expect(result.python).toBe(version);
    expect(result.entries.map((e) => e.zipPath)).toEqual([
      `__pycache__/lambda_function.${tag}.pyc`,
      `lib/__pycache__/util.${tag}.pyc`,
    ]);
    expect(
      result.entries.every((e) => e.mode === 0o644 && e.size > 16 && e.absPath.startsWith(out)),
    ).toBe(true);
    expect(result.failed.map((f) => f.zip)).toEqual(['bad.py']);
    const check = await checkPyc(result.entries[1].absPath, util);
    expect(check).toEqual({
      magic: true,
      flags: 0b01,
      hashOk: true,
      filename: '/var/task/lib/util.py',
    });
    expect(await listFiles(out)).toEqual([
      `__pycache__/lambda_function.${tag}.pyc`,
      `lib/__pycache__/util.${tag}.pyc`,
    ]);
  });

  it('only compiles .py files that are under the source folder', () => {
    const items = bundleCompileItems('/w/src', [
      { zipPath: 'b.py', absPath: '/w/src/b.py' },
      { zipPath: 'a/a.py', absPath: '/w/src/a/a.py' },
      { zipPath: 'model/x.py', absPath: '/w/models/x.py' },
      { zipPath: 'data.json', absPath: '/w/src/data.json' },
    ]);
    expect(items).toEqual([
      { src: 'a/a.py', zip: 'a/a.py' },
      { src: 'b.py', zip: 'b.py' },
    ]);
  });

  it('mounts the source folder read-only in the docker variant', async () => {
    const source = path.join(dir, 'src');
    const out = path.join(dir, 'out');
    const handler = await write(source, 'app.py', 'x = 1\n');
    let manifest:
      { srcRoot: string; outRoot: string; prefix: string; items: unknown[] } | undefined;
    let args: readonly string[] = [];
    const run: CommandRunner = async (_command, given) => {
      args = given;
      manifest = JSON.parse(await fs.readFile(path.join(out, '.lmd-compile.json'), 'utf8'));
      await write(out, `__pycache__/app.${tag}.pyc`, 'pyc-bytes');
      const report = {
        python: version,
        written: [{ zip: `__pycache__/app.${tag}.pyc` }],
        failed: [],
      };
      return { exitCode: 0, stdout: `lmd-bytecode ${JSON.stringify(report)}\n`, stderr: '' };
    };
    const result = await compileBundleInDocker({
      run,
      logger: memoryLogger(),
      runtime,
      sourceDir: source,
      outDir: out,
      files: [{ zipPath: 'app.py', absPath: handler }],
      image: 'build:1',
      architecture: 'x86_64',
      user: { uid: 1000, gid: 1000 },
    });
    expect(args).toContain(`${source}:/var/src:ro`);
    expect(args).toContain(`${out}:/var/out`);
    expect(args[args.indexOf('-u') + 1]).toBe('1000:1000');
    expect(manifest).toEqual({
      srcRoot: '/var/src',
      outRoot: '/var/out',
      prefix: '/var/task/',
      items: [{ src: 'app.py', zip: 'app.py' }],
    });
    expect(result.entries).toEqual([
      {
        zipPath: `__pycache__/app.${tag}.pyc`,
        absPath: path.join(out, '__pycache__', `app.${tag}.pyc`),
        size: 9,
        mode: 0o644,
      },
    ]);
    await expect(fs.stat(path.join(out, '.lmd-compile.json'))).rejects.toThrow();
  });
});

describe('compileTreeRunArgs', () => {
  it('mounts only the output folder, read-write, and records /opt/python in the bytecode', () => {
    const args = compileTreeRunArgs({
      image: 'img',
      architecture: 'arm64',
      runtime: 'python3.12',
      outDir: '/w/out',
      subdir: 'python',
      lambdaDir: '/opt/python',
      user: { uid: 5, gid: 6 },
    });
    expect(args).toEqual(
      expect.arrayContaining([
        '--platform',
        'linux/arm64',
        '-v',
        '/w/out:/var/out',
        '-u',
        '5:6',
        '--entrypoint',
        'python3',
        'img',
      ]),
    );
    expect(args.slice(-3)).toEqual(['/var/out/python', '/opt/python', '0']);
  });
});

describe('parseBytecodeReport', () => {
  it('finds the report among other output and explains a missing one', () => {
    expect(
      parseBytecodeReport(
        'noise\nlmd-bytecode {"python":"3.12","compiled":1,"removed":0,"failed":[]}\n',
      ),
    ).toEqual({
      python: '3.12',
      compiled: 1,
      removed: 0,
      failed: [],
    });
    expect(() => parseBytecodeReport('Traceback ...')).toThrow(/printed no report/);
  });
});
