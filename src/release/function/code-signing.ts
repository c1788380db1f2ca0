import {
  GetFunctionCodeSigningConfigCommand,
  PutFunctionCodeSigningConfigCommand,
  type LambdaClient,
} from '@aws-sdk/client-lambda';
import { ActionError, errorMessage } from '../../errors.js';
import { callAws } from '../../aws/call.js';
import type { Sleep } from '../../retry.js';

/**
 * The code signing configuration belongs to the function, not to a version: it is read and put
 * beside the configuration, before the code update it then governs.
 */
export async function readCodeSigningConfig(
  lambda: LambdaClient,
  functionName: string,
  sleep?: Sleep,
): Promise<string | undefined> {
  const response = await callAws(
    'GetFunctionCodeSigningConfig',
    () => lambda.send(new GetFunctionCodeSigningConfigCommand({ FunctionName: functionName })),
    { sleep },
  ).catch((error: unknown) => {
    throw new ActionError(
      `Could not read the code signing configuration of '${functionName}': ${errorMessage(error)}`,
    );
  });
  return response.CodeSigningConfigArn || undefined;
}

export async function putCodeSigningConfig(
  lambda: LambdaClient,
  functionName: string,
  arn: string,
  sleep?: Sleep,
): Promise<void> {
  await callAws(
    'PutFunctionCodeSigningConfig',
    () =>
      lambda.send(
        new PutFunctionCodeSigningConfigCommand({
          FunctionName: functionName,
          CodeSigningConfigArn: arn,
        }),
      ),
    { sleep },
  ).catch((error: unknown) => {
    throw new ActionError(
      `Could not set code signing configuration ${arn} on '${functionName}': ${errorMessage(error)}`,
    );
  });
}
