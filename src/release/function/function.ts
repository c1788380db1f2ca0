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
  type Runtime,
} from '@aws-sdk/client-lambda';
import { ActionError, errorCode, errorMessage } from '../../errors.js';
import type { Logger } from '../../log.js';
import { isAmbiguous, isTransient, withRetry, type Sleep } from '../../retry.js';
import { snapStartApplyOn } from './snap-start.js';

/** The parts of a function's configuration this action manages. */
export interface FunctionState {
  exists: boolean;
  arn?: string;
  codeSha256?: string;
  layers: string[];
  runtime?: string;
  handler?: string;
  architecture?: string;
  memorySize?: number;
  timeout?: number;
  environment: Record<string, string>;
  description?: string;
  revisionId?: string;
  /** SnapStart.ApplyOn: 'PublishedVersions' or 'None'. */
  snapStart?: string;
}

/** What this run wants the function to look like (undefined: leave as it is). */
export interface DesiredConfig {
  runtime: string;
  handler: string;
  architecture: string;
  /** Our dependency layer (replaces a previous version of the same layer); undefined: no layer. */
  layerArn?: string;
  layerName: string;
  memorySize?: number;
  timeout?: number;
  /** Merged into the function's variables (given keys win; others kept). */
  environment?: Record<string, string>;
  description?: string;
  /** SnapStart on published versions; undefined: leave as it is. */
  snapStart?: boolean;
}

export interface FunctionCallOptions {
  sleep?: Sleep;
  logger?: Logger;
  /** Longest wait for a function to become Active / finish an update (default 10 min). */
  waitSeconds?: number;
}

const retry = (what: string, options: FunctionCallOptions) => ({
  attempts: 6,
  baseDelayMs: 1000,
  isRetryable: isTransient,
  ...(options.sleep ? { sleep: options.sleep } : {}),
  onRetry: (error: unknown, attempt: number, delay: number) =>
    options.logger?.info(
      `${what}: ${errorCode(error) ?? errorMessage(error)}; retry ${attempt} in ${delay} ms`,
    ),
});

export function toFunctionState(config: FunctionConfiguration): FunctionState {
  return {
    exists: true,
    arn: config.FunctionArn,
    codeSha256: config.CodeSha256,
    layers: (config.Layers ?? []).map((l) => l.Arn ?? '').filter(Boolean),
    runtime: config.Runtime,
    handler: config.Handler,
    architecture: config.Architectures?.[0] ?? 'x86_64',
    memorySize: config.MemorySize,
    timeout: config.Timeout,
    environment: { ...(config.Environment?.Variables ?? {}) },
    description: config.Description,
    revisionId: config.RevisionId,
    snapStart: config.SnapStart?.ApplyOn ?? 'None',
  };
}

export async function readFunction(
  lambda: LambdaClient,
  name: string,
  options: FunctionCallOptions = {},
  qualifier?: string,
): Promise<FunctionState> {
  try {
    const config = await withRetry(
      () =>
        lambda.send(
          new GetFunctionConfigurationCommand({ FunctionName: name, Qualifier: qualifier }),
        ),
      retry('GetFunctionConfiguration', options),
    );
    return toFunctionState(config);
  } catch (error) {
    if (errorCode(error) === 'ResourceNotFoundException')
      return { exists: false, layers: [], environment: {} };
    throw new ActionError(`Could not read function '${name}': ${errorMessage(error)}`);
  }
}

/** Layers after this run: ours replaced (any version of `layerName`), everyone else's kept in order. */
export function desiredLayers(
  current: readonly string[],
  layerName: string,
  layerArn: string | undefined,
): string[] {
  const ours = (arn: string) => arn.split(':')[6] === layerName;
  const others = current.filter((arn) => !ours(arn));
  return layerArn ? [...others, layerArn] : others;
}

/** The UpdateFunctionConfiguration input for what differs; undefined when nothing does. Pure. */
export function configChanges(
  current: FunctionState,
  desired: DesiredConfig,
): Record<string, unknown> | undefined {
  const changes: Record<string, unknown> = {};
  const layers = desiredLayers(current.layers, desired.layerName, desired.layerArn);
  if (layers.join('\n') !== current.layers.join('\n')) changes.Layers = layers;
  if (desired.runtime !== current.runtime) changes.Runtime = desired.runtime;
  if (desired.handler !== current.handler) changes.Handler = desired.handler;
  if (desired.memorySize !== undefined && desired.memorySize !== current.memorySize)
    changes.MemorySize = desired.memorySize;
  if (desired.timeout !== undefined && desired.timeout !== current.timeout)
    changes.Timeout = desired.timeout;
  if (desired.description !== undefined && desired.description !== current.description)
    changes.Description = desired.description;
  if (desired.environment) {
    const merged = { ...current.environment, ...desired.environment };
    const same =
      Object.keys(merged).length === Object.keys(current.environment).length &&
      Object.entries(merged).every(([k, v]) => current.environment[k] === v);
    if (!same) changes.Environment = { Variables: merged };
  }
  if (desired.snapStart !== undefined) {
    const applyOn = snapStartApplyOn(desired.snapStart);
    if (applyOn !== (current.snapStart ?? 'None')) changes.SnapStart = { ApplyOn: applyOn };
  }
  return Object.keys(changes).length > 0 ? changes : undefined;
}

