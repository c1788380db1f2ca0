import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { S3Client } from '@aws-sdk/client-s3';
import { ActionError } from '../errors.js';
import { type CommandRunner, currentUser, type UserIds } from '../exec.js';
import { formatBytes, formatDuration, type Clock, type Logger } from '../log.js';
import { uploadContentAddressed } from './upload.js';
import type { Architecture, BuildMethod, BuildSettings } from '../settings.js';
import type { BundleFile } from './bundle-files.js';
import {
  compileTreeInDocker,
  compileTreeOnHost,
  dropBytecode,
  hostPythonVersion,
  type TreeBytecodeReport,
} from './bytecode.js';
import { findCachedLayer, publishLayer } from './layer-cache.js';
import { LAMBDA_UNZIPPED_LIMIT_BYTES } from './limits.js';
import { dockerPlatform, runtimePythonVersion } from './runtime.js';
import { ensureImage, installInDocker } from './layer-docker.js';
import { computeLayerKey, gatherRequirements } from './layer-key.js';
import { lockedRequirementsText } from './lock-files.js';
import { installWithHostPip } from './layer-pip.js';
import { slimTree, type SlimResult } from './slim.js';
import { writeDeterministicZip, type ZipResult } from './zip.js';

/**
 * The dependency layer step: key -> cache lookup -> build (docker or host pip) -> slim ->
 * bytecode -> deterministic zip -> upload (content-addressed) -> publish. A cache hit stops after
 * the lookup: no Docker run, no upload, no PublishLayerVersion.
 */

/** Where Lambda extracts layers; packages live in /opt/python. */
export const LAYER_PYTHON_DIR = '/opt/python';

export interface LayerOptions {
  /** Absolute path of the requirements file; undefined: no layer. */
  requirementsPath?: string;
  runtime: string;
  architecture: Architecture;
  build: BuildMethod;
  buildImage: string;
  pipArgs: readonly string[];
  slim: boolean;
  layerName: string;
  s3Bucket: string;
  s3Prefix: string;
  dryRun: boolean;
  /** A scratch folder for this run (e.g. under RUNNER_TEMP). */
  workDir: string;
  expectedBucketOwner?: string;
  /** Host Python for `build: pip` (default python3). */
  python?: string;
}

/** The layer options of a run's build settings: the one mapping, for zip layers and images. */
export function layerOptionsFor(
  build: Pick<
    BuildSettings,
    | 'requirements'
    | 'runtime'
    | 'architecture'
    | 'build'
    | 'buildImage'
    | 'pipArgs'
    | 'slim'
    | 'layerName'
    | 's3Bucket'
    | 's3Prefix'
  >,
  run: { dryRun: boolean; workDir: string },
): LayerOptions {
  return {
    requirementsPath: build.requirements,
    runtime: build.runtime,
    architecture: build.architecture,
    build: build.build,
    buildImage: build.buildImage,
    pipArgs: build.pipArgs,
    slim: build.slim,
    layerName: build.layerName,
    s3Bucket: build.s3Bucket,
    s3Prefix: build.s3Prefix,
    dryRun: run.dryRun,
    workDir: run.workDir,
  };
}

export interface LayerDeps {
  lambda: LambdaClient;
  s3: S3Client;
  run: CommandRunner;
  logger: Logger;
  clock: Clock;
  /** The user the container writes files as; default: the runner's uid/gid. null: the image's default user. */
  user?: UserIds | null;
  /** The runner's environment (pass-through of pip index and proxy variables). Default process.env. */
  env?: NodeJS.ProcessEnv;
}

export interface PackageSize {
  name: string;
  bytes: number;
}

export interface LayerBytecode {
  compiled: number;
  python?: string;
  /** Why no bytecode ships (build: pip with another host Python). */
  skipped?: string;
  failed?: string[];
}

export type PreparedLayer =
  | { status: 'none' }
  | { status: 'cached'; key: string; layerVersionArn: string; unzippedBytes?: number }
  | {
      status: 'ready';
      key: string;
      zip: ZipResult;
      s3Key: string;
      slim?: SlimResult;
      bytecode: LayerBytecode;
      largest: PackageSize[];
    };

export type LayerStatus = 'none' | 'cached' | 'built' | 'planned';

export interface LayerResult {
  status: LayerStatus;
  key?: string;
  layerVersionArn?: string;
  unzippedBytes?: number;
  zippedBytes?: number;
  sha256Hex?: string;
  s3Key?: string;
  uploaded?: boolean;
  slimSaved?: number;
  slim?: SlimResult;
  bytecode?: LayerBytecode;
  /** The biggest top-level entries of the layer, for the summary and the size-limit message. */
  largest?: PackageSize[];
  zipPath?: string;
}

