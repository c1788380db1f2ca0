import { AssumeRoleWithWebIdentityCommand, type STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { ActionError, errorCode, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { isTransient, withRetry, type Sleep } from '../retry.js';
import type { AuthSettings } from '../settings.js';

export interface CredentialDeps {
  /** core.getIDToken: the GitHub OIDC token for an audience. */
  getIDToken(audience: string): Promise<string>;
  /** core.setSecret: masks a value in every later log line. */
  setSecret(value: string): void;
  /** An STS client for the region (no credentials needed for AssumeRoleWithWebIdentity). */
  sts: Pick<STSClient, 'send'>;
  env: NodeJS.ProcessEnv;
  logger: Logger;
  sleep?: Sleep;
  /** Milliseconds since the epoch (Date.now outside tests), to tell when credentials expire. */
  now?: () => number;
  /** Where getIDToken reads the token: GitHub's OIDC endpoint (default) or a token file (CLI). */
  tokenFile?: string;
}

export interface ResolvedCredentials {
  /** undefined: the SDK's ambient chain (env, profile, instance role). */
  credentials?: AwsCredentialIdentity;
  /**
   * The credentials for the clients: the assumed role's, assumed again with a fresh GitHub OIDC
   * token shortly before they expire, so a bake longer than role-duration-seconds keeps working.
   */
  provider?: AwsCredentialIdentityProvider;
  source: 'oidc' | 'ambient';
}

/** Credentials this close to their expiry are refreshed before use. */
export const REFRESH_MARGIN_MS = 5 * 60_000;

/**
 * A provider that returns `first` until it is within REFRESH_MARGIN_MS of its expiration, then
 * calls `refresh` (once, however many requests ask at the same time) and returns the new ones.
 */
export function refreshingProvider(
  first: AwsCredentialIdentity,
  refresh: () => Promise<AwsCredentialIdentity>,
  now: () => number,
  logger: Logger,
): AwsCredentialIdentityProvider {
  let current = first;
  let pending: Promise<AwsCredentialIdentity> | undefined;
  const expiring = () =>
    current.expiration !== undefined && current.expiration.getTime() - now() <= REFRESH_MARGIN_MS;
  return async () => {
    if (!expiring()) return current;
    pending ??= refresh()
      .then((fresh) => {
        logger.info(
          `Refreshed the assumed role's credentials with a new GitHub OIDC token (the previous ones expire at ${current.expiration?.toISOString()}).`,
        );
        current = fresh;
        return fresh;
      })
      .finally(() => {
        pending = undefined;
      });
    return pending;
  };
}

/** OIDC when `role-to-assume` is set; otherwise leave credentials to the SDK's default chain. */
export async function resolveCredentials(
  auth: AuthSettings,
  deps: CredentialDeps,
): Promise<ResolvedCredentials> {
  if (!auth.roleToAssume) {
    deps.logger.info(
      'No role-to-assume: using the ambient AWS credentials (environment, profile or instance role).',
    );
    return { source: 'ambient' };
  }
  if (
    !deps.tokenFile &&
    (!deps.env.ACTIONS_ID_TOKEN_REQUEST_URL || !deps.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN)
  ) {
    throw new ActionError(
      'role-to-assume is set but GitHub gave this job no OIDC token (ACTIONS_ID_TOKEN_REQUEST_URL is missing). ' +
        'Add `permissions: id-token: write` (and `contents: read`) to the workflow or job. ' +
        'Pull requests from forks never get a token: deploy previews only from branches of this repository.',
    );
  }

  const first = await assume(auth, deps);
  return {
    source: 'oidc',
    credentials: first,
    provider: refreshingProvider(
      first,
      () => assume(auth, deps),
      deps.now ?? (() => Date.now()),
      deps.logger,
    ),
  };
}

/** GitHub OIDC token -> AssumeRoleWithWebIdentity -> masked credentials. */
async function assume(auth: AuthSettings, deps: CredentialDeps): Promise<AwsCredentialIdentity> {
  let token: string;
  try {
    token = await deps.getIDToken(auth.audience);
  } catch (error) {
    throw new ActionError(
      `Could not get a GitHub OIDC token for audience '${auth.audience}': ${errorMessage(error)}`,
    );
  }
  deps.setSecret(token);

  const claims = describeClaims(token);
  const from = deps.tokenFile
    ? `the web-identity token in ${deps.tokenFile}`
    : 'the GitHub OIDC token';
  deps.logger.info(`Assuming ${auth.roleToAssume} with ${from} (${claims}).`);

  let response;
  try {
    response = await withRetry(
      () =>
        deps.sts.send(
          new AssumeRoleWithWebIdentityCommand({
            RoleArn: auth.roleToAssume,
            RoleSessionName: auth.roleSessionName,
            WebIdentityToken: token,
            DurationSeconds: auth.roleDurationSeconds,
          }),
        ),
      {
        attempts: 5,
        sleep: deps.sleep,
        isRetryable: (error) => isTransient(error) || errorCode(error) === 'InvalidIdentityToken',
        onRetry: (error, attempt, delay) =>
          deps.logger.warning(
            `AssumeRoleWithWebIdentity failed (${errorMessage(error)}); retry ${attempt} in ${delay} ms.`,
          ),
      },
    );
  } catch (error) {
    throw explainAssumeFailure(error, auth, claims);
  }

  const c = response.Credentials;
  if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken) {
    throw new ActionError('AssumeRoleWithWebIdentity returned no credentials.');
  }
  // Mask before anything else can print them.
  deps.setSecret(c.AccessKeyId);
  deps.setSecret(c.SecretAccessKey);
  deps.setSecret(c.SessionToken);
  deps.logger.info(`Assumed ${response.AssumedRoleUser?.Arn ?? auth.roleToAssume}.`);
  return {
    accessKeyId: c.AccessKeyId,
    secretAccessKey: c.SecretAccessKey,
    sessionToken: c.SessionToken,
    ...(c.Expiration ? { expiration: c.Expiration } : {}),
  };
}

function explainAssumeFailure(error: unknown, auth: AuthSettings, claims: string): Error {
  const code = errorCode(error);
  if (code === 'AccessDenied' || code === 'AccessDeniedException') {
    return new ActionError(
      `Not authorized to assume ${auth.roleToAssume} with the GitHub OIDC token (${claims}): ${errorMessage(error)}. ` +
        "Check the role's trust policy: its Principal must be the token.actions.githubusercontent.com OIDC provider, " +
        `'token.actions.githubusercontent.com:aud' must equal '${auth.audience}', and 'token.actions.githubusercontent.com:sub' ` +
        'must match the token subject above (e.g. repo:ORG/REPO:ref:refs/heads/main, repo:ORG/REPO:pull_request, ' +
        'repo:ORG/REPO:environment:NAME). The job also needs `permissions: id-token: write`.',
    );
  }
  return new ActionError(`Could not assume ${auth.roleToAssume}: ${errorMessage(error)}`);
}

/** The non-secret claims that decide trust (sub, aud), for error messages and the log. */
export function describeClaims(token: string): string {
  try {
    const payload = token.split('.')[1];
    if (!payload) return 'claims unreadable';
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<
      string,
      unknown
    >;
    const aud = Array.isArray(claims.aud) ? claims.aud.join(',') : String(claims.aud);
    return `sub '${String(claims.sub)}', aud '${aud}'`;
  } catch {
    return 'claims unreadable';
  }
}
