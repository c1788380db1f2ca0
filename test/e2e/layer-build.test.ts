/**
 * The dependency layer built for real: pip in the sandbox build image (Docker), slim, hash-based
 * bytecode, deterministic zip, upload to moto's S3 and PublishLayerVersion on moto's Lambda; then
 * the zip is extracted like Lambda does (read-only /opt, zip timestamps) and imported in the
 * runtime image, checking that no module is recompiled. Also `build: pip` from the same
 * wheelhouse with no Docker.
 *
 * Needs the sandbox (`bash scripts/sandbox.sh up`): it FAILS when Docker, the images or moto are
 * missing, since CI brings the sandbox up first.
 */
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LambdaClient, ListLayerVersionsCommand } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { buildLayer, type LayerOptions, type LayerResult } from '../../src/packaging/layer.js';
import { runCommand, type CommandRunner } from '../../src/exec.js';
import { memoryLogger, systemClock } from '../../src/log.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BUILD_IMAGE = 'lmd-sandbox/build-python3.11:latest';
const RUNTIME_IMAGE = 'lmd-sandbox/lambda-runtime:python3.11';
const RUNTIME = 'python3.11';
const TIMEOUT = 300_000;

/** Builds a wheel from a source folder (test helper; pip wheel would need setuptools and a network). */
const MAKE_WHEEL_PY = `
import base64, hashlib, os, sys, zipfile
src, out, name, version = sys.argv[1:5]
dist = "%s-%s.dist-info" % (name, version)
entries = []
for dirpath, dirnames, filenames in os.walk(src):
    dirnames.sort()
    for f in sorted(filenames):
        full = os.path.join(dirpath, f)
        entries.append((os.path.relpath(full, src).replace(os.sep, "/"), open(full, "rb").read()))
entries.append((dist + "/METADATA", ("Metadata-Version: 2.1\\nName: %s\\nVersion: %s\\n" % (name, version)).encode()))
entries.append((dist + "/WHEEL", b"Wheel-Version: 1.0\\nGenerator: lmd-test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"))
record = []
for arc, data in entries:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    record.append("%s,sha256=%s,%d" % (arc, digest, len(data)))
record.append(dist + "/RECORD,,")
entries.append((dist + "/RECORD", ("\\n".join(record) + "\\n").encode()))
path = os.path.join(out, "%s-%s-py3-none-any.whl" % (name, version))
with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as whl:
    for arc, data in entries:
        info = zipfile.ZipInfo(arc, (2020, 1, 1, 0, 0, 0))
        info.external_attr = 0o644 << 16
        whl.writestr(info, data)
print(path)
`;

/** Extracts a zip as Lambda does: every file gets the zip entry's timestamp. */
const EXTRACT_PY = `
import os, sys, time, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    for info in z.infolist():
        target = z.extract(info, sys.argv[2])
        stamp = time.mktime(info.date_time + (0, 0, -1))
        os.utime(target, (stamp, stamp))
`;

/**
 * Runs in the runtime image with the layer at /opt (read-only): checks that every .py has a
 * .pyc for this Python that is hash-based and matches its source, then imports the given
 * packages and all their submodules, recording every module Python had to compile from source.
 */
