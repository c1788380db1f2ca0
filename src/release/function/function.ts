import {
  CreateFunctionCommand,
  GetFunctionConfigurationCommand,
  PublishVersionCommand,
  UpdateFunctionCodeCommand,
  UpdateFunctionConfigurationCommand,
  waitUntilFunctionActiveV2,
  waitUntilFunctionUpdatedV2,
  type Architecture,
  type FunctionConfiguration,
  type LambdaClient,
} from '@aws-sdk/client-lambda';
import { ActionError, errorCode, errorMessage } from '../../errors.js';
import { isAmbiguous, isTransient } from '../../retry.js';
import { callAws, isNotFound, type AwsCallOptions } from '../../aws/call.js';
import {
  createConfigurationInput,
  diffConfig,
  resolveTarget,
  type UpdateInput,
} from './config-diff.js';
import type { DesiredConfig } from './desired-config.js';
import {
  MISSING_FUNCTION,
  toFunctionState,
  type FunctionConfig,
  type FunctionState,
} from './function-state.js';

export { MISSING_FUNCTION, toFunctionState, type FunctionState } from './function-state.js';

export interface FunctionCallOptions extends AwsCallOptions {
  /** Longest wait for a function to become Active / finish an update (default 10 min). */
  waitSeconds?: number;
}

export async function readFunction(
  lambda: LambdaClient,
  name: string,
  options: FunctionCallOptions = {},
  qualifier?: string,
): Promise<FunctionState> {
  try {
    const config = await callAws(
      'GetFunctionConfiguration',
      () =>
        lambda.send(
          new GetFunctionConfigurationCommand({ FunctionName: name, Qualifier: qualifier }),
        ),
      options,
    );
    return toFunctionState(config);
  } catch (error) {
    if (isNotFound(error)) return MISSING_FUNCTION;
    throw new ActionError(`Could not read function '${name}': ${errorMessage(error)}`);
  }
}

export function missingFunctionError(name: string): ActionError {
  return new ActionError(
    `Function '${name}' does not exist. Create it first (console, CLI or IaC), or set \`create-function: true\` ` +
      'with `execution-role` to let this action create it.',
  );
}

/** Where a function's code comes from: a zip in S3, or a container image pinned by digest. */
export type CodeSource = { s3Bucket: string; s3Key: string } | { imageUri: string };

function codeInput(code: CodeSource) {
  return 'imageUri' in code
    ? { ImageUri: code.imageUri }
    : { S3Bucket: code.s3Bucket, S3Key: code.s3Key };
}

const describeCode = (code: CodeSource) =>
  'imageUri' in code ? code.imageUri : `s3://${code.s3Bucket}/${code.s3Key}`;

export interface CreateRequest {
  functionName: string;
  role: string;
  code: CodeSource;
  architecture: string;
  /** The whole target configuration (config-diff.ts resolveTarget against no function). */
  target: FunctionConfig;
  codeSigningConfigArn?: string;
  /** Tags as they should be on the new function, the managed-keys record included. */
  tags?: Record<string, string>;
}

export async function createFunction(
  lambda: LambdaClient,
  request: CreateRequest,
  options: FunctionCallOptions = {},
): Promise<FunctionState> {
  const config = await callAws(
    'CreateFunction',
    () =>
      lambda.send(
        new CreateFunctionCommand({
          ...createConfigurationInput(request.target),
          FunctionName: request.functionName,
          Role: request.role,
          Architectures: [request.architecture as Architecture],
          Code: codeInput(request.code),
          ...('imageUri' in request.code ? { PackageType: 'Image' as const } : {}),
          CodeSigningConfigArn: request.codeSigningConfigArn,
          Tags: request.tags && Object.keys(request.tags).length > 0 ? request.tags : undefined,
          Publish: false,
        }),
      ),
    // A role created moments ago is not yet assumable by Lambda: InvalidParameterValueException says so.
    {
      ...options,
      isRetryable: (error: unknown) =>
        isTransient(error) || /cannot be assumed by Lambda/i.test(errorMessage(error)),
    },
  ).catch((error: unknown) => {
    throw new ActionError(
      `Could not create function '${request.functionName}': ${errorMessage(error)}`,
    );
  });
  await waitFor(
    'the new function to become Active',
    request.functionName,
    options,
    (params) => waitUntilFunctionActiveV2(params, { FunctionName: request.functionName }),
    lambda,
  );
  return toFunctionState(config);
}

/** $LATEST changed under this run (its RevisionId moved): another deploy or preview wrote it. */
export class FunctionConflictError extends ActionError {
  override name = 'FunctionConflictError';
  constructor(name: string, what: string) {
    super(
      `Function '${name}' was changed by someone else while this run was ${what} (its RevisionId moved): ` +
        'another deploy or preview of the same function ran at the same time. Nothing was published from it; re-run.',
    );
  }
}

