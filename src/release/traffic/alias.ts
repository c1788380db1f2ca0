import {
  CreateAliasCommand,
  DeleteAliasCommand,
  GetAliasCommand,
  UpdateAliasCommand,
  type AliasConfiguration,
  type LambdaClient,
} from '@aws-sdk/client-lambda';
import { ActionError, errorCode, errorMessage } from '../../errors.js';
import type { Logger } from '../../log.js';
import { isAmbiguous, isTransient, withRetry, type Sleep } from '../../retry.js';
import {
  describeAliasState,
  isRestored,
  restoreTarget,
  routesAs,
  servesVersion,
  type AliasSnapshot,
  type AliasState,
} from './alias-plan.js';

/**
 * Another run (or a person) changed the alias since this run read it. Never retried: the other
 * writer's change must not be overwritten silently.
 */
export class AliasConflictError extends ActionError {
  override name = 'AliasConflictError';
  constructor(
    readonly functionName: string,
    readonly alias: string,
    detail: string,
  ) {
    super(
      `Alias '${alias}' of function '${functionName}' was changed by someone else (another deploy running at the same time?): ${detail}. ` +
        `This run did not overwrite it; check the alias and re-run.`,
    );
  }
}

export interface AliasCallOptions {
  /** Attempts in total for throttling / 5xx / ResourceConflictException (default 6). */
  attempts?: number;
  baseDelayMs?: number;
  sleep?: Sleep;
  logger?: Logger;
}

function retryOptions(what: string, options: AliasCallOptions) {
  return {
    attempts: options.attempts ?? 6,
    baseDelayMs: options.baseDelayMs ?? 1000,
    isRetryable: (error: unknown) => !(error instanceof AliasConflictError) && isTransient(error),
    ...(options.sleep ? { sleep: options.sleep } : {}),
    onRetry: (error: unknown, attempt: number, delay: number) =>
      options.logger?.info(
        `${what}: ${errorCode(error) ?? errorMessage(error)}, retry ${attempt} in ${delay} ms`,
      ),
  };
}

function toState(functionName: string, alias: string, config: AliasConfiguration): AliasState {
  const state: AliasState = {
    functionName,
    alias,
    exists: true,
    weights: { ...(config.RoutingConfig?.AdditionalVersionWeights ?? {}) },
  };
  if (config.FunctionVersion !== undefined) state.functionVersion = config.FunctionVersion;
  if (config.RevisionId !== undefined) state.revisionId = config.RevisionId;
  if (config.Description !== undefined) state.description = config.Description;
  if (config.AliasArn !== undefined) state.aliasArn = config.AliasArn;
  return state;
}

function stateToConfig(now: AliasState): AliasConfiguration {
  return {
    FunctionVersion: now.functionVersion,
    RoutingConfig: { AdditionalVersionWeights: now.weights },
    RevisionId: now.revisionId,
    Description: now.description,
    AliasArn: now.aliasArn,
  };
}

const isNotFound = (error: unknown) => errorCode(error) === 'ResourceNotFoundException';
const isFunctionMissing = (error: unknown) =>
  isNotFound(error) && /function not found/i.test(errorMessage(error));

/** Reads an alias; a missing alias is `{exists: false}`, a missing function an error. */
export async function readAlias(
  lambda: LambdaClient,
  functionName: string,
  alias: string,
  options: AliasCallOptions = {},
): Promise<AliasState> {
  try {
    const output = await withRetry(
      () => lambda.send(new GetAliasCommand({ FunctionName: functionName, Name: alias })),
      retryOptions(`GetAlias ${functionName}:${alias}`, options),
    );
    return toState(functionName, alias, output);
  } catch (error) {
    if (isFunctionMissing(error)) {
      throw new ActionError(
        `Function '${functionName}' does not exist (reading alias '${alias}'): ${errorMessage(error)}`,
      );
    }
    if (isNotFound(error)) return { functionName, alias, exists: false, weights: {} };
    throw error;
  }
}

