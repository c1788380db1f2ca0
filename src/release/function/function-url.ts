import {
  AddPermissionCommand,
  CreateFunctionUrlConfigCommand,
  DeleteFunctionUrlConfigCommand,
  GetFunctionUrlConfigCommand,
  GetPolicyCommand,
  RemovePermissionCommand,
  UpdateFunctionUrlConfigCommand,
  type FunctionUrlAuthType,
  type LambdaClient,
} from '@aws-sdk/client-lambda';
import { ActionError, errorCode, errorMessage } from '../../errors.js';
import type { Logger } from '../../log.js';
import { isTransient, withRetry, type Sleep } from '../../retry.js';
import type { UrlAuth } from '../../settings.js';

/**
 * A function URL on one qualifier (a preview alias). With AuthType NONE the URL is public, which
 * on Lambda takes two resource-policy statements on that qualifier: lambda:InvokeFunctionUrl
 * (FunctionUrlAuthType NONE) and, since October 2025, lambda:InvokeFunction limited to calls made
 * through the URL. Both carry fixed statement ids, so adding them again is a no-op, and they are
 * removed when the URL goes back to AWS_IAM or is deleted.
 */

/** Statement ids this action owns on a preview qualifier's resource policy. */
export const PUBLIC_URL_STATEMENTS = {
  invokeUrl: 'lambda-ml-deploy-url-public',
  invokeFunction: 'lambda-ml-deploy-url-invoke',
} as const;

export interface FunctionUrlCallOptions {
  /** Attempts in total for throttling / 5xx / conflicts (default 6). */
  attempts?: number;
  baseDelayMs?: number;
  sleep?: Sleep;
  logger?: Logger;
}

export interface FunctionUrlState {
  url: string;
  authType: UrlAuth;
}

export interface EnsureUrlResult extends FunctionUrlState {
  /** What this call did to the URL config. */
  action: 'created' | 'updated' | 'unchanged';
  /** Public-access statements added (NONE) or removed (AWS_IAM) by this call. */
  permissionsAdded: string[];
  permissionsRemoved: string[];
}

const isNotFound = (error: unknown) => errorCode(error) === 'ResourceNotFoundException';
const alreadyExists = (error: unknown) =>
  (errorCode(error) === 'ResourceConflictException' || errorCode(error) === 'ConflictException') &&
  /already exists|FunctionUrlConfig exists/i.test(errorMessage(error));

function retryOptions(
  what: string,
  options: FunctionUrlCallOptions,
  retryable: (error: unknown) => boolean = isTransient,
) {
  return {
    attempts: options.attempts ?? 6,
    baseDelayMs: options.baseDelayMs ?? 1000,
    isRetryable: retryable,
    ...(options.sleep ? { sleep: options.sleep } : {}),
    onRetry: (error: unknown, attempt: number, delay: number) =>
      options.logger?.info(
        `${what}: ${errorCode(error) ?? errorMessage(error)}, retry ${attempt} in ${delay} ms`,
      ),
  };
}

