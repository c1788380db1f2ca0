import { buildBundle, type BundleResult } from '../packaging/bundle.js';
import type { Built, ZipBuilt } from '../packaging/built.js';
import {
  layerOptionsFor,
  prepareLayer,
  releaseLayer,
  type LayerDeps,
  type PreparedLayer,
} from '../packaging/layer.js';
import { checkLambdaLimits, type LimitReport } from '../packaging/limits.js';
import { prepareModelStore, type ModelStoreBuilt } from '../packaging/model-store.js';
import { formatBytes } from '../log.js';
import { reportBuild } from '../report/build-report.js';
import { reportModelStore } from '../report/model-store-report.js';
import type { DeploySettings, PreviewModeSettings } from '../settings.js';
import type { RunContext } from './context.js';
import { buildImageArtifacts } from './image-steps.js';
import type { StepTimer } from './steps.js';

type BuildingSettings = DeploySettings | PreviewModeSettings;

/** Layer and bundle (or an image), with the size limits checked before anything is uploaded. */
export async function buildArtifacts(
  ctx: RunContext<BuildingSettings>,
  steps: StepTimer,
): Promise<Built> {
  const { settings, clients, logger, run, workDir } = ctx;
  const b = settings.build;
  if (b.image) return buildImageArtifacts(ctx, steps, b.image);
  const layerOptions = layerOptionsFor(b, { dryRun: settings.dryRun, workDir });
  const layerDeps: LayerDeps = {
    lambda: clients.lambda,
    s3: clients.s3,
    run,
    logger,
    clock: ctx.clock,
  };
  const prepared = await steps.run('Dependency layer: build', () =>
    prepareLayer(layerOptions, layerDeps),
  );
  const { bundle, limits } = await bundleWithinLimits(ctx, steps, prepared);
  const modelStore = b.modelStore === 's3' ? await planModelStore(ctx, steps, bundle) : undefined;
  const layer =
    prepared.status === 'ready'
      ? await steps.run('Dependency layer: upload and publish', () =>
          releaseLayer(prepared, layerOptions, layerDeps),
        )
      : await releaseLayer(prepared, layerOptions, layerDeps);
  const built: ZipBuilt = {
    kind: 'zip',
    layer,
    bundle,
    bundleKey: `${b.s3Prefix}/${bundle.sha256Hex}.zip`,
    codeSha256: bundle.codeSha256,
    ...(modelStore ? { modelStore } : {}),
  };
  reportBuild(ctx.report, built, limits);
  if (modelStore) reportModelStore(ctx.report, modelStore);
  ctx.result.codeSha256 = bundle.codeSha256;
  ctx.result.s3Key = built.bundleKey;
  if (layer.layerVersionArn) ctx.result.layerVersionArn = layer.layerVersionArn;
  return built;
}

/**
 * The bundle, zipped only after the bundle and the layer together are checked against Lambda's
 * limit (before anything is zipped or uploaded).
 */
async function bundleWithinLimits(
  ctx: RunContext<BuildingSettings>,
  steps: StepTimer,
  prepared: PreparedLayer,
): Promise<{ bundle: BundleResult; limits: LimitReport }> {
  const { settings, logger, run, workDir } = ctx;
  const b = settings.build;
  const layerBytes =
    prepared.status === 'ready'
      ? prepared.zip.unzippedBytes
      : prepared.status === 'cached'
        ? prepared.unzippedBytes
        : undefined;
  let limits: LimitReport | undefined;
  const sizeParts = (bundleBytes: number, modelBytes: number) => [
    { name: 'function bundle', kind: 'function' as const, bytes: bundleBytes, modelBytes },
    ...(layerBytes !== undefined
      ? [{ name: `layer ${b.layerName}`, kind: 'layer' as const, bytes: layerBytes }]
      : []),
  ];
  const bundle = await steps.run('Bundle', async () => {
    const result = await buildBundle(b, {
      run,
      logger,
      workspace: settings.workspace,
      workDir,
      beforeZip: (sizes) => {
        limits = checkLambdaLimits(sizeParts(sizes.unzippedBytes, sizes.modelBytes), {
          slim: b.slim,
        });
      },
    });
    logger.info(
      `${result.files} files, ${formatBytes(result.unzippedBytes)} unzipped, ${formatBytes(result.zippedBytes)} zipped, sha256 ${result.sha256Hex}`,
    );
    return result;
  });
  if (!limits) throw new Error('internal: the bundle was zipped without a size check');
  if (!bundle.loader.added)
    ctx.report.section('Model loader', [
      `⚠️ The source has its own \`${bundle.loader.userFile}\`: the action's \`lambda_ml_model\` loader was not added.`,
    ]);
  return { bundle, limits };
}

/** model-store s3: the model files' keys and manifest, and the /tmp they need. */
function planModelStore(
  ctx: RunContext<BuildingSettings>,
  steps: StepTimer,
  bundle: BundleResult,
): Promise<ModelStoreBuilt> {
  const b = ctx.settings.build;
  return steps.run('Model store: hash and plan', async () => {
    const planned = await prepareModelStore(bundle.storedModel, {
      modelDest: b.modelDest,
      bucket: b.s3Bucket,
      prefix: b.s3Prefix,
      ephemeralStorage: ctx.settings.fn.ephemeralStorage,
    });
    ctx.logger.info(
      `${planned.plan.manifest.files.length} model file(s), ${formatBytes(planned.plan.totalBytes)}: manifest ${planned.plan.manifestUri}` +
        (planned.sizedEphemeral ? `; ephemeral-storage sized to ${planned.ephemeralMb} MB` : ''),
    );
    return planned;
  });
}
