import { ActionError } from '../errors.js';
import type { Built } from '../packaging/built.js';
import { uploadModelStore } from '../packaging/model-store.js';
import { uploadContentAddressed, type UploadResult } from '../packaging/upload.js';
import type { ChangeDecision, ChangePlan } from '../release/function/change.js';
import type { SmokeRunResult } from '../release/smoke/smoke-run.js';
import type { AliasState } from '../release/traffic/alias-plan.js';
import type { DesiredConfig } from '../release/function/desired-config.js';
import {
  createFunction,
  publishVersion,
  publishedDifferences,
  readFunction,
  updateCode,
  updateConfiguration,
  type CodeSource,
  type FunctionState,
} from '../release/function/function.js';
import { tagsForCreate } from '../release/function/tags.js';
import { smokeTestVersion } from '../release/smoke/smoke.js';
import type { SmokeSpec } from '../release/smoke/smoke-spec.js';
import { reportPush } from '../report/build-report.js';
import { reportSmoke } from '../report/smoke-table.js';
import type { DeploySettings, PreviewModeSettings } from '../settings.js';
import { gateColdStart } from './cold-start.js';
import type { RunContext } from './context.js';
import { imageUriFor, rememberDependencies, shipImage } from './image-steps.js';
import type { StepTimer } from './steps.js';

/** The steps of publishCandidate (candidate.ts), in the order it runs them. */

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

type BuildingSettings = DeploySettings | PreviewModeSettings;
type Changing = Exclude<ChangeDecision, { kind: 'unchanged' }>;

/**
 * Puts the code where Lambda reads it: the model store's files first (a published manifest always
 * has them), then the image pushed or the bundle uploaded, when the function's code changes.
 */
export async function shipCode(
  ctx: RunContext<BuildingSettings>,
  steps: StepTimer,
  built: Built,
  decision: Changing,
): Promise<{ code?: CodeSource; upload?: UploadResult }> {
  const { settings, clients, logger } = ctx;
  const newCode = decision.kind === 'create' || (decision.kind === 'update' && decision.code);
  if (built.kind === 'image') {
    let code: CodeSource | undefined;
    if (newCode) {
      code = { imageUri: (await shipImage(ctx, steps, built)).imageUri };
    } else {
      const imageUri = await imageUriFor(ctx, built, false);
      steps.skip('Push image', 'the function already runs this image');
      reportPush(ctx.report, imageUri, undefined);
      ctx.result.imageUri = imageUri;
    }
    await rememberDependencies(ctx, built);
    return { code };
  }
  const modelStore = built.modelStore;
  if (modelStore) {
    await steps.run('Upload model (S3 model store)', () =>
      uploadModelStore(clients.s3, modelStore.plan, {
        bucket: settings.build.s3Bucket,
        workDir: ctx.workDir,
        logger,
        sleep: ctx.clock.sleep,
      }),
    );
  }
  if (!newCode) {
    steps.skip('Upload bundle', 'the function already runs this bundle');
    return {};
  }
  const upload = await steps.run('Upload bundle', () =>
    uploadContentAddressed(clients.s3, {
      bucket: settings.build.s3Bucket,
      key: built.bundleKey,
      file: built.bundle.path,
      sha256Hex: built.bundle.sha256Hex,
      logger,
      sleep: ctx.clock.sleep,
    }),
  );
  return { code: { s3Bucket: settings.build.s3Bucket, s3Key: built.bundleKey }, upload };
}

export interface LatestChange {
  built: Built;
  fn: FunctionState;
  desired: DesiredConfig;
  plan: ChangePlan;
  code?: CodeSource;
}

/**
 * Creates the function, or updates $LATEST's code and configuration where the plan says. Every
 * write carries the RevisionId of the previous read or answer; returns the last one.
 */
