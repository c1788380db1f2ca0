import { GetAliasCommand, LambdaClient, UpdateAliasCommand } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { guardInterrupts, type Interrupts } from '../../src/cli-interrupt.js';
import { memoryLogger } from '../../src/log.js';
import type { PostResult } from '../../src/post.js';
import { SHIFT_STATE, shiftStateValue } from '../../src/release/traffic/shift-state.js';
import { auth, midShift, snapshot } from './support/shift-fixtures.js';

const lambdaMock = mockClient(LambdaClient);
beforeEach(() => lambdaMock.reset());

const pending = shiftStateValue(
  snapshot,
  '4',
  { phase: 'shifted', stepIndex: 0, percent: 10 },
  false,
  auth,
);

/** Signals sent by hand; the exit is recorded and resolves `exited`. */
function fakeInterrupts() {
  let handler: ((signal: NodeJS.Signals) => void) | undefined;
  const exits: number[] = [];
  let resolveExit: (code: number) => void = () => undefined;
  const exited = new Promise<number>((resolve) => (resolveExit = resolve));
  const interrupts: Interrupts = {
    listen: (h) => {
      handler = h;
      return () => (handler = undefined);
    },
    exit: (code) => {
      exits.push(code);
      resolveExit(code);
    },
  };
  return {
    interrupts,
    exits,
    exited,
    send: (signal: NodeJS.Signals) => handler?.(signal),
    listening: () => handler !== undefined,
  };
}

function setup() {
  const signals = fakeInterrupts();
  const logger = memoryLogger();
  const finished: Array<{ result: PostResult; signal: string }> = [];
  const guard = guardInterrupts({
    interrupts: signals.interrupts,
    logger,
    getInput: () => '',
    finish: (result, signal) => void finished.push({ result, signal }),
  });
  return { signals, logger, finished, guard };
}

describe('the CLI interrupt guard', () => {
  it('SIGTERM mid-shift: the alias is put back from the saved state, then exit 143', async () => {
    lambdaMock.on(GetAliasCommand).resolves(midShift);
    lambdaMock.on(UpdateAliasCommand).resolves({ ...midShift, RoutingConfig: {} });
    const { signals, finished, guard } = setup();
    guard.useLambda(new LambdaClient({ region: 'eu-west-1' }));
    guard.save(SHIFT_STATE, pending);
    signals.send('SIGTERM');
    expect(await signals.exited).toBe(143);
    expect(lambdaMock.commandCalls(UpdateAliasCommand)[0]!.args[0].input).toMatchObject({
      Name: 'prod',
      FunctionVersion: '3',
      RoutingConfig: { AdditionalVersionWeights: {} },
      RevisionId: 'rev-2',
    });
    expect(finished).toEqual([{ result: { outcome: 'restored' }, signal: 'SIGTERM' }]);
  });

  it('Ctrl-C before any shift: nothing to undo, no AWS call, exit 130', async () => {
    const { signals, finished, guard } = setup();
    guard.useLambda(new LambdaClient({ region: 'eu-west-1' }));
    guard.save('something-else', 'x');
    signals.send('SIGINT');
    expect(await signals.exited).toBe(130);
    expect(lambdaMock.calls()).toHaveLength(0);
    expect(finished[0]!.result).toEqual({ outcome: 'nothing' });
  });

  it('a finished shift leaves nothing to undo', async () => {
    const { signals, finished, guard } = setup();
    guard.useLambda(new LambdaClient({ region: 'eu-west-1' }));
    guard.save(SHIFT_STATE, pending);
    guard.save(SHIFT_STATE, 'done');
    signals.send('SIGTERM');
    await signals.exited;
    expect(lambdaMock.calls()).toHaveLength(0);
    expect(finished[0]!.result).toEqual({ outcome: 'nothing' });
  });

  it('a second signal exits at once, without waiting for the restore', async () => {
    let release: () => void = () => undefined;
    lambdaMock
      .on(GetAliasCommand)
      .callsFake(() => new Promise((resolve) => (release = () => resolve(midShift))));
    lambdaMock.on(UpdateAliasCommand).resolves({ ...midShift, RoutingConfig: {} });
    const { signals, logger, guard } = setup();
    guard.useLambda(new LambdaClient({ region: 'eu-west-1' }));
    guard.save(SHIFT_STATE, pending);
    signals.send('SIGINT');
    await new Promise((resolve) => setImmediate(resolve));
    signals.send('SIGINT');
    expect(signals.exits).toEqual([130]);
    expect(logger.lines.join('\n')).toMatch(/SIGINT again: exiting without waiting/);
    release();
  });

  it('stop() stops listening (a finished run leaves no handler behind)', () => {
    const { signals, guard } = setup();
    expect(signals.listening()).toBe(true);
    guard.stop();
    expect(signals.listening()).toBe(false);
  });
});
