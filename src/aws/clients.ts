import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';

export interface AwsClients {
  sts: STSClient;
  s3: S3Client;
  lambda: LambdaClient;
  cloudwatch: CloudWatchClient;
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

/** The one place clients are constructed: same region, retry mode, user agent and endpoint for all. */
export function createAwsClients(options: ClientOptions): AwsClients {
  const common = {
    region: options.region,
    credentials: options.credentials,
    endpoint: options.endpoint,
    customUserAgent: options.userAgent ?? USER_AGENT,
  };
  // One retry layer for Lambda and CloudWatch: the action's (retry.ts), which re-reads after an
  // unanswered write. SDK retries inside it would re-send a guarded write whose answer was lost
  // (turning it into a conflict) and multiply the requests of one call. S3 (multipart upload of
  // content-addressed keys, HEAD) and STS still rely on the SDK's own retries.
  const single = { ...common, maxAttempts: 1 };
  const sdkRetries = { ...common, retryMode: 'adaptive', maxAttempts: 4 };
  return {
    sts: new STSClient(sdkRetries),
    // Path-style addressing works with every endpoint, custom ones included.
    s3: new S3Client({ ...sdkRetries, forcePathStyle: options.endpoint !== undefined }),
    lambda: new LambdaClient(single),
    cloudwatch: new CloudWatchClient(single),
  };
}

export function destroyAwsClients(clients: AwsClients): void {
  for (const client of Object.values(clients) as { destroy(): void }[]) client.destroy();
}
