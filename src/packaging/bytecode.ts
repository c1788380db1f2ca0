import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { ActionError } from '../errors.js';
import { type CommandRunner, describeCommand, type UserIds } from '../exec.js';
import type { Logger } from '../log.js';
import type { Architecture } from '../settings.js';
import { dockerPlatform, runtimePythonVersion } from './runtime.js';
import { dockerRunArgs } from './layer-docker.js';

/**
 * Bytecode that stays valid in Lambda. A reproducible zip gives every file the same fixed
 * timestamp, so timestamp-based .pyc no longer match their sources; Lambda's /opt and /var/task
 * are read-only, so Python recompiles such modules on every cold start. Hash-based .pyc (PEP 552,
 * "unchecked-hash") do not depend on timestamps: they are compiled once, here, for the runtime's
 * Python, and are loaded as they are.
 *
 * Both scripts are fixed strings run with `python -c`; paths arrive as argv entries.
 */

/**
 * Compiles every .py under a folder (argv: root, the folder the root will be at in Lambda, workers).
 * First removes .pyc that cannot be used: other Python versions, optimisation levels, orphans
 * whose source is gone, and legacy .pyc next to their source. Prints one JSON report line.
 */
export const COMPILE_TREE_PY = `
import compileall, json, os, py_compile, sys
root, ddir, workers = sys.argv[1], sys.argv[2], int(sys.argv[3])
tag = sys.implementation.cache_tag
removed = 0
for dirpath, dirnames, filenames in os.walk(root):
    if os.path.basename(dirpath) == "__pycache__":
        parent = os.path.dirname(dirpath)
        for name in filenames:
            if not name.endswith(".pyc"):
                continue
            stem = name[:-4]
            parts = stem.split(".")
            usable = len(parts) >= 2 and parts[-1] == tag and os.path.isfile(os.path.join(parent, ".".join(parts[:-1]) + ".py"))
            if not usable:
                os.remove(os.path.join(dirpath, name))
                removed += 1
        continue
    for name in filenames:
        if name.endswith(".pyc") and os.path.isfile(os.path.join(dirpath, name[:-1])):
            os.remove(os.path.join(dirpath, name))
            removed += 1
compileall.compile_dir(root, ddir=ddir, force=True, quiet=1, workers=workers,
                       invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
compiled, failed = 0, []
for dirpath, dirnames, filenames in os.walk(root):
    if os.path.basename(dirpath) == "__pycache__":
        continue
    for name in filenames:
        if name.endswith(".py"):
            pyc = os.path.join(dirpath, "__pycache__", name[:-3] + "." + tag + ".pyc")
            if os.path.isfile(pyc):
                compiled += 1
            else:
                failed.append(os.path.relpath(os.path.join(dirpath, name), root))
failed.sort()
print("lmd-bytecode " + json.dumps({"python": "%d.%d" % sys.version_info[:2], "compiled": compiled, "removed": removed, "failed": failed}), flush=True)
`;

/**
 * Compiles chosen source files into a separate output folder, never writing next to the sources
 * (argv: a JSON manifest {srcRoot, outRoot, prefix, items: [{src, zip}]}). Each .pyc lands at
 * <outRoot>/<zip dir>/__pycache__/<name>.<tag>.pyc with the path it will have in Lambda.
 */
export const COMPILE_FILES_PY = `
import json, os, py_compile, sys
with open(sys.argv[1]) as handle:
    manifest = json.load(handle)
tag = sys.implementation.cache_tag
written, failed = [], []
for item in manifest["items"]:
    zip_path = item["zip"]
    folder, name = os.path.split(zip_path)
    rel = os.path.join(folder, "__pycache__", name[:-3] + "." + tag + ".pyc")
    try:
        py_compile.compile(os.path.join(manifest["srcRoot"], item["src"]), cfile=os.path.join(manifest["outRoot"], rel),
                           dfile=manifest["prefix"] + zip_path, doraise=True,
                           invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
        written.append({"zip": rel.replace(os.sep, "/")})
    except py_compile.PyCompileError as error:
        failed.append({"zip": zip_path, "error": str(error.msg).strip().splitlines()[-1] if str(error.msg).strip() else "syntax error"})
print("lmd-bytecode " + json.dumps({"python": "%d.%d" % sys.version_info[:2], "written": written, "failed": failed}), flush=True)
`;

export interface TreeBytecodeReport {
  python: string;
  compiled: number;
  removed: number;
  /** .py files with no .pyc after compiling (syntax errors: they cannot be imported either). */
  failed: string[];
}

export interface FilesBytecodeReport {
  python: string;
  written: Array<{ zip: string }>;
  failed: Array<{ zip: string; error: string }>;
}

/** Finds the script's JSON report line in its output. */
export function parseBytecodeReport<T>(output: string): T {
  const line = output.split('\n').find((candidate) => candidate.startsWith('lmd-bytecode '));
  if (!line)
    throw new ActionError(
      `The bytecode step printed no report. Its output:\n${output.split('\n').slice(-15).join('\n')}`,
    );
  return JSON.parse(line.slice('lmd-bytecode '.length)) as T;
}