const isPreconditionFailed = (error: unknown) => errorCode(error) === 'PreconditionFailedException';

/**
 * A write to $LATEST guarded by the RevisionId this run last saw. After an unanswered attempt
 * (5xx, lost connection) $LATEST is read back: `landed` says whether it already is as asked
 * (success); still at our revision, the write is sent again; otherwise it is a conflict. A 412
 * is a conflict, unless it follows an unanswered attempt that did land.
 */
async function guardedWrite<T>(
  lambda: LambdaClient,
  name: string,
  what: string,
  revisionId: string | undefined,
  send: () => Promise<T>,
  landed: (now: FunctionConfiguration) => boolean,
  options: FunctionCallOptions,
): Promise<T | FunctionConfiguration> {
  let unanswered = false;
  const decide = async (): Promise<FunctionConfiguration | 'resend'> => {
    const now = await readFunctionRaw(lambda, name);
    if (landed(now)) return now;
    if (revisionId === undefined || now.RevisionId === revisionId) return 'resend';
    throw new FunctionConflictError(name, what);
  };
  return callAws<T | FunctionConfiguration>(
    what,
    async () => {
      try {
        return await send();
      } catch (error) {
        if (isAmbiguous(error)) {
          unanswered = true;
          const decision = await decide();
          if (decision !== 'resend') return decision;
          throw error;
        }
        if (isPreconditionFailed(error)) {
          if (unanswered) {
            const decision = await decide();
            if (decision !== 'resend') return decision;
          }
          throw new FunctionConflictError(name, what);
        }
        throw error;
      }
    },
    options,
  );
}

export interface WriteOptions extends FunctionCallOptions {
  /** The RevisionId of $LATEST this run last read or was answered; the write fails if it moved. */
  revisionId?: string;
}

/** Updates $LATEST's code; returns the new CodeSha256 and the RevisionId once the update is done. */
export async function updateCode(
  lambda: LambdaClient,
  name: string,
  code: CodeSource,
  architecture: string,
  options: WriteOptions & { codeSha256?: string } = {},
): Promise<{ codeSha256?: string; revisionId?: string }> {
  const response = await guardedWrite(
    lambda,
    name,
    'updating its code',
    options.revisionId,
    () =>
      lambda.send(
        new UpdateFunctionCodeCommand({
          FunctionName: name,
          ...codeInput(code),
          // Code and architecture change together: an arm64 bundle never runs as x86_64.
          Architectures: [architecture as Architecture],
          Publish: false,
          ...(options.revisionId ? { RevisionId: options.revisionId } : {}),
        }),
      ),
    (now) => options.codeSha256 !== undefined && now.CodeSha256 === options.codeSha256,
    options,
  ).catch((error: unknown) => {
    if (error instanceof FunctionConflictError) throw error;
    throw new ActionError(
      `Could not update the code of '${name}' from ${describeCode(code)}: ${errorMessage(error)}`,
    );
  });
  const after = await waitForUpdate(lambda, name, 'the code update', options);
  return { codeSha256: response.CodeSha256, revisionId: after?.RevisionId ?? response.RevisionId };
}

/** Updates $LATEST's configuration; returns the RevisionId once the update is done. */
export async function updateConfiguration(
  lambda: LambdaClient,
  name: string,
  changes: UpdateInput,
  options: WriteOptions & { desired?: DesiredConfig } = {},
): Promise<string | undefined> {
  const response = await guardedWrite(
    lambda,
    name,
    'updating its configuration',
    options.revisionId,
    () =>
      lambda.send(
        new UpdateFunctionConfigurationCommand({
          FunctionName: name,
          ...changes,
          ...(options.revisionId ? { RevisionId: options.revisionId } : {}),
        }),
      ),
    (now) =>
      options.desired !== undefined &&
      now.LastUpdateStatus !== 'Failed' &&
      satisfies(toFunctionState(now), options.desired),
    options,
  ).catch((error: unknown) => {
    if (error instanceof FunctionConflictError) throw error;
    throw new ActionError(
      `Could not update the configuration of '${name}' (${Object.keys(changes).join(', ')}): ${errorMessage(error)}`,
    );
  });
  const after = await waitForUpdate(lambda, name, 'the configuration update', options);
  return after?.RevisionId ?? response.RevisionId;
}

/**
 * Publishes $LATEST. The CodeSha256 guard makes Lambda refuse if someone else changed the code
 * between our update and this call, so the version we smoke-test is the bundle we built.
 */
