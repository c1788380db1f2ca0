import * as core from '@actions/core';
import { createAwsClients, destroyAwsClients, type AwsClients } from './aws/clients.js';
import { resolveCredentials } from './aws/credentials.js';
import { formatDuration, type Logger } from './log.js';
import type { Settings } from './settings.js';

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
  settings: Settings,
  env: NodeJS.ProcessEnv,
  logger: Logger,
): Promise<AwsClients> {
  const endpoint = env.AWS_ENDPOINT_URL || undefined;
  if (endpoint) logger.info(`Using the AWS endpoint ${endpoint} (AWS_ENDPOINT_URL).`);
  const bootstrap = createAwsClients({ region: settings.auth.region, endpoint });
  const resolved = await logger.group('Credentials', () =>
    resolveCredentials(settings.auth, {
      getIDToken: (audience) => core.getIDToken(audience),
      setSecret: (value) => core.setSecret(value),
      sts: bootstrap.sts,
      env,
      logger,
    }),
  );
  if (!resolved.credentials) return bootstrap;
  destroyAwsClients(bootstrap);
  return createAwsClients({
    region: settings.auth.region,
    endpoint,
    credentials: resolved.credentials,
  });
}