export interface CreateAliasRequest {
  functionName: string;
  alias: string;
  version: string;
  weights?: Record<string, number>;
  description?: string;
}

/** Creates an alias. "Already exists" means another run created it first: AliasConflictError. */
export async function createAlias(
  lambda: LambdaClient,
  request: CreateAliasRequest,
  options: AliasCallOptions = {},
): Promise<AliasState> {
  const { functionName, alias } = request;
  const weights = request.weights ?? {};
  const description = request.description ?? '';
  // After an unanswered attempt the alias is read back: it may have been created by that attempt.
  let unanswered = false;
  const landed = async (): Promise<AliasConfiguration | undefined> => {
    const now = await readAlias(lambda, functionName, alias, options);
    if (!now.exists) return undefined;
    if (
      routesAs(now, { version: request.version, weights }) &&
      (now.description ?? '') === description
    )
      return stateToConfig(now);
    throw new AliasConflictError(
      functionName,
      alias,
      `it did not exist when this run started, but has been created since (it reads '${describeAliasState(now)}')`,
    );
  };
  const output = await withRetry(
    async () => {
      try {
        return await lambda.send(
          new CreateAliasCommand({
            FunctionName: functionName,
            Name: alias,
            FunctionVersion: request.version,
            Description: request.description ?? '',
            ...(request.weights && Object.keys(request.weights).length > 0
              ? { RoutingConfig: { AdditionalVersionWeights: request.weights } }
              : {}),
          }),
        );
      } catch (error) {
        const code = errorCode(error);
        if (isAmbiguous(error)) {
          unanswered = true;
          const done = await landed();
          if (done) return done;
          throw error;
        }
        if (
          (code === 'ResourceConflictException' || code === 'ConflictException') &&
          /already exists/i.test(errorMessage(error))
        ) {
          if (unanswered) {
            const done = await landed();
            if (done) return done;
          }
          throw new AliasConflictError(
            functionName,
            alias,
            'it did not exist when this run started, but has been created since',
          );
        }
        throw error;
      }
    },
    retryOptions(`CreateAlias ${functionName}:${alias}`, options),
  );
  return toState(functionName, alias, output);
}

export interface PointAliasRequest {
  functionName: string;
  alias: string;
  /** Primary version (FunctionVersion). */
  version: string;
  /** AdditionalVersionWeights: version -> share (0..1). Absent or {}: routing cleared. */
  weights?: Record<string, number>;
  /** The RevisionId read just before; the update fails rather than overwrite another change. */
  revisionId: string;
  description?: string;
}

/**
 * UpdateAlias guarded by RevisionId. RoutingConfig is always sent (an empty map clears it).
 * PreconditionFailedException -> AliasConflictError (not retried); throttling and
 * ResourceConflictException are retried with backoff. After an unanswered attempt (5xx, lost
 * connection) the alias is read back: routed as asked -> the write landed, success; still at our
 * revision -> sent again; anything else -> someone else changed it, AliasConflictError.
 */
