import {
  GetAliasCommand,
  LambdaClient,
  ResourceNotFoundException,
  UpdateAliasCommand,
} from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { memoryLogger } from '../../src/log.js';
import { postStep, type PostDeps } from '../../src/post.js';
import { shiftStateValue } from '../../src/release/traffic/shift-state.js';
import type { AuthSettings } from '../../src/settings.js';
import { auth, midShift, snapshot } from './support/shift-fixtures.js';

const lambdaMock = mockClient(LambdaClient);
beforeEach(() => lambdaMock.reset());

function deps(saved: string, inputs: Record<string, string> | 'none' = 'none') {
  const logger = memoryLogger();
  const connected: AuthSettings[] = [];
  const summaries: string[] = [];
  const read: string[] = [];
  const d: PostDeps = {
    saved,
    getInput: (name) => {
      read.push(name);
      if (inputs === 'none') throw new Error(`input ${name} read`);
      return inputs[name] ?? '';
    },
    connect: async (a) => {
      connected.push(a);
      return { lambda: new LambdaClient({ region: a.region }), close: () => undefined };
    },
    logger,
    summary: async (markdown) => void summaries.push(markdown),
  };
  return { d, logger, connected, summaries, read };
}

const pending = () =>
  shiftStateValue(snapshot, '4', { phase: 'shifted', stepIndex: 0, percent: 10 }, false, auth);

describe('post step', () => {
  it('restores the alias from the saved state alone: no input is read (source-dir may be gone)', async () => {
    lambdaMock.on(GetAliasCommand).resolves(midShift);
    lambdaMock.on(UpdateAliasCommand).resolves({ ...midShift, RoutingConfig: {} });
    const { d, connected, summaries, read } = deps(pending());
    expect(await postStep(d)).toEqual({ outcome: 'restored' });
    expect(read).toEqual([]);
    expect(connected).toEqual([auth]);
    expect(lambdaMock.commandCalls(UpdateAliasCommand)[0]!.args[0].input).toMatchObject({
      FunctionName: 'iris',
      Name: 'prod',
      FunctionVersion: '3',
      RoutingConfig: { AdditionalVersionWeights: {} },
      RevisionId: 'rev-2',
      Description: 'lambda-ml-deploy: previous=2',
    });
    expect(summaries[0]).toMatch(/alias `prod` restored: prod -> 3/);
  });

  it('nothing saved, or a finished shift: nothing to do, no AWS call', async () => {
    for (const saved of ['', 'done']) {
      const { d, connected } = deps(saved);
      expect(await postStep(d)).toEqual({ outcome: 'nothing' });
      expect(connected).toEqual([]);
    }
  });

  it('corrupt state fails loudly, printing how the alias routes now; nothing is written', async () => {
    lambdaMock.on(GetAliasCommand).resolves(midShift);
    const inputs = { 'aws-region': 'eu-west-1', 'function-name': 'iris', 'source-dir': 'gone' };
    const { d } = deps('{"snapshot": {"functionName": "iris"', inputs);
    const result = await postStep(d);
    expect(result.outcome).toBe('failed');
    const message = result.outcome === 'failed' ? result.message : '';
    expect(message).toMatch(/saved traffic-shift state is unreadable \(not JSON/);
    expect(message).toMatch(
      /Alias 'prod' of function 'iris' now routes: prod -> 3 \(90%\) \+ 4 \(10%\)/,
    );
    expect(message).toMatch(/mode: rollback/);
    expect(lambdaMock.commandCalls(UpdateAliasCommand)).toHaveLength(0);
  });

  it('corrupt state whose alias cannot be read still fails, saying both', async () => {
    lambdaMock
      .on(GetAliasCommand)
      .rejects(
        new ResourceNotFoundException({ message: 'Function not found: iris', $metadata: {} }),
      );
    const { d } = deps('{}', { 'aws-region': 'eu-west-1', 'function-name': 'iris' });
    const result = await postStep(d);
    expect(result).toMatchObject({
      outcome: 'failed',
      message: expect.stringMatching(/no alias snapshot.*could not be read either.*does not exist/),
    });
  });
});