export async function applyToLatest(
  ctx: RunContext<BuildingSettings>,
  change: LatestChange,
): Promise<{ functionArn: string; revisionId?: string }> {
  const { settings, clients, logger } = ctx;
  const { built, fn, desired, plan } = change;
  const fnName = settings.functionName;
  const decision = plan.decision;
  if (decision.kind === 'create') {
    const created = await createFunction(
      clients.lambda,
      {
        functionName: fnName,
        role: settings.fn.executionRole ?? '',
        code: change.code as CodeSource,
        architecture: desired.architecture,
        target: plan.target,
        codeSigningConfigArn: desired.codeSigningConfigArn,
        tags: desired.tags ? tagsForCreate(desired.tags) : undefined,
      },
      { logger },
    );
    return { functionArn: created.arn ?? '', revisionId: created.revisionId };
  }
  let revisionId = fn.revisionId;
  if (decision.kind === 'update' && decision.code) {
    const updated = await updateCode(
      clients.lambda,
      fnName,
      change.code as CodeSource,
      desired.architecture,
      {
        logger,
        revisionId,
        codeSha256: built.codeSha256,
      },
    );
    const sha = updated.codeSha256;
    if (sha && sha !== built.codeSha256) {
      throw new ActionError(
        `Lambda reports CodeSha256 ${sha} for the new code, but it hashes to ${built.codeSha256} locally.`,
      );
    }
    revisionId = updated.revisionId;
    logger.info(`Code updated: CodeSha256 ${sha}`);
  }
  // A code update leaves the configuration as it was read before: the plan still holds.
  if (plan.update) {
    logger.info(`Configuration: ${Object.keys(plan.update).join(', ')}`);
    revisionId = await updateConfiguration(clients.lambda, fnName, plan.update, {
      logger,
      revisionId,
      desired,
    });
  }
  return { functionArn: fn.arn ?? '', revisionId };
}

/**
 * Publishes $LATEST (guarded by CodeSha256 and the revision), then checks the published
 * version's configuration is what this run asked for, not a concurrent run's that landed on
 * $LATEST between our update and the publish.
 */
export async function publishChecked(
  ctx: RunContext<BuildingSettings>,
  args: {
    built: Built;
    fn: FunctionState;
    desired: DesiredConfig;
    aliasName: string;
    revisionId?: string;
  },
): Promise<{ version: string; arn: string; codeSha256: string }> {
  const { clients, logger } = ctx;
  const { built } = args;
  const fnName = ctx.settings.functionName;
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
  const published = await publishVersion(clients.lambda, fnName, built.codeSha256, description, {
    logger,
    ...(args.revisionId ? { revisionId: args.revisionId } : {}),
  });
  logger.info(`Published version ${published.version}`);
  const publishedConfig = await readFunction(clients.lambda, fnName, { logger }, published.version);
  const diffs = publishedDifferences(publishedConfig, {
    codeSha256: built.codeSha256,
    before: args.fn,
    desired: args.desired,
  });
  if (diffs.length > 0) {
    throw new ActionError(
      `Published version ${published.version} of '${fnName}' is not what this run asked for (another run changed $LATEST meanwhile?): ` +
        `${diffs.join('; ')}. It was not smoke-tested and alias '${args.aliasName}' was not touched; re-run.`,
    );
  }
  return published;
}

/** The smoke cases on the new version's number, then its cold start against the budgets. */
export async function smokeCandidate(
  ctx: RunContext<BuildingSettings>,
  steps: StepTimer,
  candidate: Candidate,
  spec: SmokeSpec | undefined,
): Promise<Candidate> {
  const { version } = candidate;
  if (!spec) {
    steps.skip('Smoke tests', 'no smoke-tests input');
    ctx.result.smokeResult = 'skipped';
    return candidate;
  }
  const smoke = await steps.run(`Smoke tests on version ${version}`, () =>
    smokeTestVersion(spec, {
      lambda: ctx.clients.lambda,
      functionName: ctx.settings.functionName,
      version,
      logger: ctx.logger,
    }),
  );
  await gateColdStart(
    ctx,
    {
      version,
      functionArn: candidate.functionArn,
      servedVersion: candidate.aliasBefore.functionVersion,
      smoke,
    },
    spec,
  );
  reportSmoke(ctx.report, `Smoke tests on version ${version}`, smoke);
  ctx.result.smokeResult = smoke.passed ? 'passed' : 'failed';
  return { ...candidate, smoke };
}
