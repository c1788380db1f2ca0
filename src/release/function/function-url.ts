import {
  AddPermissionCommand,
  CreateFunctionUrlConfigCommand,
  DeleteFunctionUrlConfigCommand,
  GetFunctionUrlConfigCommand,
  GetPolicyCommand,
  RemovePermissionCommand,
  UpdateFunctionUrlConfigCommand,
  type Cors,
  type FunctionUrlAuthType,
  type LambdaClient,
} from '@aws-sdk/client-lambda';
import { callAws, isConflict, isNotFound, type AwsCallOptions } from '../../aws/call.js';
import { ActionError, errorMessage } from '../../errors.js';
import { isTransient } from '../../retry.js';
import type { UrlAuth } from '../../settings.js';
import type { UrlCors } from '../../settings-endpoint.js';

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

/** Retry budget, sleep and logger for URL calls (the policy in aws/call.ts). */
export type FunctionUrlCallOptions = AwsCallOptions;

export interface FunctionUrlState {
  url: string;
  authType: UrlAuth;
  /** CORS as Lambda reports it (absent: none). */
  cors?: UrlCors;
}

export interface EnsureUrlResult extends FunctionUrlState {
  /** What this call did to the URL config. */
  action: 'created' | 'updated' | 'unchanged';
  /** Public-access statements added (NONE) or removed (AWS_IAM) by this call. */
  permissionsAdded: string[];
  permissionsRemoved: string[];
}

const alreadyExists = (error: unknown) =>
  isConflict(error) && /already exists|FunctionUrlConfig exists/i.test(errorMessage(error));