/** What unpinned requirements mean for the layer cache. Pure. */
export function unpinnedWarning(unpinned: readonly string[]): string {
  const shown = unpinned.slice(0, 5).join(', ') + (unpinned.length > 5 ? ', ...' : '');
  return (
    `${unpinned.length} requirement${unpinned.length === 1 ? ' is' : 's are'} not pinned to one version (${shown}). ` +
    'The layer cache key is the requirements text, so a new upstream release does not change it: ' +
    'the cached layer keeps the versions it was built with, and the next rebuild takes whatever is newest then. ' +
    'Pin with == and hashes (pip-compile --generate-hashes, uv pip compile --generate-hashes), ' +
    'or point requirements at a lock file (uv.lock, poetry.lock, pylock.toml, Pipfile.lock).'
  );
}

/** `<prefix>/layers/<sha256>.zip`. Pure. */
export function layerS3Key(s3Prefix: string, sha256Hex: string): string {
  const prefix = s3Prefix.replace(/^\/+|\/+$/g, '');
  return `${prefix ? `${prefix}/` : ''}layers/${sha256Hex}.zip`;
}

/** Sizes per top-level package (a package and its .dist-info / .libs folders counted together). Pure. */
export function largestPackages(files: readonly BundleFile[], count = 5): PackageSize[] {
  const sizes = new Map<string, number>();
  for (const file of files) {
    const top = file.zipPath.split('/')[1] ?? file.zipPath;
    const name = top
      .replace(/-[^-]+\.(dist-info|data)$/, '')
      .replace(/\.libs$/, '')
      .replace(/\.py$/, '')
      .toLowerCase()
      .replace(/-/g, '_');
    sizes.set(name, (sizes.get(name) ?? 0) + file.size);
  }
  return [...sizes.entries()]
    .map(([name, bytes]) => ({ name, bytes }))
    .sort((a, b) => b.bytes - a.bytes || (a.name < b.name ? -1 : 1))
    .slice(0, count);
}

/** The error for a layer over Lambda's unzipped limit, with the numbers and what to do. Pure. */
export function layerTooLargeMessage(
  unzippedBytes: number,
  largest: readonly PackageSize[],
  slim: boolean,
): string {
  const top = largest.map((p) => `${p.name} ${formatBytes(p.bytes)}`).join(', ');
  return (
    `The dependency layer is ${unzippedBytes.toLocaleString('en-US')} bytes unzipped (${formatBytes(unzippedBytes)}), over Lambda's limit of ` +
    `${LAMBDA_UNZIPPED_LIMIT_BYTES.toLocaleString('en-US')} bytes for a function and all its layers. Largest: ${top}. ` +
    `${slim ? '' : 'Set slim: true to drop tests and type stubs; '}remove packages the handler does not import (or use -cpu/-headless variants), ` +
    `load large models from S3 at run time, or use a container image (10 GB limit).`
  );
}

/** Every file under `root` as a zip entry under `python/...`; symlinks are followed only inside the tree. */
export async function collectLayerFiles(root: string): Promise<BundleFile[]> {
  const files: BundleFile[] = [];
  const realRoot = await fs.realpath(root);
  const walk = async (dir: string, rel: string): Promise<void> => {
    for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      const zipPath = rel ? `${rel}/${entry.name}` : entry.name;
      let stat = await fs.lstat(full);
      if (stat.isSymbolicLink()) {
        const target = await fs.realpath(full).catch(() => undefined);
        if (!target || !(target === realRoot || target.startsWith(realRoot + path.sep))) {
          throw new ActionError(
            `The installed package file ${zipPath} is a symbolic link that points outside the layer (${target ?? 'missing target'}).`,
          );
        }
        stat = await fs.stat(full);
      }
      if (stat.isDirectory()) await walk(full, zipPath);
      else if (stat.isFile())
        files.push({
          zipPath,
          absPath: full,
          size: stat.size,
          mode: stat.mode & 0o111 ? 0o755 : 0o644,
        });
    }
  };
  await walk(root, '');
  return files;
}

