import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { type CommandRunner, currentUser } from '../exec.js';
import type { Logger } from '../log.js';
import type { BuildSettings } from '../settings.js';
import { collectBundleFiles, normaliseModelDest, type BundleFile } from './bundle-files.js';
import {
  compileBundleInDocker,
  compileBundleOnHost,
  hostPythonVersion,
  type BundleBytecodeResult,
} from './bytecode.js';
import { LOADER_FILE, loaderSource, userLoader } from './loader.js';
import { runtimePythonVersion } from './runtime.js';
import { writeDeterministicZip, type ZipResult } from './zip.js';

export interface BundleResult extends ZipResult {
  /** Bytes of the files under model-dest (for size advice). */
  modelBytes: number;
  /** How the handler's .py files got their bytecode. */
  bytecode: { compiled: number; python?: string; skipped?: string };
  /** model-store s3: the model files, left out of the zip (zipPath: where bundle mode puts them). */
  storedModel: BundleFile[];
  /** The loader module: added by the action, or the source's own file of that name (kept). */
  loader: { added: true } | { added: false; userFile: string };
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
  const { files, modelBytes, storedModel, loader, bytecode } = await bundleFiles(build, deps);
  deps.beforeZip?.({ unzippedBytes: files.reduce((sum, f) => sum + f.size, 0), modelBytes });
  const zip = await writeDeterministicZip({
    files,
    destPath: path.join(deps.workDir, 'bundle.zip'),
  });
  return { ...zip, modelBytes, storedModel, loader, bytecode };
}

export interface BundleFiles {
  /** Source, model and generated .pyc files, each with its origin. */
  files: BundleFile[];
  modelBytes: number;
  storedModel: BundleResult['storedModel'];
  loader: BundleResult['loader'];
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
  const s3Model = build.modelStore === 's3';
  const files = await collectBundleFiles(base);
  const outDir = path.join(deps.workDir, 'bundle-pyc');
  await fs.mkdir(outDir, { recursive: true });
  const compiled = await compileHandlerBytecode(build, files, outDir, deps);

  const ownLoader = userLoader(files);
  const loaderExtra = [];
  if (!ownLoader) {
    const loaderPath = path.join(deps.workDir, 'loader', LOADER_FILE);
    await fs.mkdir(path.dirname(loaderPath), { recursive: true });
    await fs.writeFile(
      loaderPath,
      loaderSource(build.modelStore, normaliseModelDest(build.modelDest)),
    );
    loaderExtra.push({ zipPath: LOADER_FILE, absPath: loaderPath });
  } else {
    deps.logger.warning(
      `${ownLoader} in source-dir is shipped as it is: the action's model loader (lambda_ml_model.model_dir()) is not added.`,
    );
  }
  const extra = [...(compiled.result?.entries ?? []), ...loaderExtra];
  const all = extra.length > 0 ? await collectBundleFiles({ ...base, extra }) : files;
  const storedModel = s3Model ? all.filter((f) => f.origin === 'model') : [];
  const withPyc = s3Model ? all.filter((f) => f.origin !== 'model') : all;
  const modelBytes = withPyc
    .filter((f) => f.origin === 'model')
    .reduce((sum, f) => sum + f.size, 0);
  return {
    files: withPyc,
    modelBytes,
    storedModel,
    loader: ownLoader ? { added: false, userFile: ownLoader } : { added: true },
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