/** Python's cache tag for a runtime: python3.12 -> cpython-312. */
export function cacheTag(runtime: string): string {
  return `cpython-${runtimePythonVersion(runtime).replace('.', '')}`;
}

function checkVersion(report: { python: string }, runtime: string, where: string): void {
  const want = runtimePythonVersion(runtime);
  if (report.python !== want) {
    throw new ActionError(
      `${where} compiled bytecode with Python ${report.python}, but runtime ${runtime} is Python ${want}; these .pyc would be ignored in Lambda.`,
    );
  }
}

async function runScript(
  run: CommandRunner,
  command: string,
  args: string[],
  logger: Logger,
  what: string,
): Promise<string> {
  logger.debug(describeCommand(command, args));
  const result = await run(command, args, {
    onLine: (line) => !line.startsWith('lmd-bytecode ') && logger.debug(line),
  });
  if (result.exitCode !== 0) {
    const output = `${result.stdout}\n${result.stderr}`.trim().split('\n').slice(-15).join('\n');
    throw new ActionError(`${what} failed (exit code ${result.exitCode}):\n${output}`);
  }
  return result.stdout;
}

// ---------------------------------------------------------------------------------------------
// The layer: compile a whole folder in place.

export interface DockerTreeOptions {
  run: CommandRunner;
  logger: Logger;
  image: string;
  architecture: Architecture;
  runtime: string;
  /** Host folder mounted read-write at /var/out. */
  outDir: string;
  /** Folder inside outDir to compile (`python`). */
  subdir: string;
  /** Where that folder is in Lambda (`/opt/python`): the path recorded in the bytecode. */
  lambdaDir: string;
  user?: UserIds;
  workers?: number;
}

/** `docker run` arguments that compile <outDir>/<subdir> inside the build image. Pure. */
export function compileTreeRunArgs(options: Omit<DockerTreeOptions, 'run' | 'logger'>): string[] {
  return dockerRunArgs({
    image: options.image,
    platform: dockerPlatform(options.architecture),
    mounts: [{ source: options.outDir, target: '/var/out' }],
    user: options.user,
    env: { HOME: '/tmp', PYTHONDONTWRITEBYTECODE: '1' },
    entrypoint: 'python3',
    command: [
      '-c',
      COMPILE_TREE_PY,
      `/var/out/${options.subdir}`,
      options.lambdaDir,
      String(options.workers ?? 0),
    ],
  });
}

export async function compileTreeInDocker(options: DockerTreeOptions): Promise<TreeBytecodeReport> {
  const stdout = await runScript(
    options.run,
    'docker',
    compileTreeRunArgs(options),
    options.logger,
    `Compiling bytecode in ${options.image}`,
  );
  const report = parseBytecodeReport<TreeBytecodeReport>(stdout);
  checkVersion(report, options.runtime, options.image);
  return report;
}

export interface HostTreeOptions {
  run: CommandRunner;
  logger: Logger;
  /** Host Python whose version equals the runtime's (checked). */
  python: string;
  runtime: string;
  dir: string;
  lambdaDir: string;
  workers?: number;
}

export async function compileTreeOnHost(options: HostTreeOptions): Promise<TreeBytecodeReport> {
  const args = [
    '-c',
    COMPILE_TREE_PY,
    options.dir,
    options.lambdaDir,
    String(options.workers ?? 0),
  ];
  const stdout = await runScript(
    options.run,
    options.python,
    args,
    options.logger,
    `Compiling bytecode with ${options.python}`,
  );
  const report = parseBytecodeReport<TreeBytecodeReport>(stdout);
  checkVersion(report, options.runtime, options.python);
  return report;
}

/** Removes every .pyc and __pycache__ under a folder (when no Python of the runtime's version is at hand). */
export async function dropBytecode(dir: string): Promise<{ removedFiles: number; bytes: number }> {
  let removedFiles = 0;
  let bytes = 0;
  const walk = async (folder: string): Promise<void> => {
    for (const entry of await fs.readdir(folder, { withFileTypes: true })) {
      const full = path.join(folder, entry.name);
      if (entry.isDirectory()) {
        await walk(full);
        if (entry.name === '__pycache__') await fs.rm(full, { recursive: true, force: true });
      } else if (entry.isFile() && entry.name.endsWith('.pyc')) {
        bytes += (await fs.stat(full)).size;
        removedFiles++;
        await fs.rm(full);
      }
    }
  };
  await walk(dir);
  return { removedFiles, bytes };
}