async function buildTree(
  options: LayerOptions,
  deps: LayerDeps,
  buildDir: string,
  requirementsFile: string,
): Promise<{ bytecode: LayerBytecode; slim?: SlimResult }> {
  const { logger, run } = deps;
  const requirementsPath = options.requirementsPath as string;
  const pythonDir = path.join(buildDir, 'python');
  const user = deps.user === null ? undefined : (deps.user ?? currentUser());
  const env = deps.env ?? process.env;
  const python = options.python ?? 'python3';

  if (options.build === 'docker') {
    await ensureImage({
      run,
      image: options.buildImage,
      platform: dockerPlatform(options.architecture),
      logger,
    });
    await installInDocker({
      run,
      logger,
      image: options.buildImage,
      architecture: options.architecture,
      runtime: options.runtime,
      requirementsPath,
      requirementsFile,
      outDir: buildDir,
      pipArgs: options.pipArgs,
      user,
      env,
    });
  } else {
    await installWithHostPip({
      run,
      logger,
      python,
      runtime: options.runtime,
      architecture: options.architecture,
      requirementsPath,
      requirementsFile,
      outDir: buildDir,
      pipArgs: options.pipArgs,
      env,
    });
  }
  await fs.mkdir(pythonDir, { recursive: true });

  let slim: SlimResult | undefined;
  if (options.slim) {
    slim = await slimTree(pythonDir);
    logger.info(
      `Slimmed the layer from ${formatBytes(slim.bytesBefore)} to ${formatBytes(slim.bytesBefore - slim.bytesSaved)}: removed ${slim.removedFiles} files, ${formatBytes(slim.bytesSaved)} (tests folders, type stubs).`,
    );
  }

  let report: TreeBytecodeReport | undefined;
  let bytecode: LayerBytecode;
  if (options.build === 'docker') {
    report = await compileTreeInDocker({
      run,
      logger,
      image: options.buildImage,
      architecture: options.architecture,
      runtime: options.runtime,
      outDir: buildDir,
      subdir: 'python',
      lambdaDir: LAYER_PYTHON_DIR,
      user,
    });
  } else {
    const wanted = runtimePythonVersion(options.runtime);
    const host = await hostPythonVersion(run, python);
    if (host === wanted) {
      report = await compileTreeOnHost({
        run,
        logger,
        python,
        runtime: options.runtime,
        dir: pythonDir,
        lambdaDir: LAYER_PYTHON_DIR,
      });
    } else {
      const dropped = await dropBytecode(pythonDir);
      const skipped =
        `host Python is ${host ?? 'not available'} but ${options.runtime} is Python ${wanted}: the layer ships without .pyc ` +
        `(removed ${dropped.removedFiles}), so Lambda compiles its modules on every cold start. Use build: docker, or set up Python ${wanted} on the runner.`;
      logger.warning(skipped);
      bytecode = { compiled: 0, skipped };
      return { bytecode, slim };
    }
  }
  bytecode = {
    compiled: report.compiled,
    python: report.python,
    ...(report.failed.length ? { failed: report.failed } : {}),
  };
  logger.info(
    `Compiled ${report.compiled} modules to hash-based .pyc for Python ${report.python}.`,
  );
  if (report.failed.length) {
    logger.warning(
      `${report.failed.length} .py files in the layer do not compile (they cannot be imported either): ${report.failed.slice(0, 5).join(', ')}${report.failed.length > 5 ? ', ...' : ''}`,
    );
  }
  return { bytecode, slim };
}

export interface DependencyFiles {
  /** Every installed file, as `python/...` (the layer's layout; /opt/python in Lambda). */
  files: BundleFile[];
  bytecode: LayerBytecode;
  slim?: SlimResult;
  largest: PackageSize[];
}

/**
 * The dependency tree, built (docker or host pip), slimmed and compiled in `layerDir`; no cache
 * lookup and no zip. `material`: gatherRequirements' answer, when the caller has it already.
 */
export async function buildDependencyFiles(
  options: LayerOptions,
  deps: LayerDeps,
  material: Awaited<ReturnType<typeof gatherRequirements>>,
  layerDir: string,
): Promise<DependencyFiles> {
  const buildDir = path.join(layerDir, 'build');
  await fs.rm(layerDir, { recursive: true, force: true });
  await fs.mkdir(buildDir, { recursive: true });

  let requirementsFile = options.requirementsPath as string;
  if (material.lockFormat && material.locked) {
    // Written outside the source tree, so it never lands in the bundle.
    requirementsFile = path.join(layerDir, 'locked', 'requirements.txt');
    await fs.mkdir(path.dirname(requirementsFile), { recursive: true });
    await fs.writeFile(requirementsFile, lockedRequirementsText(material.locked));
  }
  const { bytecode, slim } = await buildTree(options, deps, buildDir, requirementsFile);
  const files = await collectLayerFiles(buildDir);
  return { files, bytecode, slim, largest: largestPackages(files) };
}

