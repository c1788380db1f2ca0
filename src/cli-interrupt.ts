import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { Logger } from './log.js';
import { postStep, type PostResult } from './post.js';
import { SHIFT_STATE } from './release/traffic/shift-state.js';

/**
 * The command line's safety net, the CLI's counterpart of the action's post step: a Ctrl-C or a
 * CI system's SIGTERM in the middle of a traffic shift puts the alias back as it was before the
 * run, from the same saved state the post step reads, before the process exits.
 */

export interface Interrupts {
  /** Calls `handler` on SIGINT / SIGTERM; returns the function that stops listening. */
  listen(handler: (signal: NodeJS.Signals) => void): () => void;
  /** Ends the process (after the alias is restored). */
  exit(code: number): void;
}

export const processInterrupts: Interrupts = {
  listen(handler) {
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
    return () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    };
  },
  exit: (code) => process.exit(code),
};

/** Shell convention: 128 + the signal's number. */
export const signalExitCode = (signal: NodeJS.Signals) => (signal === 'SIGINT' ? 130 : 143);

export interface InterruptGuard {
  /** The pipelines' `state.save`: the latest traffic-shift record is kept here. */
  save(name: string, value: string): void;
  /** Set once the AWS clients exist (before that, nothing can have moved). */
  useLambda(lambda: LambdaClient): void;
  stop(): void;
}

export interface GuardOptions {
  interrupts: Interrupts;
  logger: Logger;
  getInput(name: string): string;
  /** Adds the restore's outcome to the summary and prints it, before the exit. */
  finish(result: PostResult, signal: NodeJS.Signals): void;
}

export function guardInterrupts(options: GuardOptions): InterruptGuard {
  const { interrupts, logger } = options;
  let saved = '';
  let lambda: LambdaClient | undefined;
  let handling = false;
  const stopListening = interrupts.listen((signal) => {
    if (handling) {
      logger.warning(`${signal} again: exiting without waiting for the alias to be restored.`);
      interrupts.exit(signalExitCode(signal));
      return;
    }
    handling = true;
    logger.warning(`${signal}: stopping; undoing any traffic shift this run left in progress.`);
    void restoreThenExit(signal);
  });

  async function restoreThenExit(signal: NodeJS.Signals): Promise<void> {
    let result: PostResult;
    if (!lambda && saved) {
      result = { outcome: 'failed', message: 'No AWS client to restore the alias with.' };
    } else {
      result = await postStep({
        saved,
        getInput: (name) => options.getInput(name),
        connect: () => Promise.resolve({ lambda: lambda as LambdaClient, close: () => undefined }),
        logger,
        summary: () => Promise.resolve(),
      });
    }
    options.finish(result, signal);
    interrupts.exit(signalExitCode(signal));
  }

  return {
    save: (name, value) => {
      if (name === SHIFT_STATE) saved = value;
    },
    useLambda: (client) => void (lambda = client),
    stop: stopListening,
  };
}
