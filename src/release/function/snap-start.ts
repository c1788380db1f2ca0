import { GetFunctionConfigurationCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { ActionError } from '../../errors.js';
import type { Clock, Logger } from '../../log.js';
import { callAws } from '../../aws/call.js';

/** The function's SnapStart.ApplyOn for the input. */
export function snapStartApplyOn(enabled: boolean): 'PublishedVersions' | 'None' {
  return enabled ? 'PublishedVersions' : 'None';
}

export interface VersionWaitOptions {
  clock: Clock;
  logger?: Logger;
  /** Longest wait (default 10 min: a snapshot of a large ML handler takes minutes). */
  timeoutMs?: number;
  pollMs?: number;
}

/**
 * With SnapStart, a published version is Pending while Lambda initialises it and takes the
 * snapshot; it cannot be invoked before it is Active. Waits for that, or fails with Lambda's reason.
 */
export async function waitForVersionActive(
  lambda: LambdaClient,
  functionName: string,
  version: string,
  options: VersionWaitOptions,
): Promise<void> {
  const deadline = options.clock.now() + (options.timeoutMs ?? 600_000);
  const pollMs = options.pollMs ?? 5000;
  for (;;) {
    const config = await callAws('GetFunctionConfiguration', () =>
      lambda.send(
        new GetFunctionConfigurationCommand({ FunctionName: functionName, Qualifier: version }),
      ),
    );
    if (config.State === 'Active') return;
    if (config.State === 'Failed' || config.State === 'Inactive') {
      throw new ActionError(
        `Version ${version} of '${functionName}' is ${config.State} after publishing (SnapStart snapshot): ${config.StateReasonCode ?? ''} ${config.StateReason ?? ''}`.trim(),
      );
    }
    if (options.clock.now() + pollMs > deadline) {
      throw new ActionError(
        `Version ${version} of '${functionName}' is still ${config.State ?? 'not Active'} after ${Math.round((options.timeoutMs ?? 600_000) / 1000)} s (SnapStart snapshot); nothing was moved to it.`,
      );
    }
    options.logger?.info(`Version ${version}: ${config.State ?? 'Pending'} (SnapStart snapshot)`);
    await options.clock.sleep(pollMs);
  }
}
