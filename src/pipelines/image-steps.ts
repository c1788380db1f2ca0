import * as path from 'node:path';
import { ActionError, errorMessage } from '../errors.js';
import type { ImageBuilt } from '../packaging/built.js';
import { bundleFiles } from '../packaging/bundle.js';
import { findDependencies, saveDependencies } from '../packaging/image/deps-cache.js';
import { ensureRepository, findRepository, loginToRegistry } from '../packaging/image/ecr.js';
import {
  checkImageSize,
  planLayers,
  readBaseImage,
  writeImage,
  type ImageLayer,
} from '../packaging/image/image-build.js';
import { pushImage, type PushResult } from '../packaging/image/push.js';
import { RegistryClient } from '../packaging/image/registry.js';
import {
  buildDependencyFiles,
  layerOptionsFor,
  unpinnedWarning,
  type DependencyFiles,
} from '../packaging/layer.js';
import { computeLayerKey, gatherRequirements } from '../packaging/layer-key.js';
import { reportImageBuild, reportPush } from '../report/build-report.js';
import type { DeploySettings, ImageSettings, PreviewModeSettings } from '../settings.js';
import type { RunContext } from './context.js';
import type { StepTimer } from './steps.js';

type BuildingSettings = DeploySettings | PreviewModeSettings;

/**
 * package-type: image. Build: the base image's manifest and config, the dependencies (built as
 * for the layer), the bundle's files split into model and code, the 10 GB check, then the layers
 * written. Ship: the ECR repository, a registry login, the push of what the repository lacks.
 */
export async function buildImageArtifacts(
  ctx: RunContext<BuildingSettings>,
  steps: StepTimer,
  image: ImageSettings,
): Promise<ImageBuilt> {
  const { settings, logger, run, workDir, clock } = ctx;
  const b = settings.build;
  const base = await steps.run('Image: base', () =>
    readBaseImage(image.baseImage, b.architecture, { logger }),
  );
  const deps = await steps.run('Image: dependencies', () => dependencies(ctx, image));
  const code = await steps.run('Image: handler and model files', () =>
    bundleFiles(b, { run, logger, workspace: settings.workspace, workDir }),
  );
  const reused = deps?.cached ? [deps.cached] : [];
  const plans = planLayers(deps?.built?.files ?? [], code.files);
  checkImageSize(base, plans, reused);
  const written = await steps.run('Image: layers', () =>
    writeImage(base, plans, settings.fn.handler, { workDir, logger, clock }, reused),
  );
  const built: ImageBuilt = {
    kind: 'image',
    image: written,
    codeSha256: written.manifest.digest.replace(/^sha256:/, ''),
    dependencies: {
      files: deps?.cached?.files ?? deps?.built?.files.length ?? 0,
      slim: deps?.built?.slim,
      bytecode: deps?.built?.bytecode,
      largest: deps?.built?.largest,
      ...(deps ? { key: deps.key, cached: Boolean(deps.cached) } : {}),
    },
    bytecode: code.bytecode,
  };
  logger.info(`Image ${written.manifest.digest}: ${written.layers.length} layers on the base.`);
  reportImageBuild(ctx.report, built);
  ctx.result.codeSha256 = built.codeSha256;
  return built;
}

interface Dependencies {
  key: string;
  /** The layer from the repository's cache: nothing built. */
  cached?: ImageLayer;
  built?: DependencyFiles;
}

/** The dependencies layer: from the repository when its key is there, else built. */
async function dependencies(
  ctx: RunContext<BuildingSettings>,
  image: ImageSettings,
): Promise<Dependencies | undefined> {
  const b = ctx.settings.build;
  if (!b.requirements) {
    ctx.logger.info('No requirements file: no dependencies layer.');
    return undefined;
  }
  const material = await gatherRequirements({
    requirementsPath: b.requirements,
    pipArgs: b.pipArgs,
  });
  if (material.unpinned.length > 0) ctx.logger.warning(unpinnedWarning(material.unpinned));
  const key = computeLayerKey({
    ...material,
    runtime: b.runtime,
    architecture: b.architecture,
    build: b.build,
    buildImage: b.buildImage,
    pipArgs: b.pipArgs,
    slim: b.slim,
  });
  const registry = await connectRegistry(ctx, image);
  const hit = registry ? await findDependencies(registry.client, image.repository, key) : undefined;
  if (hit) {
    ctx.logger.info(
      `Dependencies layer ${hit.digest} for key ${key.slice(0, 16)} is in ${image.repository}: reused (no build).`,
    );
    return {
      key,
      cached: { name: 'dependencies', ...hit, compression: 'gzip' },
    };
  }
  ctx.logger.info(`Dependencies key ${key.slice(0, 16)}: not in the repository yet, building.`);
  const built = await buildDependencyFiles(
    layerOptionsFor(b, { dryRun: ctx.settings.dryRun, workDir: ctx.workDir }),
    {
      lambda: ctx.clients.lambda,
      s3: ctx.clients.s3,
      run: ctx.run,
      logger: ctx.logger,
      clock: ctx.clock,
    },
    material,
    path.join(ctx.workDir, 'dependencies'),
  );
  return { key, built };
}