const CHECK_LAYER_PY = `
import importlib, importlib.util, json, os, pkgutil, sys
import importlib._bootstrap_external as external
root = "/opt/python"
sys.path.insert(0, root)
sources, bad = 0, []
for dirpath, dirnames, filenames in os.walk(root):
    dirnames[:] = [d for d in dirnames if d != "__pycache__"]
    for name in filenames:
        if not name.endswith(".py"):
            continue
        sources += 1
        src = os.path.join(dirpath, name)
        try:
            data = open(importlib.util.cache_from_source(src), "rb").read()
        except OSError:
            bad.append([src, "no pyc"])
            continue
        flags = int.from_bytes(data[4:8], "little")
        if data[:4] != importlib.util.MAGIC_NUMBER or flags not in (1, 3) or data[8:16] != importlib.util.source_hash(open(src, "rb").read()):
            bad.append([src, "flags=%d" % flags])
compiled = []
original = external.SourceLoader.source_to_code
def spy(self, data, path, *args, **kwargs):
    compiled.append(path)
    return original(self, data, path, *args, **kwargs)
external.SourceLoader.source_to_code = spy
imported = []
for top in sys.argv[1:]:
    walk = not top.startswith("=")  # "=name": import that module only, not its subpackages
    top = top.lstrip("=")
    module = importlib.import_module(top)
    imported.append(top)
    for info in pkgutil.walk_packages(getattr(module, "__path__", []) if walk else [], top + "."):
        importlib.import_module(info.name)
        imported.append(info.name)
print(json.dumps({"sources": sources, "bad": bad, "compiled": compiled, "imported": imported}))
`;

interface Sandbox {
  endpoint: string;
  bucket: string;
  region: string;
}

async function readSandbox(): Promise<Sandbox> {
  let env: Record<string, string>;
  try {
    env = JSON.parse(await fs.readFile(path.join(ROOT, '.sandbox', 'env.json'), 'utf8'));
  } catch {
    throw new Error(
      'The sandbox is not up (.sandbox/env.json missing): run `bash scripts/sandbox.sh up` first.',
    );
  }
  return {
    endpoint: env.AWS_ENDPOINT_URL,
    bucket: env.SANDBOX_BUCKET,
    region: env.AWS_REGION ?? 'us-east-1',
  };
}

async function mustRun(command: string, args: readonly string[]): Promise<string> {
  const result = await runCommand(command, args);
  if (result.exitCode !== 0)
    throw new Error(
      `${command} ${args.slice(0, 3).join(' ')} failed (${result.exitCode}):\n${result.stderr}\n${result.stdout}`,
    );
  return result.stdout;
}

async function imageExists(image: string): Promise<boolean> {
  const result = await runCommand('docker', ['image', 'inspect', image]).catch(() => undefined);
  return result?.exitCode === 0;
}

async function write(root: string, rel: string, content: string): Promise<void> {
  const file = path.join(root, ...rel.split('/'));
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, content);
}

/** A recording runner; `forbid` makes a command fail the test if it is ever run. */
function recorder(forbid?: string): {
  run: CommandRunner;
  calls: Array<{ command: string; args: readonly string[] }>;
} {
  const calls: Array<{ command: string; args: readonly string[] }> = [];
  const run: CommandRunner = async (command, args, options) => {
    calls.push({ command, args });
    if (forbid && command === forbid) throw new Error(`${forbid} must not run here`);
    return runCommand(command, args, options);
  };
  return { run, calls };
}