export function missingFunctionError(name: string): ActionError {
  return new ActionError(
    `Function '${name}' does not exist. Create it first (console, CLI or IaC), or set \`create-function: true\` ` +
      'with `execution-role` to let this action create it.',
  );
}

export interface CreateRequest extends DesiredConfig {
  functionName: string;
  role: string;
  s3Bucket: string;
  s3Key: string;
}

export async function createFunction(
  lambda: LambdaClient,
  request: CreateRequest,
  options: FunctionCallOptions = {},
): Promise<FunctionState> {
  const config = await withRetry(
    () =>
      lambda.send(
        new CreateFunctionCommand({
          FunctionName: request.functionName,
          Role: request.role,
          Runtime: request.runtime as Runtime,
          Handler: request.handler,
          Architectures: [request.architecture as Architecture],
          Code: { S3Bucket: request.s3Bucket, S3Key: request.s3Key },
          Layers: request.layerArn ? [request.layerArn] : undefined,
          MemorySize: request.memorySize,
          Timeout: request.timeout,
          Environment: request.environment ? { Variables: request.environment } : undefined,
          Description: request.description,
          SnapStart: request.snapStart ? { ApplyOn: 'PublishedVersions' } : undefined,
          Publish: false,
        }),
      ),
    // A role created moments ago is not yet assumable by Lambda: InvalidParameterValueException says so.
    {
      ...retry('CreateFunction', options),
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
  return withRetry(
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
    retry(what, options),
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
  s3Bucket: string,
  s3Key: string,
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
          S3Bucket: s3Bucket,
          S3Key: s3Key,
          Publish: false,
          ...(options.revisionId ? { RevisionId: options.revisionId } : {}),
        }),
      ),
    (now) => options.codeSha256 !== undefined && now.CodeSha256 === options.codeSha256,
    options,
  ).catch((error: unknown) => {
    if (error instanceof FunctionConflictError) throw error;
    throw new ActionError(
      `Could not update the code of '${name}' from s3://${s3Bucket}/${s3Key}: ${errorMessage(error)}`,
    );
  });
  const after = await waitForUpdate(lambda, name, 'the code update', options);
  return { codeSha256: response.CodeSha256, revisionId: after?.RevisionId ?? response.RevisionId };
}

/** Updates $LATEST's configuration; returns the RevisionId once the update is done. */
export async function updateConfiguration(
  lambda: LambdaClient,
  name: string,
  changes: Record<string, unknown>,
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
      configChanges(toFunctionState(now), options.desired) === undefined,
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
  return withRetry(() => lambda.send(new GetFunctionConfigurationCommand({ FunctionName: name })));
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
 * How a published version differs from what this run asked for: code, layers, environment,
 * memory, timeout, handler, runtime, architecture. Empty when it is exactly that. Pure.
 */
export function publishedDifferences(
  published: FunctionState,
  expected: { codeSha256: string; before: FunctionState; desired: DesiredConfig },
): string[] {
  const { before, desired } = expected;
  const diffs: string[] = [];
  const check = (what: string, want: unknown, got: unknown) => {
    if (want === undefined) return; // not managed by this run: whatever it is stays
    if (JSON.stringify(want) !== JSON.stringify(got))
      diffs.push(`${what}: expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
  };
  check('code (CodeSha256)', expected.codeSha256, published.codeSha256);
  const layers = before.exists
    ? desiredLayers(before.layers, desired.layerName, desired.layerArn)
    : desired.layerArn
      ? [desired.layerArn]
      : [];
  check('layers', layers, published.layers);
  const env = before.exists
    ? { ...before.environment, ...(desired.environment ?? {}) }
    : { ...(desired.environment ?? {}) };
  const sorted = (o: Record<string, string>) => Object.fromEntries(Object.entries(o).sort());
  check('environment', sorted(env), sorted(published.environment));
  check('memory', desired.memorySize ?? before.memorySize, published.memorySize);
  check('timeout', desired.timeout ?? before.timeout, published.timeout);
  check('handler', desired.handler, published.handler);
  check('runtime', desired.runtime, published.runtime);
  check('architecture', desired.architecture, published.architecture);
  return diffs;
}
