import * as core from '@actions/core';
import { destroyAwsClients, type AwsClients } from './aws/clients.js';
import { errorMessage } from './errors.js';
import { readGithubContext } from './github-context.js';
import { connect, coreLogger } from './runner.js';
import { describeAliasState } from './release/traffic/alias-plan.js';
import { restoreAlias } from './release/traffic/alias.js';
import { pendingShift, SHIFT_STATE } from './release/traffic/shift-state.js';
import { readSettings } from './settings.js';

/**
 * The post step runs even when the job was cancelled or the main step was killed. If the main
 * step died in the middle of a traffic shift, it puts the alias back as it was before the run.
 */
export async function runPost(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const pending = pendingShift(core.getState(SHIFT_STATE));
  if (!pending) {
    core.info('Nothing to undo: no traffic shift was left in progress.');
    return;
  }
  const logger = coreLogger();
  let clients: AwsClients | undefined;
  try {
    const github = readGithubContext(env);
    const settings = readSettings((name) => core.getInput(name), github, github.workspace);
    logger.warning(
      `The main step stopped during a traffic shift (${pending.phase} at ${pending.percent}% to version ${pending.newVersion}); ` +
        `restoring alias '${pending.snapshot.alias}' to '${describeAliasState(pending.snapshot)}'.`,
    );
    clients = await connect(settings, env, logger);
    const result = await restoreAlias(clients.lambda, pending.snapshot, {
      logger,
      ownVersion: pending.newVersion,
    });
    core.info(`Alias ${result.action}: ${describeAliasState(result.after)}.`);
    await core.summary
      .addHeading('lambda-ml-deploy: post step', 3)
      .addRaw(
        `The main step stopped mid-shift; alias \`${pending.snapshot.alias}\` ${result.action}: ${describeAliasState(result.after)}.`,
        true,
      )
      .write()
      .catch(() => undefined);
  } catch (error) {
    core.setFailed(`Post step could not restore the alias: ${errorMessage(error)}`);
  } finally {
    if (clients) destroyAwsClients(clients);
  }
}
