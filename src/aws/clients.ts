import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { ECRClient } from '@aws-sdk/client-ecr';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';

export interface AwsClients {
  sts: STSClient;
  s3: S3Client;
  lambda: LambdaClient;
  cloudwatch: CloudWatchClient;
  ecr: ECRClient;
}

export interface ClientOptions {
  region: string;
  /** Explicit credentials (from OIDC); undefined: the SDK's default chain. */
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** Custom endpoint (AWS_ENDPOINT_URL), e.g. a local emulator. */
  endpoint?: string;
  userAgent?: string;
}

export const USER_AGENT = 'lambda-ml-deploy';

/**
 * The one place clients are constructed: same region, user agent and endpoint for all. Each SDK
 * call is a single attempt: retries are the action's own (callAws in call.ts), so one call is
 * never a hidden burst of requests and an ambiguous write is seen by the code that can re-read.
 */
export function createAwsClients(options: ClientOptions): AwsClients {
  const common = {
    region: options.region,
    credentials: options.credentials,
    endpoint: options.endpoint,
    maxAttempts: 1,
    customUserAgent: options.userAgent ?? USER_AGENT,
  };
  return {
    sts: new STSClient(common),
    // Path-style addressing works with every endpoint, custom ones included.
    s3: new S3Client({ ...common, forcePathStyle: options.endpoint !== undefined }),
    lambda: new LambdaClient(common),
    cloudwatch: new CloudWatchClient(common),
    ecr: new ECRClient(common),
  };
}

export function destroyAwsClients(clients: AwsClients): void {
  for (const client of Object.values(clients) as { destroy(): void }[]) client.destroy();
}

/**
 * AssumeRoleWithWebIdentity needs no credentials. Each call gets its own short-lived client, so
 * a refresh hours into a bake does not depend on a client that was closed after the first one.
 */
export function oneShotSts(region: string, endpoint: string | undefined): Pick<STSClient, 'send'> {
  const send = async (command: Parameters<STSClient['send']>[0]) => {
    const client = new STSClient({ region, endpoint, maxAttempts: 1, customUserAgent: USER_AGENT });
    try {
      return await client.send(command);
    } finally {
      client.destroy();
    }
  };
  return { send } as Pick<STSClient, 'send'>;
}
