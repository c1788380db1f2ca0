import { errorMessage } from '../errors.js';
import {
  provisionVersion,
  releaseUnservedProvisioned,
} from '../release/function/provisioned-concurrency.js';
import { listAliases } from '../release/function/versions.js';
import type { DeploySettings } from '../settings.js';
import type { RunContext } from './context.js';
import type { StepTimer } from './steps.js';

/** provisioned-concurrency: the new version's environments are READY before traffic moves. */
export async function provisionCandidate(
  ctx: RunContext<DeploySettings>,
  steps: StepTimer,
  version: string,
): Promise<void> {
  const count = ctx.settings.coldStart.provisionedConcurrency;
  if (count <= 0) return;
  await steps.run(`Provisioned concurrency ${count} on version ${version}`, () =>
    provisionVersion(ctx.clients.lambda, ctx.settings.functionName, version, count, {
      clock: ctx.clock,
      logger: ctx.logger,
    }),
  );
}

/**
 * After the shift (or its rollback): provisioned concurrency is released from every version no
 * alias serves any more. A failure here costs money, not safety: it warns, the run goes on.
 */
export async function releaseProvisioned(
  ctx: RunContext<DeploySettings>,
  steps: StepTimer,
): Promise<void> {
  if (ctx.settings.coldStart.provisionedConcurrency <= 0) return;
  const { lambda } = ctx.clients;
  const fn = ctx.settings.functionName;
  try {
    await steps.run('Release unserved provisioned concurrency', async () => {
      const served = new Set<string>();
      for (const alias of await listAliases(lambda, fn)) {
        if (alias.FunctionVersion) served.add(alias.FunctionVersion);
        for (const v of Object.keys(alias.RoutingConfig?.AdditionalVersionWeights ?? {}))
          served.add(v);
      }
      const released = await releaseUnservedProvisioned(lambda, fn, served, ctx.logger);
      if (released.length > 0)
        ctx.report.section('Provisioned concurrency', [
          `Released from version(s) no alias serves: ${released.join(', ')}.`,
        ]);
    });
  } catch (error) {
    ctx.logger.warning(
      `Could not release provisioned concurrency from unserved versions: ${errorMessage(error)}; delete it by hand (aws lambda delete-provisioned-concurrency-config) to stop paying for it.`,
    );
  }
}
