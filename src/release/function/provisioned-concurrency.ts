import {
  DeleteProvisionedConcurrencyConfigCommand,
  GetProvisionedConcurrencyConfigCommand,
  ListProvisionedConcurrencyConfigsCommand,
  PutProvisionedConcurrencyConfigCommand,
  type LambdaClient,
  type ProvisionedConcurrencyConfigListItem,
} from '@aws-sdk/client-lambda';
import { ActionError, errorCode, errorMessage } from '../../errors.js';
import type { Clock, Logger } from '../../log.js';
import { callAws } from '../../aws/call.js';

export interface ProvisionOptions {
  clock: Clock;
  logger?: Logger;
  /** Longest wait for READY (default 15 min: each environment runs the handler's init). */
  timeoutMs?: number;
  pollMs?: number;
}

/**
 * Allocates `count` provisioned environments on `version` and waits until they are READY, so no
 * traffic reaches the version before its environments are initialised. On FAILED or a timeout the
 * allocation is removed again (nothing half-done is left) and the error says why.
 */
export async function provisionVersion(
  lambda: LambdaClient,
  functionName: string,
  version: string,
  count: number,
  options: ProvisionOptions,
): Promise<void> {
  await callAws('PutProvisionedConcurrencyConfig', () =>
    lambda.send(
      new PutProvisionedConcurrencyConfigCommand({
        FunctionName: functionName,
        Qualifier: version,
        ProvisionedConcurrentExecutions: count,
      }),
    ),
  ).catch((error: unknown) => {
    throw new ActionError(
      `Could not allocate provisioned concurrency ${count} on version ${version} of '${functionName}': ${errorMessage(error)}`,
    );
  });
  const timeoutMs = options.timeoutMs ?? 900_000;
  const pollMs = options.pollMs ?? 5000;
  const deadline = options.clock.now() + timeoutMs;
  let problem: string;
  for (;;) {
    const status = await callAws('GetProvisionedConcurrencyConfig', () =>
      lambda.send(
        new GetProvisionedConcurrencyConfigCommand({
          FunctionName: functionName,
          Qualifier: version,
        }),
      ),
    );
    if (status.Status === 'READY') {
      options.logger?.info(
        `Version ${version}: ${status.AvailableProvisionedConcurrentExecutions ?? count} provisioned environment(s) READY`,
      );
      return;
    }
    if (status.Status === 'FAILED') {
      problem = `allocation FAILED: ${status.StatusReason ?? 'no reason given'}`;
      break;
    }
    if (options.clock.now() + pollMs > deadline) {
      problem = `not READY after ${Math.round(timeoutMs / 1000)} s (${status.AvailableProvisionedConcurrentExecutions ?? 0} of ${count} available)`;
      break;
    }
    options.logger?.info(
      `Version ${version}: provisioned concurrency ${status.Status ?? 'IN_PROGRESS'} (${status.AvailableProvisionedConcurrentExecutions ?? 0} of ${count})`,
    );
    await options.clock.sleep(pollMs);
  }
  await deleteProvisioned(lambda, functionName, version).catch((error: unknown) =>
    options.logger?.warning(
      `Could not remove the provisioned concurrency of version ${version}: ${errorMessage(error)}`,
    ),
  );
  throw new ActionError(
    `Provisioned concurrency ${count} on version ${version} of '${functionName}' ${problem}; no traffic was moved to it. Lower provisioned-concurrency or raise the account's concurrency limit.`,
  );
}

async function deleteProvisioned(
  lambda: LambdaClient,
  functionName: string,
  qualifier: string,
): Promise<void> {
  await callAws('DeleteProvisionedConcurrencyConfig', () =>
    lambda.send(
      new DeleteProvisionedConcurrencyConfigCommand({
        FunctionName: functionName,
        Qualifier: qualifier,
      }),
    ),
  ).catch((error: unknown) => {
    if (errorCode(error) !== 'ProvisionedConcurrencyConfigNotFoundException') throw error;
  });
}

/** The qualifier of a configuration's ARN (a version number or an alias name). */
function qualifierOf(item: ProvisionedConcurrencyConfigListItem): string {
  return item.FunctionArn?.split(':')[7] ?? '';
}

/**
 * Version numbers holding provisioned concurrency that no alias serves (weights included). Alias
 * qualifiers are the user's to manage and are never returned. Pure.
 */
export function provisionedToRelease(
  configs: readonly ProvisionedConcurrencyConfigListItem[],
  served: ReadonlySet<string>,
): string[] {
  return configs
    .map(qualifierOf)
    .filter((qualifier) => /^\d+$/.test(qualifier) && !served.has(qualifier));
}

/** Releases provisioned concurrency from versions no alias serves; returns those versions. */
export async function releaseUnservedProvisioned(
  lambda: LambdaClient,
  functionName: string,
  served: ReadonlySet<string>,
  logger?: Logger,
): Promise<string[]> {
  const configs: ProvisionedConcurrencyConfigListItem[] = [];
  let marker: string | undefined;
  do {
    const page = await callAws('ListProvisionedConcurrencyConfigs', () =>
      lambda.send(
        new ListProvisionedConcurrencyConfigsCommand({
          FunctionName: functionName,
          Marker: marker,
        }),
      ),
    );
    configs.push(...(page.ProvisionedConcurrencyConfigs ?? []));
    marker = page.NextMarker;
  } while (marker);
  const release = provisionedToRelease(configs, served);
  for (const version of release) {
    await deleteProvisioned(lambda, functionName, version);
    logger?.info(`Released the provisioned concurrency of version ${version} (no alias serves it)`);
  }
  return release;
}
