import * as core from '@actions/core';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import { destroyAwsClients } from './aws/clients.js';
import { errorMessage } from './errors.js';
import type { Logger } from './log.js';
import { connect, coreLogger } from './runner.js';
import { describeAliasState } from './release/traffic/alias-plan.js';
import { readAlias, restoreAlias } from './release/traffic/alias.js';
import { readShiftState, SHIFT_STATE, type ShiftRecord } from './release/traffic/shift-state.js';
import { readAliasLocation, type AuthSettings } from './settings.js';

/** A Lambda client for the post step, and how to close it. */
export interface PostConnection {
  lambda: LambdaClient;
  close(): void;
}

export interface PostDeps {
  /** The main step's SHIFT_STATE value. */
  saved: string;
  /** Inputs, read only when the saved state is unreadable (to show the alias's routing). */
  getInput(name: string): string;
  connect(auth: AuthSettings): Promise<PostConnection>;
  logger: Logger;
  summary(markdown: string): Promise<void>;
}

export type PostResult =
  { outcome: 'nothing' | 'restored' } | { outcome: 'failed'; message: string };

/**
 * The post step runs even when the job was cancelled or the main step was killed. If the main
 * step died in the middle of a traffic shift, it puts the alias back as it was before the run,
 * from the saved state alone. A saved state it cannot read fails the step, showing how the alias
 * routes now, rather than passing as "nothing to undo".
 */
export async function postStep(deps: PostDeps): Promise<PostResult> {
  const saved = readShiftState(deps.saved);
  if (saved.kind === 'none') {
    deps.logger.info('Nothing to undo: no traffic shift was left in progress.');
    return { outcome: 'nothing' };
  }
  if (saved.kind === 'corrupt')
    return { outcome: 'failed', message: await corrupt(deps, saved.reason) };
  try {
    await restore(deps, saved.record);
    return { outcome: 'restored' };
  } catch (error) {
    return {
      outcome: 'failed',
      message: `Post step could not restore the alias: ${errorMessage(error)}`,
    };
  }
}

async function restore(deps: PostDeps, pending: ShiftRecord): Promise<void> {
  const { logger } = deps;
  const { snapshot } = pending;
  logger.warning(
    `The main step stopped during a traffic shift (${pending.phase} at ${pending.percent}% to version ${pending.newVersion}); ` +
      `restoring alias '${snapshot.alias}' to '${describeAliasState(snapshot)}'.`,
  );
  const connection = await deps.connect(pending.auth);
  try {
    const result = await restoreAlias(connection.lambda, snapshot, {
      logger,
      ownVersion: pending.newVersion,
    });
    logger.info(`Alias ${result.action}: ${describeAliasState(result.after)}.`);
    await deps
      .summary(
        `The main step stopped mid-shift; alias \`${snapshot.alias}\` ${result.action}: ${describeAliasState(result.after)}.`,
      )
      .catch(() => undefined);
  } finally {
    connection.close();
  }
}

async function corrupt(deps: PostDeps, reason: string): Promise<string> {
  const head =
    `The saved traffic-shift state is unreadable (${reason}), so the post step cannot tell ` +
    'whether the main step left an alias mid-shift, nor how to put it back.';
  let routing: string;
  try {
    const where = readAliasLocation((name) => deps.getInput(name));
    const connection = await deps.connect(where.auth);
    try {
      const now = await readAlias(connection.lambda, where.functionName, where.alias, {
        logger: deps.logger,
      });
      routing = `Alias '${where.alias}' of function '${where.functionName}' now routes: ${describeAliasState(now)}.`;
    } finally {
      connection.close();
    }
  } catch (error) {
    routing = `The alias's current routing could not be read either: ${errorMessage(error)}.`;
  }
  return `${head} ${routing} Check it, and run this action with mode: rollback if it splits traffic or serves a version you did not test.`;
}

export async function runPost(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const logger = coreLogger();
  const result = await postStep({
    saved: core.getState(SHIFT_STATE),
    getInput: (name) => core.getInput(name),
    connect: async (auth) => {
      const clients = await connect(auth, env, logger);
      return { lambda: clients.lambda, close: () => destroyAwsClients(clients) };
    },
    logger,
    summary: (markdown) =>
      core.summary
        .addHeading('lambda-ml-deploy: post step', 3)
        .addRaw(markdown, true)
        .write()
        .then(() => undefined),
  });
  if (result.outcome === 'failed') core.setFailed(result.message);
}
