import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { type CommandRunner, currentUser } from '../exec.js';
import type { Logger } from '../log.js';
import type { BuildSettings } from '../settings.js';
import { collectBundleFiles, type BundleFile } from './bundle-files.js';
import {
  compileBundleInDocker,
  compileBundleOnHost,
  hostPythonVersion,
  type BundleBytecodeResult,
} from './bytecode.js';
import { runtimePythonVersion } from './runtime.js';
import { writeDeterministicZip, type ZipResult } from './zip.js';

export interface BundleResult extends ZipResult {
  /** Bytes of the files under model-dest (for size advice). */
  modelBytes: number;
  /** How the handler's .py files got their bytecode. */
  bytecode: { compiled: number; python?: string; skipped?: string };
}

export interface BundleDeps {
  run: CommandRunner;
  logger: Logger;
  workspace: string;
  workDir: string;
  /** Called with the sizes once the files are known, before anything is zipped (limit checks). */
  beforeZip?: (sizes: { unzippedBytes: number; modelBytes: number }) => void;
}

/**
 * The function bundle: source-dir (include/exclude) + model files under model-dest + hash-based
 * .pyc for the handler's modules compiled for the runtime's Python, zipped deterministically.
 */
export async function buildBundle(build: BuildSettings, deps: BundleDeps): Promise<BundleResult> {
  const { files: withPyc, modelBytes, bytecode } = await bundleFiles(build, deps);
  deps.beforeZip?.({ unzippedBytes: withPyc.reduce((sum, f) => sum + f.size, 0), modelBytes });
  const zip = await writeDeterministicZip({
    files: withPyc,
    destPath: path.join(deps.workDir, 'bundle.zip'),
  });
  return { ...zip, modelBytes, bytecode };
}

export interface BundleFiles {
  /** Source, model and generated .pyc files, each with its origin. */
  files: BundleFile[];
  modelBytes: number;
  bytecode: BundleResult['bytecode'];
}

/** The bundle's files (source-dir, model, hash-based .pyc for the handler), not yet zipped. */
export async function bundleFiles(
  build: BuildSettings,
  deps: Omit<BundleDeps, 'beforeZip'>,
): Promise<BundleFiles> {
  const base = {
    workspace: deps.workspace,
    sourceDir: build.sourceDir,
    include: build.include,
    exclude: build.exclude,
    model: build.model,
    modelDest: build.modelDest,
  };
  const files = await collectBundleFiles(base);
  const outDir = path.join(deps.workDir, 'bundle-pyc');
  await fs.mkdir(outDir, { recursive: true });
  const compiled = await compileHandlerBytecode(build, files, outDir, deps);

  const withPyc = compiled.result
    ? await collectBundleFiles({ ...base, extra: compiled.result.entries })
    : files;
  const modelBytes = withPyc
    .filter((f) => f.origin === 'model')
    .reduce((sum, f) => sum + f.size, 0);
  return {
    files: withPyc,
    modelBytes,
    bytecode: {
      compiled: compiled.result?.entries.length ?? 0,
      python: compiled.result?.python,
      skipped: compiled.skipped,
    },
  };
}

async function compileHandlerBytecode(
  build: BuildSettings,
  files: readonly BundleFile[],
  outDir: string,
  deps: BundleDeps,
): Promise<{ result?: BundleBytecodeResult; skipped?: string }> {
  const pyFiles = files.filter((f) => f.zipPath.endsWith('.py'));
  if (pyFiles.length === 0) return { skipped: 'no .py files' };
  const common = {
    run: deps.run,
    logger: deps.logger,
    runtime: build.runtime,
    sourceDir: build.sourceDir,
    files: pyFiles,
    outDir,
  };
  if (build.build === 'docker') {
    const user = currentUser();
    return {
      result: await compileBundleInDocker({
        ...common,
        image: build.buildImage,
        architecture: build.architecture,
        ...(user ? { user } : {}),
      }),
    };
  }
  const wanted = runtimePythonVersion(build.runtime);
  const host = await hostPythonVersion(deps.run, 'python3');
  if (host !== wanted) {
    const why = `host Python is ${host ?? 'missing'}, the runtime is ${wanted}: the handler is shipped without .pyc`;
    deps.logger.info(why);
    return { skipped: why };
  }
  return { result: await compileBundleOnHost({ ...common, python: 'python3' }) };
}