async function listFiles(root: string): Promise<string[]> {
  return (await fs.readdir(root, { recursive: true, withFileTypes: true }))
    .filter((e) => e.isFile())
    .map((e) => path.relative(root, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
    .sort();
}

let sandbox: Sandbox;
let lambda: LambdaClient;
let s3: S3Client;
let work: string;
let requirementsPath: string;
let checkImage: string;
const suffix = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;

async function extract(zip: string, dest: string): Promise<void> {
  await fs.mkdir(dest, { recursive: true });
  await mustRun('python3', ['-c', EXTRACT_PY, zip, dest]);
}

async function checkInRuntime(
  optDir: string,
  packages: string[],
): Promise<{ sources: number; bad: string[][]; compiled: string[]; imported: string[] }> {
  const stdout = await mustRun('docker', [
    'run',
    '--rm',
    '--platform',
    'linux/amd64',
    '-v',
    `${optDir}:/opt:ro`,
    '--entrypoint',
    'python3',
    checkImage,
    '-c',
    CHECK_LAYER_PY,
    ...packages,
  ]);
  return JSON.parse(stdout.trim().split('\n').at(-1) as string);
}

function layerOptions(overrides: Partial<LayerOptions>): LayerOptions {
  return {
    requirementsPath,
    runtime: RUNTIME,
    architecture: 'x86_64',
    build: 'docker',
    buildImage: BUILD_IMAGE,
    pipArgs: [],
    slim: true,
    layerName: `lmd-e2e-${suffix}-deps`,
    s3Bucket: sandbox.bucket,
    s3Prefix: `e2e/${suffix}`,
    dryRun: false,
    workDir: path.join(work, 'run-1'),
    ...overrides,
  };
}

beforeAll(async () => {
  sandbox = await readSandbox();
  const version = await runCommand('docker', ['version', '--format', '{{.Server.Version}}']).catch(
    (error: Error) => ({ exitCode: 1, stdout: '', stderr: error.message }),
  );
  if (version.exitCode !== 0)
    throw new Error(
      `Docker is not available: ${version.stderr.trim()}. Run \`bash scripts/sandbox.sh up\`.`,
    );
  if (!(await imageExists(BUILD_IMAGE)))
    throw new Error(
      `The sandbox build image ${BUILD_IMAGE} is missing. Run \`bash scripts/sandbox.sh up\`.`,
    );
  checkImage = (await imageExists(RUNTIME_IMAGE)) ? RUNTIME_IMAGE : BUILD_IMAGE;

  const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };
  lambda = new LambdaClient({ region: sandbox.region, endpoint: sandbox.endpoint, credentials });
  s3 = new S3Client({
    region: sandbox.region,
    endpoint: sandbox.endpoint,
    credentials,
    forcePathStyle: true,
  });

  // A small package with what slim removes (tests/, .pyi) and a wheelhouse next to the requirements.
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'lmd-layer-e2e-'));
  await fs.chmod(work, 0o755);
  const pkg = path.join(work, 'pkg-src');
  await write(
    pkg,
    'lmdprobe/__init__.py',
    'from .core import add\nfrom .sub import deep\n__version__ = "1.0.0"\n',
  );
  await write(
    pkg,
    'lmdprobe/core.py',
    'import json, os\n\ndef add(a, b):\n    return a + b\n\nTABLE = json.load(open(os.path.join(os.path.dirname(__file__), "data", "table.json")))\n',
  );
  await write(pkg, 'lmdprobe/core.pyi', 'def add(a: int, b: int) -> int: ...\n');
  await write(pkg, 'lmdprobe/data/table.json', '{"k": 1}\n');
  await write(pkg, 'lmdprobe/sub/__init__.py', '');
  await write(pkg, 'lmdprobe/sub/deep.py', 'from ..core import add\nVALUE = add(20, 22)\n');
  await write(pkg, 'lmdprobe/tests/__init__.py', '');
  await write(
    pkg,
    'lmdprobe/tests/test_core.py',
    'from lmdprobe import add\n\ndef test_add():\n    assert add(1, 2) == 3\n',
  );
  const app = path.join(work, 'app');
  await fs.mkdir(path.join(app, 'wheels'), { recursive: true });
  await mustRun('python3', [
    '-c',
    MAKE_WHEEL_PY,
    pkg,
    path.join(app, 'wheels'),
    'lmdprobe',
    '1.0.0',
  ]);
  await write(
    app,
    'requirements.txt',
    '# the probe package, from the local wheelhouse\n--no-index\n--find-links ./wheels\nlmdprobe==1.0.0\n',
  );
  requirementsPath = path.join(app, 'requirements.txt');
}, TIMEOUT);

afterAll(async () => {
  lambda?.destroy();
  s3?.destroy();
  if (work) await fs.rm(work, { recursive: true, force: true });
});