export async function pointAlias(
  lambda: LambdaClient,
  request: PointAliasRequest,
  options: AliasCallOptions = {},
): Promise<AliasState> {
  const { functionName, alias, version, revisionId } = request;
  if (!revisionId)
    throw new Error(
      `pointAlias(${functionName}:${alias}) needs the RevisionId read just before the update`,
    );
  const weights = request.weights ?? {};
  const sameDescription = (now: AliasState) =>
    request.description === undefined || (now.description ?? '') === request.description;
  // After an unanswered attempt the alias is read back: the attempt may have landed.
  let unanswered = false;
  const decide = async (): Promise<AliasConfiguration | 'resend'> => {
    const now = await readAlias(lambda, functionName, alias, options);
    if (routesAs(now, { version, weights }) && sameDescription(now)) return stateToConfig(now);
    if (now.exists && now.revisionId === revisionId) return 'resend';
    throw new AliasConflictError(
      functionName,
      alias,
      `its revision is no longer ${revisionId} and it reads '${describeAliasState(now)}', not what this run asked for`,
    );
  };
  const output = await withRetry(
    async () => {
      try {
        return await lambda.send(
          new UpdateAliasCommand({
            FunctionName: functionName,
            Name: alias,
            FunctionVersion: version,
            RoutingConfig: { AdditionalVersionWeights: weights },
            RevisionId: revisionId,
            ...(request.description !== undefined ? { Description: request.description } : {}),
          }),
        );
      } catch (error) {
        if (isAmbiguous(error)) {
          unanswered = true;
          const decision = await decide();
          if (decision !== 'resend') return decision;
          throw error;
        }
        if (errorCode(error) !== 'PreconditionFailedException') throw error;
        if (unanswered) {
          const decision = await decide();
          if (decision !== 'resend') return decision;
        }
        throw new AliasConflictError(
          functionName,
          alias,
          `its revision is no longer ${revisionId}`,
        );
      }
    },
    retryOptions(`UpdateAlias ${functionName}:${alias}`, options),
  );
  return toState(functionName, alias, output);
}

/** Deletes an alias (retried); an alias that is already gone is fine. */
export async function deleteAlias(
  lambda: LambdaClient,
  functionName: string,
  alias: string,
  options: AliasCallOptions = {},
): Promise<void> {
  try {
    await withRetry(
      () => lambda.send(new DeleteAliasCommand({ FunctionName: functionName, Name: alias })),
      retryOptions(`DeleteAlias ${functionName}:${alias}`, options),
    );
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
}

export interface RestoreOptions extends AliasCallOptions {
  /**
   * The version this run deployed. When given, the alias is only touched if it still routes as
   * the snapshot did or serves this version; otherwise another run moved it and this one backs off.
   */
  ownVersion?: string;
}

export interface RestoreResult {
  action: 'unchanged' | 'restored' | 'deleted';
  before: AliasState;
  after: AliasState;
}

/**
 * Puts an alias back as the snapshot had it: its version with RoutingConfig cleared and its
 * description; or deletes it when it did not exist before the run (first deploy). Guarded by the
 * revision read just before.
 */
export async function restoreAlias(
  lambda: LambdaClient,
  snapshot: AliasSnapshot,
  options: RestoreOptions = {},
): Promise<RestoreResult> {
  const { functionName, alias } = snapshot;
  const before = await readAlias(lambda, functionName, alias, options);
  if (isRestored(before, snapshot)) return { action: 'unchanged', before, after: before };

  const untouched =
    snapshot.exists && before.exists && snapshot.functionVersion !== undefined
      ? routesAs(before, { version: snapshot.functionVersion, weights: snapshot.weights })
      : false;
  if (
    options.ownVersion !== undefined &&
    !untouched &&
    !servesVersion(before, options.ownVersion)
  ) {
    throw new AliasConflictError(
      functionName,
      alias,
      `it now reads '${describeAliasState(before)}', which is neither how it was before this run ('${describeAliasState(snapshot)}') nor version ${options.ownVersion} of this run; not restoring`,
    );
  }

  const target = restoreTarget(snapshot);
  if (target.action === 'delete') {
    await deleteAlias(lambda, functionName, alias, options);
    return {
      action: 'deleted',
      before,
      after: { functionName, alias, exists: false, weights: {} },
    };
  }
  if (!before.exists) {
    const after = await createAlias(
      lambda,
      { functionName, alias, version: target.version, description: target.description },
      options,
    );
    return { action: 'restored', before, after };
  }
  const after = await pointAlias(
    lambda,
    {
      functionName,
      alias,
      version: target.version,
      weights: {},
      revisionId: before.revisionId ?? '',
      description: target.description,
    },
    options,
  );
  return { action: 'restored', before, after };
}