/** The URL config on `qualifier`, or undefined when there is none. */
export async function readFunctionUrl(
  lambda: LambdaClient,
  functionName: string,
  qualifier: string,
  options: FunctionUrlCallOptions = {},
): Promise<FunctionUrlState | undefined> {
  try {
    const output = await callAws(
      `GetFunctionUrlConfig ${functionName}:${qualifier}`,
      () =>
        lambda.send(
          new GetFunctionUrlConfigCommand({ FunctionName: functionName, Qualifier: qualifier }),
        ),
      options,
    );
    return urlState(output, 'AWS_IAM');
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

function urlState(
  output: { FunctionUrl?: string; AuthType?: FunctionUrlAuthType; Cors?: Cors },
  fallback: UrlAuth,
): FunctionUrlState {
  const state: FunctionUrlState = {
    url: output.FunctionUrl ?? '',
    authType: output.AuthType ?? fallback,
  };
  if (output.Cors) state.cors = output.Cors;
  return state;
}

/**
 * CORS reduced to what it means: empty lists, a zero max age and credentials off are the same as
 * leaving them out; methods compare upper-case, header names lower-case, lists as sets. Pure.
 */
export function normalizeCors(cors: UrlCors | undefined): UrlCors {
  const result: UrlCors = {};
  if (!cors) return result;
  const list = (values: string[] | undefined, fold: (v: string) => string) =>
    values && values.length > 0 ? [...new Set(values.map(fold))].sort() : undefined;
  const origins = list(cors.AllowOrigins, (v) => v);
  const methods = list(cors.AllowMethods, (v) => v.toUpperCase());
  const headers = list(cors.AllowHeaders, (v) => v.toLowerCase());
  const expose = list(cors.ExposeHeaders, (v) => v.toLowerCase());
  if (origins) result.AllowOrigins = origins;
  if (methods) result.AllowMethods = methods;
  if (headers) result.AllowHeaders = headers;
  if (expose) result.ExposeHeaders = expose;
  if (cors.MaxAge) result.MaxAge = cors.MaxAge;
  if (cors.AllowCredentials) result.AllowCredentials = true;
  return result;
}

/** Whether two CORS configurations mean the same. Pure. */
export function sameCors(a: UrlCors | undefined, b: UrlCors | undefined): boolean {
  return JSON.stringify(normalizeCors(a)) === JSON.stringify(normalizeCors(b));
}

/** What differs between a URL config and the desired one (none: nothing to write). Pure. */
export function urlChanges(
  current: FunctionUrlState,
  desired: { authType: UrlAuth; cors?: UrlCors },
): string[] {
  const changes: string[] = [];
  if (current.authType !== desired.authType)
    changes.push(`AuthType ${current.authType} -> ${desired.authType}`);
  if (desired.cors !== undefined && !sameCors(current.cors, desired.cors)) changes.push('Cors');
  return changes;
}

/**
 * Makes sure `qualifier` has a function URL with `authType` (and `cors`, when given: undefined
 * leaves the URL's CORS as it is, `{}` means none): creates it, updates what differs, or leaves
 * it; then adds (NONE) the public-access statements, or removes them when a public URL goes back
 * to AWS_IAM. Idempotent: an unchanged configuration is read and nothing is written.
 */
export async function ensureFunctionUrl(
  lambda: LambdaClient,
  request: { functionName: string; qualifier: string; authType: UrlAuth; cors?: UrlCors },
  options: FunctionUrlCallOptions = {},
): Promise<EnsureUrlResult> {
  const { functionName, qualifier, authType, cors } = request;
  const hasCors = cors !== undefined && Object.keys(normalizeCors(cors)).length > 0;
  const where = `${functionName}:${qualifier}`;
  try {
    const current = await readFunctionUrl(lambda, functionName, qualifier, options);
    let state: FunctionUrlState;
    let action: EnsureUrlResult['action'];
    if (!current) {
      const created = await callAws(
        `CreateFunctionUrlConfig ${where}`,
        async () => {
          try {
            return await lambda.send(
              new CreateFunctionUrlConfigCommand({
                FunctionName: functionName,
                Qualifier: qualifier,
                AuthType: authType,
                ...(hasCors ? { Cors: normalizeCors(cors) } : {}),
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
                  ...(existing.cors ? { Cors: existing.cors } : {}),
                };
            }
            throw error;
          }
        },
        options,
      );
      state = urlState(created, authType);
      action = 'created';
      if (urlChanges(state, { authType, ...(cors ? { cors } : {}) }).length > 0) {
        state = await updateUrl(lambda, functionName, qualifier, { authType, cors }, options);
        action = 'updated';
      }
    } else if (urlChanges(current, { authType, ...(cors ? { cors } : {}) }).length > 0) {
      state = await updateUrl(lambda, functionName, qualifier, { authType, cors }, options);
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

async function updateUrl(
  lambda: LambdaClient,
  functionName: string,
  qualifier: string,
  desired: { authType: UrlAuth; cors: UrlCors | undefined },
  options: FunctionUrlCallOptions,
): Promise<FunctionUrlState> {
  const { authType, cors } = desired;
  const output = await callAws(
    `UpdateFunctionUrlConfig ${functionName}:${qualifier}`,
    () =>
      lambda.send(
        new UpdateFunctionUrlConfigCommand({
          FunctionName: functionName,
          Qualifier: qualifier,
          AuthType: authType,
          ...(cors !== undefined ? { Cors: normalizeCors(cors) } : {}),
        }),
      ),
    options,
  );
  return urlState(output, authType);
}

/** Statement ids on the qualifier's resource policy (none when it has no policy). */
export async function policyStatementIds(
  lambda: LambdaClient,
  functionName: string,
  qualifier: string,
  options: FunctionUrlCallOptions = {},
): Promise<Set<string>> {
  try {
    const output = await callAws(
      `GetPolicy ${functionName}:${qualifier}`,
      () => lambda.send(new GetPolicyCommand({ FunctionName: functionName, Qualifier: qualifier })),
      options,
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
      await callAws(
        `AddPermission ${functionName}:${qualifier}`,
        () =>
          lambda.send(
            new AddPermissionCommand({
              FunctionName: functionName,
              Qualifier: qualifier,
              Principal: '*',
              ...statement,
            }),
          ),
        { ...options, isRetryable: (error) => !alreadyExists(error) && isTransient(error) },
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
      await callAws(
        `RemovePermission ${functionName}:${qualifier}`,
        () =>
          lambda.send(
            new RemovePermissionCommand({
              FunctionName: functionName,
              Qualifier: qualifier,
              StatementId: sid,
            }),
          ),
        options,
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
        await callAws(
          `DeleteFunctionUrlConfig ${where}`,
          () =>
            lambda.send(
              new DeleteFunctionUrlConfigCommand({
                FunctionName: functionName,
                Qualifier: qualifier,
              }),
            ),
          options,
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