/** The URL config on `qualifier`, or undefined when there is none. */
export async function readFunctionUrl(
  lambda: LambdaClient,
  functionName: string,
  qualifier: string,
  options: FunctionUrlCallOptions = {},
): Promise<FunctionUrlState | undefined> {
  try {
    const output = await withRetry(
      () =>
        lambda.send(
          new GetFunctionUrlConfigCommand({ FunctionName: functionName, Qualifier: qualifier }),
        ),
      retryOptions(`GetFunctionUrlConfig ${functionName}:${qualifier}`, options),
    );
    return { url: output.FunctionUrl ?? '', authType: output.AuthType ?? 'AWS_IAM' };
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/**
 * Makes sure `qualifier` has a function URL with `authType`: creates it, updates its auth type, or
 * leaves it; then adds (NONE) the public-access statements, or removes them when a public URL goes
 * back to AWS_IAM. Idempotent.
 */
export async function ensureFunctionUrl(
  lambda: LambdaClient,
  request: { functionName: string; qualifier: string; authType: UrlAuth },
  options: FunctionUrlCallOptions = {},
): Promise<EnsureUrlResult> {
  const { functionName, qualifier, authType } = request;
  const where = `${functionName}:${qualifier}`;
  try {
    const current = await readFunctionUrl(lambda, functionName, qualifier, options);
    let state: FunctionUrlState;
    let action: EnsureUrlResult['action'];
    if (!current) {
      const created = await withRetry(
        async () => {
          try {
            return await lambda.send(
              new CreateFunctionUrlConfigCommand({
                FunctionName: functionName,
                Qualifier: qualifier,
                AuthType: authType,
              }),
            );
          } catch (error) {
            // Created by an earlier attempt (or a concurrent run) in the meantime: read it instead.
            if (alreadyExists(error)) {
              const existing = await readFunctionUrl(lambda, functionName, qualifier, options);
              if (existing)
                return {
                  FunctionUrl: existing.url,
                  AuthType: existing.authType,
                };
            }
            throw error;
          }
        },
        retryOptions(`CreateFunctionUrlConfig ${where}`, options),
      );
      state = {
        url: created.FunctionUrl ?? '',
        authType: created.AuthType ?? authType,
      };
      action = 'created';
      if (state.authType !== authType) {
        state = await updateAuth(lambda, functionName, qualifier, authType, options);
        action = 'updated';
      }
    } else if (current.authType !== authType) {
      state = await updateAuth(lambda, functionName, qualifier, authType, options);
      action = 'updated';
    } else {
      state = current;
      action = 'unchanged';
    }
    // The policy is only read when the URL is (or was) public, so AWS_IAM previews need no lambda:GetPolicy.
    const wasPublic = current?.authType === 'NONE';
    const permissions =
      authType === 'NONE'
        ? {
            permissionsAdded: await addPublicPermissions(lambda, functionName, qualifier, options),
            permissionsRemoved: [],
          }
        : {
            permissionsAdded: [],
            permissionsRemoved: wasPublic
              ? await removePublicPermissions(lambda, functionName, qualifier, options)
              : [],
          };
    return { ...state, action, ...permissions };
  } catch (error) {
    if (error instanceof ActionError) throw error;
    throw new ActionError(
      `Could not set up the function URL of '${where}' (AuthType ${authType}): ${errorMessage(error)}`,
    );
  }
}

async function updateAuth(
  lambda: LambdaClient,
  functionName: string,
  qualifier: string,
  authType: UrlAuth,
  options: FunctionUrlCallOptions,
): Promise<FunctionUrlState> {
  const output = await withRetry(
    () =>
      lambda.send(
        new UpdateFunctionUrlConfigCommand({
          FunctionName: functionName,
          Qualifier: qualifier,
          AuthType: authType,
        }),
      ),
    retryOptions(`UpdateFunctionUrlConfig ${functionName}:${qualifier}`, options),
  );
  return { url: output.FunctionUrl ?? '', authType: output.AuthType ?? authType };
}

/** Statement ids on the qualifier's resource policy (none when it has no policy). */
export async function policyStatementIds(
  lambda: LambdaClient,
  functionName: string,
  qualifier: string,
  options: FunctionUrlCallOptions = {},
): Promise<Set<string>> {
  try {
    const output = await withRetry(
      () => lambda.send(new GetPolicyCommand({ FunctionName: functionName, Qualifier: qualifier })),
      retryOptions(`GetPolicy ${functionName}:${qualifier}`, options),
    );
    return statementIds(output.Policy);
  } catch (error) {
    if (isNotFound(error)) return new Set();
    throw error;
  }
}

/** The Sid of every statement of a policy document. Pure; unreadable JSON gives none. */
export function statementIds(policy: string | undefined): Set<string> {
  if (!policy) return new Set();
  try {
    const parsed = JSON.parse(policy) as {
      Statement?: Array<{ Sid?: unknown }> | { Sid?: unknown };
    };
    const statements = Array.isArray(parsed.Statement)
      ? parsed.Statement
      : parsed.Statement
        ? [parsed.Statement]
        : [];
    return new Set(
      statements.map((s) => s.Sid).filter((sid): sid is string => typeof sid === 'string'),
    );
  } catch {
    return new Set();
  }
}

async function addPublicPermissions(
  lambda: LambdaClient,
  functionName: string,
  qualifier: string,
  options: FunctionUrlCallOptions,
): Promise<string[]> {
  const present = await policyStatementIds(lambda, functionName, qualifier, options);
  const added: string[] = [];
  const statements = [
    {
      StatementId: PUBLIC_URL_STATEMENTS.invokeUrl,
      Action: 'lambda:InvokeFunctionUrl',
      FunctionUrlAuthType: 'NONE' as FunctionUrlAuthType,
    },
    {
      StatementId: PUBLIC_URL_STATEMENTS.invokeFunction,
      Action: 'lambda:InvokeFunction',
      InvokedViaFunctionUrl: true,
    },
  ];
  for (const statement of statements) {
    if (present.has(statement.StatementId)) continue;
    try {
      await withRetry(
        () =>
          lambda.send(
            new AddPermissionCommand({
              FunctionName: functionName,
              Qualifier: qualifier,
              Principal: '*',
              ...statement,
            }),
          ),
        retryOptions(
          `AddPermission ${functionName}:${qualifier}`,
          options,
          (error) => !alreadyExists(error) && isTransient(error),
        ),
      );
      added.push(statement.StatementId);
    } catch (error) {
      if (!alreadyExists(error)) throw error;
    }
  }
  return added;
}

async function removePublicPermissions(
  lambda: LambdaClient,
  functionName: string,
  qualifier: string,
  options: FunctionUrlCallOptions,
): Promise<string[]> {
  const present = await policyStatementIds(lambda, functionName, qualifier, options);
  const removed: string[] = [];
  for (const sid of Object.values(PUBLIC_URL_STATEMENTS)) {
    if (!present.has(sid)) continue;
    try {
      await withRetry(
        () =>
          lambda.send(
            new RemovePermissionCommand({
              FunctionName: functionName,
              Qualifier: qualifier,
              StatementId: sid,
            }),
          ),
        retryOptions(`RemovePermission ${functionName}:${qualifier}`, options),
      );
      removed.push(sid);
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }
  return removed;
}

/**
 * Deletes the qualifier's function URL and, when it was public, this action's public-access
 * statements. A URL, a qualifier or a statement that is already gone is fine.
 */
export async function deleteFunctionUrl(
  lambda: LambdaClient,
  functionName: string,
  qualifier: string,
  options: FunctionUrlCallOptions = {},
): Promise<{ deleted: boolean; url?: string; permissionsRemoved: string[] }> {
  const where = `${functionName}:${qualifier}`;
  try {
    const current = await readFunctionUrl(lambda, functionName, qualifier, options);
    if (current) {
      try {
        await withRetry(
          () =>
            lambda.send(
              new DeleteFunctionUrlConfigCommand({
                FunctionName: functionName,
                Qualifier: qualifier,
              }),
            ),
          retryOptions(`DeleteFunctionUrlConfig ${where}`, options),
        );
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    }
    const permissionsRemoved =
      current?.authType === 'NONE'
        ? await removePublicPermissions(lambda, functionName, qualifier, options).catch(
            (error: unknown) => {
              if (isNotFound(error)) return [];
              throw error;
            },
          )
        : [];
    return {
      deleted: current !== undefined,
      ...(current ? { url: current.url } : {}),
      permissionsRemoved,
    };
  } catch (error) {
    throw new ActionError(
      `Could not delete the function URL of '${where}': ${errorMessage(error)}`,
    );
  }
}