describe('layer build in the sandbox', () => {
  let built: LayerResult;
  // As root, build as another uid to prove the -u mapping; otherwise as the runner's own uid.
  const asRoot = process.getuid?.() === 0;
  const user = asRoot ? { uid: 4321, gid: 4321 } : undefined;
  const expectedUid = asRoot ? 4321 : process.getuid?.();

  it(
    'builds in the build image, uploads to S3 and publishes with the key',
    async () => {
      const { run, calls } = recorder();
      const logger = memoryLogger();
      built = await buildLayer(layerOptions({}), {
        lambda,
        s3,
        run,
        logger,
        clock: systemClock,
        ...(user ? { user } : {}),
      });
      expect(built.status).toBe('built');
      expect(built.uploaded).toBe(true);
      expect(built.layerVersionArn).toMatch(new RegExp(`:layer:lmd-e2e-${suffix}-deps:1$`));
      expect(built.s3Key).toBe(`e2e/${suffix}/layers/${built.sha256Hex}.zip`);
      expect(calls.filter((c) => c.command === 'docker' && c.args[0] === 'run')).toHaveLength(2);
      expect(calls.some((c) => c.args[0] === 'pull')).toBe(false);
      expect(built.slim?.byRule).toMatchObject({ tests: { files: 2 }, stubs: { files: 1 } });
      expect(built.bytecode).toMatchObject({ python: '3.11', compiled: 4 });

      const versions = await lambda.send(
        new ListLayerVersionsCommand({ LayerName: `lmd-e2e-${suffix}-deps` }),
      );
      expect(versions.LayerVersions?.[0]?.Description).toContain(`key=${built.key}`);
      expect(versions.LayerVersions?.[0]?.CompatibleRuntimes).toEqual([RUNTIME]);
    },
    TIMEOUT,
  );

  it('leaves the installed files owned by the runner user (not root)', async () => {
    const tree = path.join(work, 'run-1', 'layer', 'build', 'python');
    const files = await listFiles(tree);
    expect(files.length).toBeGreaterThan(5);
    for (const rel of files)
      expect({ rel, uid: (await fs.stat(path.join(tree, rel))).uid }).toEqual({
        rel,
        uid: expectedUid,
      });
  });

  it('ships python/..., slimmed, with dist-info kept', async () => {
    const opt = path.join(work, 'opt-1');
    await extract(built.zipPath as string, opt);
    const files = await listFiles(opt);
    expect(files).toContain('python/lmdprobe/core.py');
    expect(files).toContain('python/lmdprobe/__pycache__/core.cpython-311.pyc');
    expect(files).toContain('python/lmdprobe/data/table.json');
    expect(files).toContain('python/lmdprobe-1.0.0.dist-info/METADATA');
    expect(files.filter((f) => f.includes('/tests/') || f.endsWith('.pyi'))).toEqual([]);
  });

  it(
    'has a valid hash-based .pyc for every module, and importing in the runtime image (read-only /opt, zip timestamps) compiles nothing',
    async () => {
      const opt = path.join(work, 'opt-1');
      const report = await checkInRuntime(opt, ['lmdprobe']);
      expect(report.bad).toEqual([]);
      expect(report.sources).toBe(4);
      expect(report.imported).toEqual(
        expect.arrayContaining(['lmdprobe', 'lmdprobe.core', 'lmdprobe.sub', 'lmdprobe.sub.deep']),
      );
      expect(report.compiled).toEqual([]);

      // The same check sees recompiles when the bytecode is missing (so the empty list above means something).
      const bare = path.join(work, 'opt-bare');
      await extract(built.zipPath as string, bare);
      for (const f of await listFiles(bare))
        if (f.endsWith('.pyc')) await fs.rm(path.join(bare, f));
      const without = await checkInRuntime(bare, ['lmdprobe']);
      expect(without.compiled.length).toBeGreaterThanOrEqual(4);
    },
    TIMEOUT,
  );

  it(
    'a second run with nothing changed reuses the layer: no docker, no upload, no publish',
    async () => {
      const { run, calls } = recorder();
      const again = await buildLayer(layerOptions({ workDir: path.join(work, 'run-2') }), {
        lambda,
        s3,
        run,
        logger: memoryLogger(),
        clock: systemClock,
      });
      expect(again).toMatchObject({
        status: 'cached',
        key: built.key,
        layerVersionArn: built.layerVersionArn,
        unzippedBytes: built.unzippedBytes,
      });
      expect(calls).toEqual([]);
      const versions = await lambda.send(
        new ListLayerVersionsCommand({ LayerName: `lmd-e2e-${suffix}-deps` }),
      );
      expect(versions.LayerVersions).toHaveLength(1);
    },
    TIMEOUT,
  );

  it(
    'a rebuild in another folder gives a byte-identical zip',
    async () => {
      const rebuilt = await buildLayer(
        layerOptions({
          layerName: `lmd-e2e-${suffix}-rebuild`,
          dryRun: true,
          workDir: path.join(work, 'run-3'),
        }),
        {
          lambda,
          s3,
          run: runCommand,
          logger: memoryLogger(),
          clock: systemClock,
          ...(user ? { user } : {}),
        },
      );
      expect(rebuilt.status).toBe('planned');
      expect(rebuilt.sha256Hex).toBe(built.sha256Hex);
    },
    TIMEOUT,
  );

  it(
    'build: pip builds the same package from the wheelhouse without Docker, with valid bytecode',
    async () => {
      const { run, calls } = recorder('docker');
      const pip = await buildLayer(
        layerOptions({
          build: 'pip',
          layerName: `lmd-e2e-${suffix}-pip`,
          workDir: path.join(work, 'run-pip'),
        }),
        {
          lambda,
          s3,
          run,
          logger: memoryLogger(),
          clock: systemClock,
        },
      );
      expect(calls.some((c) => c.command === 'docker')).toBe(false);
      expect(pip.status).toBe('built');
      const opt = path.join(work, 'opt-pip');
      await extract(pip.zipPath as string, opt);
      const dockerFiles = await listFiles(path.join(work, 'opt-1'));
      // Same files as the Docker build (pip's INSTALLER/REQUESTED/RECORD included).
      expect(await listFiles(opt)).toEqual(dockerFiles);
      if (pip.bytecode?.python === '3.11') {
        const report = await checkInRuntime(opt, ['lmdprobe']);
        expect(report.bad).toEqual([]);
        expect(report.compiled).toEqual([]);
      } else {
        expect(pip.bytecode?.skipped).toMatch(/ships without \.pyc/);
      }
    },
    TIMEOUT,
  );

  it(
    "builds the iris example's layer (relative --find-links, compiled numpy and scipy wheels): valid .pyc, imports",
    async () => {
      const iris = path.join(ROOT, 'examples', 'iris', 'requirements.txt');
      const result = await buildLayer(
        layerOptions({
          requirementsPath: iris,
          layerName: `lmd-e2e-${suffix}-iris`,
          dryRun: true,
          workDir: path.join(work, 'run-iris'),
        }),
        {
          lambda,
          s3,
          run: runCommand,
          logger: memoryLogger(),
          clock: systemClock,
          ...(user ? { user } : {}),
        },
      );
      expect(result.status).toBe('planned');
      const opt = path.join(work, 'opt-iris');
      await extract(result.zipPath as string, opt);
      const report = await checkInRuntime(opt, [
        'irisfeat',
        '=numpy',
        '=numpy.linalg',
        '=scipy.special',
        '=scipy.optimize',
      ]);
      // Every module of numpy and scipy has a valid hash-based .pyc, and nothing is recompiled.
      expect(report.sources).toBeGreaterThan(500);
      expect(report.bad).toEqual([]);
      expect(report.compiled).toEqual([]);
      expect(report.imported).toEqual(
        expect.arrayContaining(['irisfeat', 'numpy', 'numpy.linalg', 'scipy.special']),
      );
    },
    TIMEOUT,
  );
});
