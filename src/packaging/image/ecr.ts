import {
  CreateRepositoryCommand,
  DescribeRepositoriesCommand,
  GetAuthorizationTokenCommand,
  type ECRClient,
} from '@aws-sdk/client-ecr';
import { callAws, type AwsCallOptions } from '../../aws/call.js';
import { ActionError, errorCode, errorMessage } from '../../errors.js';
import type { Logger } from '../../log.js';

/** The ECR side of an image push: the repository (created when allowed) and a registry login. */

export interface EcrRepository {
  name: string;
  /** <account>.dkr.ecr.<region>.amazonaws.com/<name>: what the function's ImageUri starts with. */
  uri: string;
  created: boolean;
}

export interface EcrLogin {
  /** Where the registry API is reached (the override, or the endpoint ECR names). */
  endpoint: string;
  /** `AWS:<token>` for Basic auth; a secret. */
  basic: string;
}

/** The repository, or undefined when it does not exist. */
export async function findRepository(
  ecr: ECRClient,
  name: string,
  options: AwsCallOptions,
): Promise<EcrRepository | undefined> {
  try {
    const found = await callAws(
      'DescribeRepositories',
      () => ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [name] })),
      options,
    );
    const uri = found.repositories?.[0]?.repositoryUri;
    if (!uri) throw new ActionError(`ECR answered DescribeRepositories for ${name} without a URI.`);
    return { name, uri, created: false };
  } catch (error) {
    if (errorCode(error) === 'RepositoryNotFoundException') return undefined;
    if (error instanceof ActionError) throw error;
    throw new ActionError(`Could not read ECR repository '${name}': ${errorMessage(error)}`);
  }
}

export async function ensureRepository(
  ecr: ECRClient,
  name: string,
  create: boolean,
  options: AwsCallOptions & { logger: Logger },
): Promise<EcrRepository> {
  const found = await findRepository(ecr, name, options);
  if (found) return found;
  if (!create)
    throw new ActionError(
      `ECR repository '${name}' does not exist (ecr-repository) and create-repository is false: ` +
        'create it first, or set create-repository: true.',
    );
  const created = await callAws(
    'CreateRepository',
    () =>
      ecr.send(
        new CreateRepositoryCommand({
          repositoryName: name,
          // Tags are content hashes and the function pins a digest: a tag never needs to move.
          imageTagMutability: 'IMMUTABLE',
          imageScanningConfiguration: { scanOnPush: false },
        }),
      ),
    options,
  ).catch((error: unknown) => {
    if (errorCode(error) === 'RepositoryAlreadyExistsException') return undefined;
    throw new ActionError(`Could not create ECR repository '${name}': ${errorMessage(error)}`);
  });
  if (!created) return ensureRepository(ecr, name, false, options);
  const uri = created.repository?.repositoryUri ?? '';
  options.logger.info(`Created ECR repository ${uri}.`);
  return { name, uri, created: true };
}

/** A Basic credential for the registry from GetAuthorizationToken. */
export async function loginToRegistry(
  ecr: ECRClient,
  override: string | undefined,
  options: AwsCallOptions,
): Promise<EcrLogin> {
  const answer = await callAws(
    'GetAuthorizationToken',
    () => ecr.send(new GetAuthorizationTokenCommand({})),
    options,
  ).catch((error: unknown) => {
    throw new ActionError(
      `Could not get an ECR authorization token (ecr:GetAuthorizationToken): ${errorMessage(error)}`,
    );
  });
  const data = answer.authorizationData?.[0];
  if (!data?.authorizationToken || !data.proxyEndpoint)
    throw new ActionError('ECR returned no authorization token.');
  return {
    endpoint: override ?? data.proxyEndpoint,
    basic: Buffer.from(data.authorizationToken, 'base64').toString('utf8'),
  };
}
