import { buildBundle } from '../packaging/bundle.js';
import { prepareLayer, releaseLayer } from '../packaging/layer.js';
import { checkLambdaLimits, type LimitReport } from '../packaging/limits.js';
import { formatBytes } from '../log.js';
import { ActionError } from '../errors.js';
import type { AliasState } from '../release/traffic/alias-plan.js';
import { readAlias } from '../release/traffic/alias.js';
import { planChange, type ChangeDecision, type ChangePlan } from '../release/function/change.js';
import { desiredConfigFrom } from '../release/function/desired-config.js';
import {
  createFunction,
  missingFunctionError,
  publishVersion,
  publishedDifferences,
  readFunction,
  updateCode,
  type CodeSource,
  updateConfiguration,
  type FunctionState,
} from '../release/function/function.js';
import { tagsForCreate } from '../release/function/tags.js';
import { reportConfigChanges } from '../report/config-report.js';
import { syncFunctionLevel } from './function-level.js';
import { smokeTestVersion } from '../release/smoke/smoke.js';
import { waitForVersionActive } from '../release/function/snap-start.js';
import { gateColdStart } from './cold-start.js';
import type { SmokeRunResult } from '../release/smoke/smoke-run.js';
import { loadSmokeSpec, type SmokeSpec } from '../release/smoke/smoke-spec.js';
import { uploadContentAddressed, type UploadResult } from '../packaging/upload.js';
import { reportBuild, reportPlan, reportPush } from '../report/build-report.js';
import { MANIFEST_ENV } from '../packaging/model-manifest.js';
import { prepareModelStore, uploadModelStore } from '../packaging/model-store.js';
import { reportModelStore } from '../report/model-store-report.js';
import { reportSmoke } from '../report/smoke-table.js';
import type { DeploySettings, PreviewModeSettings } from '../settings.js';
import type { Built, ZipBuilt } from '../packaging/built.js';
import {
  buildImageArtifacts,
  imageUriFor,
  packageTypeMismatch,
  rememberDependencies,
  shipImage,
} from './image-steps.js';
import type { RunContext } from './context.js';
import type { StepTimer } from './steps.js';

type BuildingSettings = DeploySettings | PreviewModeSettings;

/** A published version that answered its smoke tests (or the unchanged one already served). */
export interface Candidate {
  built: Built;
  decision: ChangeDecision;
  /** The desired state against what was deployed (rows: before -> after). */
  plan: ChangePlan;
  version: string;
  functionArn: string;
  codeSha256: string;
  /** Alias as it was before this run (the snapshot rollback restores). */
  aliasBefore: AliasState;
  smoke?: SmokeRunResult;
  upload?: UploadResult;
}

export function loadSpec(
  ctx: RunContext<BuildingSettings>,
  steps: StepTimer,
): Promise<SmokeSpec | undefined> {
  const file = ctx.settings.release.smokeTests;
  if (!file) {
    steps.skip('Smoke-test spec', 'no smoke-tests input');
    return Promise.resolve(undefined);
  }
  return steps.run('Smoke-test spec', async () => {
    const spec = await loadSmokeSpec(file);
    ctx.logger.info(`${spec.cases.length} smoke cases in ${file}`);
    return spec;
  });
}