export async function publishVersion(
  lambda: LambdaClient,
  name: string,
  codeSha256: string,
  description: string,
  options: WriteOptions = {},
): Promise<{ version: string; arn: string; codeSha256: string }> {
  // Publishing $LATEST again when nothing changed returns the version already published, so an
  // unanswered attempt is simply sent again (never `landed`); a 412 after it is a conflict.
  const response = await guardedWrite(
    lambda,
    name,
    'publishing',
    options.revisionId,
    () =>
      lambda.send(
        new PublishVersionCommand({
          FunctionName: name,
          CodeSha256: codeSha256,
          Description: description.slice(0, 256),
          ...(options.revisionId ? { RevisionId: options.revisionId } : {}),
        }),
      ),
    () => false,
    options,
  ).catch((error: unknown) => {
    if (error instanceof FunctionConflictError) throw error;
    if (
      errorCode(error) === 'InvalidParameterValueException' &&
      /CodeSha256/i.test(errorMessage(error))
    ) {
      throw new ActionError(
        `Function '${name}' changed while this run was publishing (CodeSha256 no longer matches the bundle): another deploy ran at the same time. Re-run.`,
      );
    }
    throw new ActionError(`Could not publish a version of '${name}': ${errorMessage(error)}`);
  });
  if (!response.Version || response.Version === '$LATEST')
    throw new ActionError(`PublishVersion of '${name}' returned no version number.`);
  if (response.CodeSha256 && response.CodeSha256 !== codeSha256) {
    throw new ActionError(
      `Published version ${response.Version} of '${name}' has CodeSha256 ${response.CodeSha256}, not the bundle's ${codeSha256}.`,
    );
  }
  return {
    version: response.Version,
    arn: response.FunctionArn ?? '',
    codeSha256: response.CodeSha256 ?? codeSha256,
  };
}

async function waitForUpdate(
  lambda: LambdaClient,
  name: string,
  what: string,
  options: FunctionCallOptions,
): Promise<FunctionConfiguration | undefined> {
  let waitError: { error: unknown } | undefined;
  try {
    await waitFor(
      what,
      name,
      options,
      (params) => waitUntilFunctionUpdatedV2(params, { FunctionName: name }),
      lambda,
    );
  } catch (error) {
    waitError = { error };
  }
  const after = await readFunctionRaw(lambda, name).catch(() => undefined);
  if (after?.LastUpdateStatus === 'Failed') {
    throw new ActionError(
      `Lambda reports ${what} of '${name}' failed: ${after.LastUpdateStatusReasonCode ?? ''} ${after.LastUpdateStatusReason ?? ''}`.trim(),
    );
  }
  if (waitError) throw waitError.error;
  return after;
}

async function readFunctionRaw(lambda: LambdaClient, name: string): Promise<FunctionConfiguration> {
  return callAws('GetFunctionConfiguration', () =>
    lambda.send(new GetFunctionConfigurationCommand({ FunctionName: name })),
  );
}

type Waiter = (params: {
  client: LambdaClient;
  maxWaitTime: number;
  minDelay?: number;
  maxDelay?: number;
}) => Promise<{ state: string; reason?: unknown }>;

async function waitFor(
  what: string,
  name: string,
  options: FunctionCallOptions,
  waiter: Waiter,
  lambda: LambdaClient,
): Promise<void> {
  const maxWaitTime = options.waitSeconds ?? 600;
  try {
    const result = await waiter({ client: lambda, maxWaitTime, minDelay: 1, maxDelay: 5 });
    if (result.state !== 'SUCCESS') throw new Error(`waiter ended in state ${result.state}`);
  } catch (error) {
    const detail = errorMessage(error);
    if (/timeout|TimeoutError|exceeded/i.test(detail)) {
      throw new ActionError(`Timed out after ${maxWaitTime} s waiting for ${what} of '${name}'.`);
    }
    throw new ActionError(`Waiting for ${what} of '${name}' failed: ${detail.slice(0, 500)}`);
  }
}

/**
 * How a published version differs from what this run asked for: code, and every versioned setting
 * of the target (config-diff.ts). Empty when it is exactly that. Pure.
 */
/** Whether a configuration already is what `desired` asks for (nothing left to update). Pure. */
function satisfies(now: FunctionState, desired: DesiredConfig): boolean {
  return diffConfig(now, resolveTarget(now, desired)).length === 0;
}

export function publishedDifferences(
  published: FunctionState,
  expected: { codeSha256: string; before: FunctionState; desired: DesiredConfig },
): string[] {
  const target = resolveTarget(
    expected.before.exists ? expected.before : MISSING_FUNCTION,
    expected.desired,
  );
  const diffs: string[] = [];
  if (published.codeSha256 !== expected.codeSha256)
    diffs.push(
      `code (CodeSha256): expected "${expected.codeSha256}", got "${published.codeSha256}"`,
    );
  for (const change of diffConfig(published, target, 'version'))
    diffs.push(`${change.label}: expected "${change.after}", got "${change.before}"`);
  return diffs;
}
