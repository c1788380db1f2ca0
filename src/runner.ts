import * as core from '@actions/core';
import { STSClient } from '@aws-sdk/client-sts';
import { createAwsClients, destroyAwsClients, USER_AGENT, type AwsClients } from './aws/clients.js';
import { resolveCredentials } from './aws/credentials.js';
import { formatDuration, type Logger } from './log.js';
import type { AuthSettings } from './settings.js';

// What both entries (main and post) take from the Actions runner: its log and an AWS connection.

/** A Logger over the runner's log: groups are collapsible and end with their duration. */
export function coreLogger(): Logger {
  return {
    info: (m) => core.info(m),
    warning: (m) => core.warning(m),
    notice: (m) => core.notice(m),
    debug: (m) => core.debug(m),
    async group(title, fn) {
      const started = Date.now();
      core.startGroup(title);
      try {
        return await fn();
      } finally {
        core.info(`${title}: ${formatDuration(Date.now() - started)}`);
        core.endGroup();
      }
    },
  };
}

/** Credentials (OIDC or the ambient chain) -> the AWS clients every step uses. */
export async function connect(
  auth: AuthSettings,
  env: NodeJS.ProcessEnv,
  logger: Logger,
): Promise<AwsClients> {
  const endpoint = env.AWS_ENDPOINT_URL || undefined;
  if (endpoint) logger.info(`Using the AWS endpoint ${endpoint} (AWS_ENDPOINT_URL).`);
  const bootstrap = createAwsClients({ region: auth.region, endpoint });
  const resolved = await logger.group('Credentials', () =>
    resolveCredentials(auth, {
      getIDToken: (audience) => core.getIDToken(audience),
      setSecret: (value) => core.setSecret(value),
      sts: oneShotSts(auth.region, endpoint),
      env,
      logger,
    }),
  );
  if (!resolved.provider) return bootstrap;
  destroyAwsClients(bootstrap);
  return createAwsClients({
    region: auth.region,
    endpoint,
    credentials: resolved.provider,
  });
}

/**
 * AssumeRoleWithWebIdentity needs no credentials. Each call gets its own short-lived client, so
 * a refresh hours into a bake does not depend on a client that was closed after the first one.
 */
function oneShotSts(region: string, endpoint: string | undefined): Pick<STSClient, 'send'> {
  const send = async (command: Parameters<STSClient['send']>[0]) => {
    const client = new STSClient({ region, endpoint, customUserAgent: USER_AGENT });
    try {
      return await client.send(command);
    } finally {
      client.destroy();
    }
  };
  return { send } as Pick<STSClient, 'send'>;
}