/** Everything up to a zip on disk (or a cache hit). No AWS writes: safe for dry runs. */
export async function prepareLayer(options: LayerOptions, deps: LayerDeps): Promise<PreparedLayer> {
  const { logger, clock } = deps;
  if (!options.requirementsPath) {
    logger.info('No requirements file: no dependency layer.');
    return { status: 'none' };
  }
  const material = await gatherRequirements({
    requirementsPath: options.requirementsPath,
    pipArgs: options.pipArgs,
  });
  if (material.unpinned.length > 0) logger.warning(unpinnedWarning(material.unpinned));
  if (material.locked)
    logger.info(
      `Locked set: ${material.locked.length} packages pinned with hashes${material.lockFormat ? ` from ${path.basename(options.requirementsPath)}` : ''}; pip installs them with --require-hashes.`,
    );
  const key = computeLayerKey({
    ...material,
    runtime: options.runtime,
    architecture: options.architecture,
    build: options.build,
    buildImage: options.buildImage,
    pipArgs: options.pipArgs,
    slim: options.slim,
  });
  logger.info(
    `Layer key ${key} (requirements, runtime ${options.runtime}, ${options.architecture}, ${options.build === 'docker' ? options.buildImage : 'host pip'}, pip-args, slim=${options.slim}).`,
  );

  const hit = await findCachedLayer(deps.lambda, options.layerName, key, {
    sleep: clock.sleep,
    logger,
  });
  if (hit) {
    logger.info(
      `Layer ${options.layerName} version ${hit.version} already has this key: reusing ${hit.layerVersionArn} (no build, no upload, no publish).`,
    );
    return {
      status: 'cached',
      key,
      layerVersionArn: hit.layerVersionArn,
      ...(hit.unzippedBytes !== undefined ? { unzippedBytes: hit.unzippedBytes } : {}),
    };
  }

  const layerDir = path.join(options.workDir, 'layer');
  const started = clock.now();
  const { bytecode, slim, files, largest } = await buildDependencyFiles(
    options,
    deps,
    material,
    layerDir,
  );
  const unzipped = files.reduce((sum, f) => sum + f.size, 0);
  // The layer alone over the limit can never fit: stop before zipping it (the total with the
  // bundle is checked by checkLambdaLimits in the pipeline).
  if (unzipped > LAMBDA_UNZIPPED_LIMIT_BYTES)
    throw new ActionError(layerTooLargeMessage(unzipped, largest, options.slim));

  const zip = await writeDeterministicZip({ files, destPath: path.join(layerDir, 'layer.zip') });
  logger.info(
    `Layer built in ${formatDuration(clock.now() - started)}: ${zip.files} files, ${formatBytes(zip.unzippedBytes)} unzipped, ${formatBytes(zip.zippedBytes)} zipped, sha256 ${zip.sha256Hex}.`,
  );
  return {
    status: 'ready',
    key,
    zip,
    s3Key: layerS3Key(options.s3Prefix, zip.sha256Hex),
    slim,
    bytecode,
    largest,
  };
}

/** Uploads and publishes a prepared layer (or reports what would be done, in a dry run). */
export async function releaseLayer(
  prepared: PreparedLayer,
  options: LayerOptions,
  deps: LayerDeps,
): Promise<LayerResult> {
  if (prepared.status === 'none') return { status: 'none' };
  if (prepared.status === 'cached') {
    return {
      status: 'cached',
      key: prepared.key,
      layerVersionArn: prepared.layerVersionArn,
      unzippedBytes: prepared.unzippedBytes,
    };
  }
  const { zip, s3Key, key } = prepared;
  const base: LayerResult = {
    status: 'planned',
    key,
    unzippedBytes: zip.unzippedBytes,
    zippedBytes: zip.zippedBytes,
    sha256Hex: zip.sha256Hex,
    s3Key,
    uploaded: false,
    slim: prepared.slim,
    slimSaved: prepared.slim?.bytesSaved,
    bytecode: prepared.bytecode,
    largest: prepared.largest,
    zipPath: zip.path,
  };
  if (options.dryRun) {
    deps.logger.info(
      `Dry run: would upload s3://${options.s3Bucket}/${s3Key} and publish a new version of layer ${options.layerName}.`,
    );
    return base;
  }
  const upload = await uploadContentAddressed(deps.s3, {
    bucket: options.s3Bucket,
    key: s3Key,
    file: zip.path,
    sha256Hex: zip.sha256Hex,
    expectedBucketOwner: options.expectedBucketOwner,
    logger: deps.logger,
    sleep: deps.clock.sleep,
  });
  const published = await publishLayer(
    deps.lambda,
    {
      layerName: options.layerName,
      s3Bucket: options.s3Bucket,
      s3Key,
      runtime: options.runtime,
      architecture: options.architecture,
      key,
      unzippedBytes: zip.unzippedBytes,
    },
    { sleep: deps.clock.sleep, logger: deps.logger },
  );
  deps.logger.info(`Published ${published.layerVersionArn}.`);
  return {
    ...base,
    status: 'built',
    uploaded: upload.uploaded,
    layerVersionArn: published.layerVersionArn,
  };
}