/** A client of the repository's registry, or undefined while the repository does not exist. */
async function connectRegistry(
  ctx: RunContext<BuildingSettings>,
  image: ImageSettings,
): Promise<{ client: RegistryClient; uri: string } | undefined> {
  const options = { sleep: ctx.clock.sleep };
  const repo = await findRepository(ctx.clients.ecr, image.repository, options);
  if (!repo) return undefined;
  const login = await loginToRegistry(ctx.clients.ecr, ctx.registryEndpoint, options);
  return {
    client: new RegistryClient({ baseUrl: login.endpoint, basic: login.basic }),
    uri: repo.uri,
  };
}

/**
 * After the image is in the repository: remember a dependencies layer built by this run, so the
 * next run with the same requirements reuses it instead of building it again.
 */
export async function rememberDependencies(
  ctx: RunContext<BuildingSettings>,
  built: ImageBuilt,
): Promise<void> {
  const image = ctx.settings.build.image as ImageSettings;
  const deps = built.dependencies;
  const layer = built.image.layers.find((l) => l.name === 'dependencies');
  if (ctx.settings.dryRun || !deps.key || deps.cached || !layer) return;
  let saved = false;
  try {
    const registry = await connectRegistry(ctx, image);
    if (registry)
      saved = await saveDependencies(
        registry.client,
        image.repository,
        deps.key,
        ctx.settings.build.architecture,
        layer,
      );
  } catch (error) {
    // Only the next run's speed depends on it: the deploy goes on.
    ctx.logger.warning(`Could not record the dependencies layer for reuse: ${errorMessage(error)}`);
    return;
  }
  if (saved)
    ctx.logger.info(
      `Dependencies layer recorded as ${image.repository}:deps-v1-${deps.key.slice(0, 16)}...: the next run with these requirements reuses it.`,
    );
}

/** The repository (created when missing and allowed) and the image's URI pinned by digest. */
export async function imageUriFor(
  ctx: RunContext<BuildingSettings>,
  built: ImageBuilt,
  create: boolean,
): Promise<string> {
  const image = ctx.settings.build.image as ImageSettings;
  const repo = await ensureRepository(ctx.clients.ecr, image.repository, create, {
    logger: ctx.logger,
    sleep: ctx.clock.sleep,
  });
  return `${repo.uri}@${built.image.manifest.digest}`;
}

/** Pushes what the repository lacks; returns the URI the function points at. */
export async function shipImage(
  ctx: RunContext<BuildingSettings>,
  steps: StepTimer,
  built: ImageBuilt,
): Promise<{ imageUri: string; push: PushResult }> {
  const image = ctx.settings.build.image as ImageSettings;
  return steps.run('Push image', async () => {
    const imageUri = await imageUriFor(ctx, built, image.createRepository);
    const login = await loginToRegistry(ctx.clients.ecr, ctx.registryEndpoint, {
      sleep: ctx.clock.sleep,
    });
    if (ctx.registryEndpoint)
      ctx.logger.info(`Registry API at ${ctx.registryEndpoint} (LAMBDA_ML_DEPLOY_ECR_ENDPOINT).`);
    const client = new RegistryClient({ baseUrl: login.endpoint, basic: login.basic });
    const push = await pushImage(
      built.image,
      { client, repository: image.repository },
      {
        logger: ctx.logger,
      },
    );
    reportPush(ctx.report, imageUri, push);
    ctx.result.imageUri = imageUri;
    return { imageUri, push };
  });
}

/** An existing zip function cannot become an image function (or back): Lambda refuses it. */
export function packageTypeMismatch(
  functionName: string,
  current: string | undefined,
  wanted: 'Zip' | 'Image',
): ActionError | undefined {
  if (!current || current === wanted) return undefined;
  return new ActionError(
    `Function '${functionName}' is a ${current} function, and this run deploys it as ${wanted === 'Image' ? 'an image' : 'a zip'} ` +
      '(package-type): Lambda cannot change the package type of a function. Deploy to a new function-name ' +
      '(create-function: true), or set package-type to match the function.',
  );
}
