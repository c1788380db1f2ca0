import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity } from '@smithy/types';

export interface AwsClients {
  sts: STSClient;
  s3: S3Client;
  lambda: LambdaClient;
  cloudwatch: CloudWatchClient;
}

export interface ClientOptions {
  region: string;
  /** Explicit credentials (from OIDC); undefined: the SDK's default chain. */
  credentials?: AwsCredentialIdentity;
  /** Custom endpoint (AWS_ENDPOINT_URL), e.g. a local emulator. */
  endpoint?: string;
  userAgent?: string;
}

export const USER_AGENT = 'lambda-ml-deploy';

/** The one place clients are constructed: same region, retry mode, user agent and endpoint for all. */
export function createAwsClients(options: ClientOptions): AwsClients {
  const common = {
    region: options.region,
    credentials: options.credentials,
    endpoint: options.endpoint,
    retryMode: 'adaptive',
    maxAttempts: 4,
    customUserAgent: options.userAgent ?? USER_AGENT,
  };
  return {
    sts: new STSClient(common),
    // Path-style addressing works with every endpoint, custom ones included.
    s3: new S3Client({ ...common, forcePathStyle: options.endpoint !== undefined }),
    lambda: new LambdaClient(common),
    cloudwatch: new CloudWatchClient(common),
  };
}

export function destroyAwsClients(clients: AwsClients): void {
  for (const client of Object.values(clients) as { destroy(): void }[]) client.destroy();
}