/** Detects the major.minor of a host Python; undefined when it cannot be run. */
export async function hostPythonVersion(
  run: CommandRunner,
  python: string,
): Promise<string | undefined> {
  try {
    const result = await run(python, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])']);
    return result.exitCode === 0 ? result.stdout.trim() : undefined;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// The handler bundle: compile its .py files into a separate folder, as extra zip entries.

export interface BundlePyFile {
  zipPath: string;
  absPath: string;
}

/** A zip entry as zip.ts takes it. */
export interface BytecodeEntry {
  zipPath: string;
  absPath: string;
  size: number;
  mode: number;
}

export interface BundleBytecodeResult {
  entries: BytecodeEntry[];
  failed: Array<{ zip: string; error: string }>;
  python: string;
}

interface Manifest {
  srcRoot: string;
  outRoot: string;
  prefix: string;
  items: Array<{ src: string; zip: string }>;
}

/** Which bundle files can be compiled: .py files under sourceDir (the mount); others are skipped. Pure. */
export function bundleCompileItems(
  sourceDir: string,
  files: readonly BundlePyFile[],
): Array<{ src: string; zip: string }> {
  const root = path.resolve(sourceDir);
  const items: Array<{ src: string; zip: string }> = [];
  for (const file of files) {
    if (!file.zipPath.endsWith('.py')) continue;
    const rel = path.relative(root, path.resolve(file.absPath));
    if (!rel || rel.startsWith('..') || path.isAbsolute(rel)) continue;
    items.push({ src: rel.split(path.sep).join('/'), zip: file.zipPath });
  }
  return items.sort((a, b) => (a.zip < b.zip ? -1 : a.zip > b.zip ? 1 : 0));
}

async function collectBundleOutput(
  outDir: string,
  report: FilesBytecodeReport,
): Promise<BundleBytecodeResult> {
  const entries: BytecodeEntry[] = [];
  for (const item of report.written) {
    const absPath = path.join(outDir, ...item.zip.split('/'));
    const stat = await fs.stat(absPath);
    entries.push({ zipPath: item.zip, absPath, size: stat.size, mode: 0o644 });
  }
  return { entries, failed: report.failed, python: report.python };
}

export interface BundleBytecodeOptions {
  run: CommandRunner;
  logger: Logger;
  runtime: string;
  sourceDir: string;
  files: readonly BundlePyFile[];
  /** An empty work folder that receives the .pyc files (never the source folder). */
  outDir: string;
  /** Where the bundle is extracted in Lambda. */
  lambdaDir?: string;
}

const MANIFEST_NAME = '.lmd-compile.json';

async function writeManifest(outDir: string, manifest: Manifest): Promise<string> {
  await fs.mkdir(outDir, { recursive: true });
  const file = path.join(outDir, MANIFEST_NAME);
  await fs.writeFile(file, JSON.stringify(manifest));
  return file;
}

/** Compiles the bundle's .py files inside the build image: the source folder is mounted read-only. */
export async function compileBundleInDocker(
  options: BundleBytecodeOptions & { image: string; architecture: Architecture; user?: UserIds },
): Promise<BundleBytecodeResult> {
  const items = bundleCompileItems(options.sourceDir, options.files);
  if (items.length === 0)
    return { entries: [], failed: [], python: runtimePythonVersion(options.runtime) };
  const prefix = `${(options.lambdaDir ?? '/var/task').replace(/\/+$/, '')}/`;
  const manifestFile = await writeManifest(options.outDir, {
    srcRoot: '/var/src',
    outRoot: '/var/out',
    prefix,
    items,
  });
  try {
    const args = dockerRunArgs({
      image: options.image,
      platform: dockerPlatform(options.architecture),
      mounts: [
        { source: path.resolve(options.sourceDir), target: '/var/src', readOnly: true },
        { source: path.resolve(options.outDir), target: '/var/out' },
      ],
      user: options.user,
      env: { HOME: '/tmp', PYTHONDONTWRITEBYTECODE: '1' },
      entrypoint: 'python3',
      command: ['-c', COMPILE_FILES_PY, `/var/out/${MANIFEST_NAME}`],
    });
    const stdout = await runScript(
      options.run,
      'docker',
      args,
      options.logger,
      `Compiling the bundle's bytecode in ${options.image}`,
    );
    const report = parseBytecodeReport<FilesBytecodeReport>(stdout);
    checkVersion(report, options.runtime, options.image);
    return await collectBundleOutput(options.outDir, report);
  } finally {
    await fs.rm(manifestFile, { force: true });
  }
}

/** Compiles the bundle's .py files with a host Python whose version equals the runtime's. */
export async function compileBundleOnHost(
  options: BundleBytecodeOptions & { python: string },
): Promise<BundleBytecodeResult> {
  const items = bundleCompileItems(options.sourceDir, options.files);
  if (items.length === 0)
    return { entries: [], failed: [], python: runtimePythonVersion(options.runtime) };
  const prefix = `${(options.lambdaDir ?? '/var/task').replace(/\/+$/, '')}/`;
  const outRoot = path.resolve(options.outDir);
  const manifestFile = await writeManifest(outRoot, {
    srcRoot: path.resolve(options.sourceDir),
    outRoot,
    prefix,
    items,
  });
  try {
    const stdout = await runScript(
      options.run,
      options.python,
      ['-c', COMPILE_FILES_PY, manifestFile],
      options.logger,
      `Compiling the bundle's bytecode with ${options.python}`,
    );
    const report = parseBytecodeReport<FilesBytecodeReport>(stdout);
    checkVersion(report, options.runtime, options.python);
    return await collectBundleOutput(outRoot, report);
  } finally {
    await fs.rm(manifestFile, { force: true });
  }
}