/** Layer and bundle, with the size limits checked before anything is uploaded. */
export async function buildArtifacts(
  ctx: RunContext<BuildingSettings>,
  steps: StepTimer,
): Promise<Built> {
  const { settings, clients, logger, run, workDir } = ctx;
  const b = settings.build;
  if (b.image) return buildImageArtifacts(ctx, steps, b.image);
  const layerOptions = {
    requirementsPath: b.requirements,
    runtime: b.runtime,
    architecture: b.architecture,
    build: b.build,
    buildImage: b.buildImage,
    pipArgs: b.pipArgs,
    slim: b.slim,
    layerName: b.layerName,
    s3Bucket: b.s3Bucket,
    s3Prefix: b.s3Prefix,
    dryRun: settings.dryRun,
    workDir,
  };
  const layerDeps = { lambda: clients.lambda, s3: clients.s3, run, logger, clock: ctx.clock };
  const prepared = await steps.run('Dependency layer: build', () =>
    prepareLayer(layerOptions, layerDeps),
  );
  // Before anything is zipped or uploaded: the bundle and the layer together must fit Lambda's limit.
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
  const modelStore =
    b.modelStore === 's3'
      ? await steps.run('Model store: hash and plan', async () => {
          const planned = await prepareModelStore(bundle.storedModel, {
            modelDest: b.modelDest,
            bucket: b.s3Bucket,
            prefix: b.s3Prefix,
            ephemeralStorage: settings.fn.ephemeralStorage,
          });
          logger.info(
            `${planned.plan.manifest.files.length} model file(s), ${formatBytes(planned.plan.totalBytes)}: manifest ${planned.plan.manifestUri}` +
              (planned.sizedEphemeral
                ? `; ephemeral-storage sized to ${planned.ephemeralMb} MB`
                : ''),
          );
          return planned;
        })
      : undefined;
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
 * Upload, function code and configuration, publish, smoke tests: everything before traffic moves.
 * Returns undefined on a dry run. Throws when the smoke tests fail (nothing served has changed).
 */
export async function publishCandidate(
  ctx: RunContext<BuildingSettings>,
  steps: StepTimer,
  built: Built,
  spec: SmokeSpec | undefined,
  aliasName: string,
): Promise<Candidate | undefined> {
  const { settings, clients, logger } = ctx;
  const fnName = settings.functionName;
  const desired = desiredConfigFrom(
    settings.build,
    settings.fn,
    built.kind === 'zip' ? built.layer.layerVersionArn : undefined,
    settings.coldStart.snapStart,
    built.kind === 'zip' && built.modelStore
      ? {
          variable: MANIFEST_ENV,
          manifestUri: built.modelStore.plan.manifestUri,
          ephemeralMb: built.modelStore.ephemeralMb,
        }
      : undefined,
  );

  const { fn, aliasBefore, plan } = await steps.run('Compare with what is deployed', async () => {
    const fn = await readFunction(clients.lambda, fnName, { logger });
    const mismatch = fn.exists
      ? packageTypeMismatch(fnName, fn.packageType, desired.packageType ?? 'Zip')
      : undefined;
    if (mismatch) throw mismatch;
    const aliasBefore = await readAlias(clients.lambda, fnName, aliasName, { logger }).catch(
      (error: unknown) => {
        if (!fn.exists) {
          const none: AliasState = {
            functionName: fnName,
            alias: aliasName,
            exists: false,
            weights: {},
          };
          return none;
        }
        throw error;
      },
    );
    const served = await servedVersionConfig(ctx, aliasBefore);
    const plan = planChange({
      fn,
      codeSha256: built.codeSha256,
      desired,
      alias: aliasBefore,
      servedVersion: served,
    });
    logger.info(
      `Function: ${fn.exists ? `CodeSha256 ${fn.codeSha256}` : 'does not exist'}; alias '${aliasName}': ${aliasBefore.exists ? `version ${aliasBefore.functionVersion}` : 'none'}; decision: ${describeDecision(plan.decision)}`,
    );
    for (const row of plan.rows)
      logger.info(`  ${row.label}: ${row.before} -> ${row.after}`.replace(/\n/g, ', '));
    return { fn, aliasBefore, plan };
  });
  const decision = plan.decision;
  if (aliasBefore.functionVersion) ctx.result.previousVersion = aliasBefore.functionVersion;
  if (fn.arn) ctx.result.functionArn = fn.arn.replace(/:\$LATEST$/, '');

  if (decision.kind === 'create' && !settings.fn.createFunction) throw missingFunctionError(fnName);

  // Tags and code signing belong to the function, not to a version: synced on every deploy run
  // (a preview for a pull request leaves what the function itself carries alone).
  const functionLevel =
    settings.mode === 'deploy' && fn.exists && (desired.tags || desired.codeSigningConfigArn)
      ? await steps.run('Function tags and code signing', () => syncFunctionLevel(ctx, fn, desired))
      : [];
  reportConfigChanges(ctx.report, [...plan.rows, ...functionLevel], decision.kind === 'create');

  if (settings.dryRun) {
    reportPlan(ctx.report, built, decision, aliasBefore, aliasName);
    ctx.result.changed = decision.kind !== 'unchanged';
    ctx.result.smokeResult = 'skipped';
    return undefined;
  }

  if (decision.kind === 'unchanged') {
    steps.skip(
      'Upload, update and publish',
      `alias '${aliasName}' already serves version ${decision.version} with this bundle, layers and configuration`,
    );
    ctx.result.version = decision.version;
    if (built.kind === 'image') {
      const imageUri = await imageUriFor(ctx, built, false);
      reportPush(ctx.report, imageUri, undefined);
      ctx.result.imageUri = imageUri;
      await rememberDependencies(ctx, built);
    }
    return {
      built,
      decision,
      plan,
      version: decision.version,
      functionArn: fn.arn ?? '',
      codeSha256: built.codeSha256,
      aliasBefore,
    };
  }

  const modelStore = built.kind === 'zip' ? built.modelStore : undefined;
  if (modelStore) {
    // Before the version that pins them exists: a published manifest always has its files.
    await steps.run('Upload model (S3 model store)', () =>
      uploadModelStore(clients.s3, modelStore.plan, {
        bucket: settings.build.s3Bucket,
        workDir: ctx.workDir,
        logger,
        sleep: ctx.clock.sleep,
      }),
    );
  }

  let upload: UploadResult | undefined;
  let code: CodeSource | undefined;
  if (built.kind === 'image') {
    if (decision.kind === 'create' || (decision.kind === 'update' && decision.code)) {
      code = { imageUri: (await shipImage(ctx, steps, built)).imageUri };
    } else {
      const imageUri = await imageUriFor(ctx, built, false);
      steps.skip('Push image', 'the function already runs this image');
      reportPush(ctx.report, imageUri, undefined);
      ctx.result.imageUri = imageUri;
    }
    await rememberDependencies(ctx, built);
  } else if (decision.kind === 'create' || (decision.kind === 'update' && decision.code)) {
    code = { s3Bucket: settings.build.s3Bucket, s3Key: built.bundleKey };
    const zip = built;
    upload = await steps.run('Upload bundle', () =>
      uploadContentAddressed(clients.s3, {
        bucket: settings.build.s3Bucket,
        key: zip.bundleKey,
        file: zip.bundle.path,
        sha256Hex: zip.bundle.sha256Hex,
        logger,
        sleep: ctx.clock.sleep,
      }),
    );
  } else {
    steps.skip('Upload bundle', 'the function already runs this bundle');
  }

  let latestRevision: string | undefined;
  const functionArn = await steps.run(
    decision.kind === 'create' ? 'Create function' : 'Update function',
    async () => {
      if (decision.kind === 'create') {
        const created = await createFunction(
          clients.lambda,
          {
            functionName: fnName,
            role: settings.fn.executionRole ?? '',
            code: code as CodeSource,
            architecture: desired.architecture,
            target: plan.target,
            codeSigningConfigArn: desired.codeSigningConfigArn,
            tags: desired.tags ? tagsForCreate(desired.tags) : undefined,
          },
          { logger },
        );
        latestRevision = created.revisionId;
        return created.arn ?? '';
      }
      // Every write to $LATEST carries the RevisionId of the previous read or answer.
      latestRevision = fn.revisionId;
      if (decision.kind === 'update' && decision.code) {
        const updated = await updateCode(
          clients.lambda,
          fnName,
          code as CodeSource,
          desired.architecture,
          { logger, revisionId: latestRevision, codeSha256: built.codeSha256 },
        );
        const sha = updated.codeSha256;
        if (sha && sha !== built.codeSha256) {
          throw new ActionError(
            `Lambda reports CodeSha256 ${sha} for the new code, but it hashes to ${built.codeSha256} locally.`,
          );
        }
        latestRevision = updated.revisionId;
        logger.info(`Code updated: CodeSha256 ${sha}`);
      }
      // A code update leaves the configuration as it was read above: the plan still holds.
      if (plan.update) {
        logger.info(`Configuration: ${Object.keys(plan.update).join(', ')}`);
        latestRevision = await updateConfiguration(clients.lambda, fnName, plan.update, {
          logger,
          revisionId: latestRevision,
          desired,
        });
      }
      return fn.arn ?? '';
    },
  );
  if (functionArn) ctx.result.functionArn = functionArn.replace(/:\$LATEST$/, '');

  const published = await steps.run('Publish version', async () => {
    const description = [
      `lambda-ml-deploy`,
      ctx.github.sha && `commit ${ctx.github.sha.slice(0, 12)}`,
      built.kind === 'zip'
        ? `bundle ${built.bundle.sha256Hex.slice(0, 16)}`
        : `image ${built.codeSha256.slice(0, 16)}`,
      ctx.github.runUrl,
    ]
      .filter(Boolean)
      .join(' | ');
    const result = await publishVersion(clients.lambda, fnName, built.codeSha256, description, {
      logger,
      ...(latestRevision ? { revisionId: latestRevision } : {}),
    });
    logger.info(`Published version ${result.version}`);
    // What gets smoke-tested and served must be what this run asked for, not a concurrent run's
    // configuration that landed on $LATEST between our update and the publish.
    const publishedConfig = await readFunction(clients.lambda, fnName, { logger }, result.version);
    const diffs = publishedDifferences(publishedConfig, {
      codeSha256: built.codeSha256,
      before: fn,
      desired,
    });
    if (diffs.length > 0) {
      throw new ActionError(
        `Published version ${result.version} of '${fnName}' is not what this run asked for (another run changed $LATEST meanwhile?): ` +
          `${diffs.join('; ')}. It was not smoke-tested and alias '${aliasName}' was not touched; re-run.`,
      );
    }
    return result;
  });
  ctx.result.version = published.version;
  if (desired.snapStart) {
    await steps.run(`SnapStart snapshot of version ${published.version}`, () =>
      waitForVersionActive(clients.lambda, fnName, published.version, {
        clock: ctx.clock,
        logger,
      }),
    );
  }

  const candidate: Candidate = {
    built,
    decision,
    plan,
    version: published.version,
    functionArn: functionArn || published.arn.replace(/:\d+$/, ''),
    codeSha256: published.codeSha256,
    aliasBefore,
    upload,
  };
  if (!spec) {
    steps.skip('Smoke tests', 'no smoke-tests input');
    ctx.result.smokeResult = 'skipped';
    return candidate;
  }
  candidate.smoke = await steps.run(`Smoke tests on version ${published.version}`, () =>
    smokeTestVersion(spec, {
      lambda: clients.lambda,
      functionName: fnName,
      version: published.version,
      logger,
    }),
  );
  await gateColdStart(
    ctx,
    {
      version: candidate.version,
      functionArn: candidate.functionArn,
      servedVersion: aliasBefore.functionVersion,
      smoke: candidate.smoke,
    },
    spec,
  );
  reportSmoke(ctx.report, `Smoke tests on version ${published.version}`, candidate.smoke);
  ctx.result.smokeResult = candidate.smoke.passed ? 'passed' : 'failed';
  return candidate;
}

async function servedVersionConfig(
  ctx: RunContext<BuildingSettings>,
  alias: AliasState,
): Promise<FunctionState | undefined> {
  if (!alias.exists || !alias.functionVersion || Object.keys(alias.weights).length > 0)
    return undefined;
  return readFunction(
    ctx.clients.lambda,
    ctx.settings.functionName,
    { logger: ctx.logger },
    alias.functionVersion,
  );
}

export function describeDecision(decision: ChangeDecision): string {
  switch (decision.kind) {
    case 'create':
      return 'create the function';
    case 'update':
      return `update ${[decision.code && 'code', decision.config && 'configuration'].filter(Boolean).join(' and ')}, publish a version`;
    case 'publish-only':
      return '$LATEST already holds this bundle; publish it';
    case 'unchanged':
      return `nothing changed (version ${decision.version} already serves this bundle)`;
  }
}
