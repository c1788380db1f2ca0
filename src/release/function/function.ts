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
import type { Logger } from '../../log.js';
import { isTransient, withRetry, type Sleep } from '../../retry.js';
import { createConfigurationInput, type UpdateInput } from './config-diff.js';
import {
  MISSING_FUNCTION,
  toFunctionState,
  type FunctionConfig,
  type FunctionState,
} from './function-state.js';

export { MISSING_FUNCTION, toFunctionState, type FunctionState } from './function-state.js';

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
    if (errorCode(error) === 'ResourceNotFoundException') return MISSING_FUNCTION;
    throw new ActionError(`Could not read function '${name}': ${errorMessage(error)}`);
  }
}

export function missingFunctionError(name: string): ActionError {
  return new ActionError(
    `Function '${name}' does not exist. Create it first (console, CLI or IaC), or set \`create-function: true\` ` +
      'with `execution-role` to let this action create it.',
  );
}

export interface CreateRequest {
  functionName: string;
  role: string;
  s3Bucket: string;
  s3Key: string;
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
  const config = await withRetry(
    () =>
      lambda.send(
        new CreateFunctionCommand({
          ...createConfigurationInput(request.target),
          FunctionName: request.functionName,
          Role: request.role,
          Architectures: [request.architecture as Architecture],
          Code: { S3Bucket: request.s3Bucket, S3Key: request.s3Key },
          CodeSigningConfigArn: request.codeSigningConfigArn,
          Tags: request.tags && Object.keys(request.tags).length > 0 ? request.tags : undefined,
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

export async function updateCode(
  lambda: LambdaClient,
  name: string,
  s3Bucket: string,
  s3Key: string,
  architecture: string,
  options: FunctionCallOptions = {},
): Promise<string | undefined> {
  const response = await withRetry(
    () =>
      lambda.send(
        new UpdateFunctionCodeCommand({
          FunctionName: name,
          S3Bucket: s3Bucket,
          S3Key: s3Key,
          // Code and architecture change together: an arm64 bundle never runs as x86_64.
          Architectures: [architecture as Architecture],
          Publish: false,
        }),
      ),
    retry('UpdateFunctionCode', options),
  ).catch((error: unknown) => {
    throw new ActionError(
      `Could not update the code of '${name}' from s3://${s3Bucket}/${s3Key}: ${errorMessage(error)}`,
    );
  });
  await waitForUpdate(lambda, name, 'the code update', options);
  return response.CodeSha256;
}

export async function updateConfiguration(
  lambda: LambdaClient,
  name: string,
  changes: UpdateInput,
  options: FunctionCallOptions = {},
): Promise<void> {
  await withRetry(
    () => lambda.send(new UpdateFunctionConfigurationCommand({ FunctionName: name, ...changes })),
    retry('UpdateFunctionConfiguration', options),
  ).catch((error: unknown) => {
    throw new ActionError(
      `Could not update the configuration of '${name}' (${Object.keys(changes).join(', ')}): ${errorMessage(error)}`,
    );
  });
  await waitForUpdate(lambda, name, 'the configuration update', options);
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
  options: FunctionCallOptions = {},
): Promise<{ version: string; arn: string; codeSha256: string }> {
  const response = await withRetry(
    () =>
      lambda.send(
        new PublishVersionCommand({
          FunctionName: name,
          CodeSha256: codeSha256,
          Description: description.slice(0, 256),
        }),
      ),
    retry('PublishVersion', options),
  ).catch((error: unknown) => {
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
): Promise<void> {
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
