import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  CreateFunctionCommand,
  DeleteProvisionedConcurrencyConfigCommand,
  GetFunctionCommand,
  GetFunctionConfigurationCommand,
  GetProvisionedConcurrencyConfigCommand,
  LambdaClient,
  ListProvisionedConcurrencyConfigsCommand,
  PutProvisionedConcurrencyConfigCommand,
} from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { memoryLogger } from '../../src/log.js';
import { createFunction, toFunctionState } from '../../src/release/function/function.js';
import {
  diffConfig,
  resolveTarget,
  updateConfigurationInput,
} from '../../src/release/function/config-diff.js';
import type { DesiredConfig } from '../../src/release/function/desired-config.js';
import type { FunctionState } from '../../src/release/function/function-state.js';
import {
  provisionedToRelease,
  provisionVersion,
  releaseUnservedProvisioned,
} from '../../src/release/function/provisioned-concurrency.js';
import { waitForVersionActive } from '../../src/release/function/snap-start.js';
import { readSettings, SettingsError, snapStartProblem } from '../../src/settings.js';
import { fakeClock } from './support/fake-clock.js';

const lambdaMock = mockClient(LambdaClient);
const lambda = new LambdaClient({ region: 'us-east-1' });
beforeEach(() => lambdaMock.reset());

const ARN = 'arn:aws:lambda:us-east-1:123456789012:function:iris';

describe('settings: snap-start and provisioned-concurrency', () => {
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'cold-settings-'));
  afterAll(() => fs.rmSync(workspace, { recursive: true, force: true }));
  const base: Record<string, string> = {
    'aws-region': 'us-east-1',
    'function-name': 'iris',
    's3-bucket': 'my-artifacts',
  };
  const read = (inputs: Record<string, string>) =>
    readSettings(
      (name) => ({ ...base, ...inputs })[name] ?? '',
      { eventName: 'push', payload: {} },
      workspace,
    );
  const problems = (inputs: Record<string, string>) => {
    try {
      read(inputs);
    } catch (error) {
      if (error instanceof SettingsError) return error.problems;
      throw error;
    }
    return [];
  };

  test('unset: SnapStart left as it is, no provisioned concurrency', () => {
    const s = read({});
    if (s.mode !== 'deploy') throw new Error('deploy expected');
    expect(s.coldStart).toEqual({ provisionedConcurrency: 0 });
  });

  test('snap-start on python3.12+, provisioned-concurrency a count', () => {
    const s = read({ 'snap-start': 'true', runtime: 'python3.13' });
    if (s.mode !== 'deploy') throw new Error('deploy expected');
    expect(s.coldStart).toEqual({ snapStart: true, provisionedConcurrency: 0 });
    const p = read({ 'provisioned-concurrency': '3', 'snap-start': 'false' });
    if (p.mode !== 'deploy') throw new Error('deploy expected');
    expect(p.coldStart).toEqual({ snapStart: false, provisionedConcurrency: 3 });
  });

  test('snap-start on python3.11 is refused with the runtime named', () => {
    expect(problems({ 'snap-start': 'true', runtime: 'python3.11' })).toEqual([
      "Input 'snap-start': needs runtime python3.12 or later (Lambda SnapStart for Python), but runtime is python3.11: raise runtime or drop snap-start, got 'true'.",
    ]);
    expect(snapStartProblem('python3.12')).toBeUndefined();
    expect(snapStartProblem('python3.9')).toMatch(/python3.12 or later/);
  });

  test('both at once, or a bad count, are refused', () => {
    expect(problems({ 'snap-start': 'true', 'provisioned-concurrency': '2' })[0]).toMatch(
      /^Input 'provisioned-concurrency': cannot be combined with snap-start/,
    );
    expect(problems({ 'provisioned-concurrency': '-1' })[0]).toMatch(
      /^Input 'provisioned-concurrency': must be a whole number from 0 to 10000/,
    );
  });
});

describe('SnapStart at the SDK boundary', () => {
  const desired: DesiredConfig = {
    runtime: 'python3.12',
    handler: 'lambda_function.lambda_handler',
    architecture: 'x86_64',
    layerName: 'iris-deps',
  };
  const MISSING: FunctionState = { exists: false, layers: [], environment: {} };
  const current = toFunctionState({
    FunctionArn: ARN,
    Runtime: 'python3.12',
    Handler: 'lambda_function.lambda_handler',
    SnapStart: { ApplyOn: 'None', OptimizationStatus: 'Off' },
  });

  /** The UpdateFunctionConfiguration input this run would send, as the candidate step builds it. */
  const configChanges = (fn: FunctionState, want: DesiredConfig) => {
    const target = resolveTarget(fn, want);
    return updateConfigurationInput(target, diffConfig(fn, target));
  };

  test('snap-start true on a function without it: UpdateFunctionConfiguration sets ApplyOn', () => {
    expect(configChanges(current, { ...desired, snapStart: true })).toEqual({
      SnapStart: { ApplyOn: 'PublishedVersions' },
    });
    const on = { ...current, snapStart: 'PublishedVersions' };
    expect(configChanges(on, { ...desired, snapStart: true })).toBeUndefined();
    expect(configChanges(on, { ...desired, snapStart: false })).toEqual({
      SnapStart: { ApplyOn: 'None' },
    });
    expect(configChanges(on, desired)).toBeUndefined(); // unset: left as it is
  });

  test('CreateFunction carries SnapStart', async () => {
    lambdaMock.on(CreateFunctionCommand).resolves({ FunctionArn: ARN, State: 'Active' });
    lambdaMock.on(GetFunctionCommand).resolves({ Configuration: { State: 'Active' } });
    await createFunction(
      lambda,
      {
        target: resolveTarget(MISSING, { ...desired, snapStart: true }),
        architecture: 'x86_64',
        functionName: 'iris',
        role: 'arn:aws:iam::123456789012:role/x',
        code: { s3Bucket: 'b', s3Key: 'k' },
      },
      { waitSeconds: 5 },
    );
    expect(lambdaMock.commandCalls(CreateFunctionCommand)[0]!.args[0].input.SnapStart).toEqual({
      ApplyOn: 'PublishedVersions',
    });
  });

  test('the published version is waited for until Active (the snapshot is taken)', async () => {
    lambdaMock
      .on(GetFunctionConfigurationCommand, { FunctionName: 'iris', Qualifier: '7' })
      .resolvesOnce({ State: 'Pending' })
      .resolvesOnce({ State: 'Pending' })
      .resolves({ State: 'Active' });
    const clock = fakeClock();
    await waitForVersionActive(lambda, 'iris', '7', { clock, pollMs: 1000 });
    expect(clock.slept).toEqual([1000, 1000]);
  });

  test('a failed snapshot fails with Lambda reason; a stuck one times out', async () => {
    lambdaMock.on(GetFunctionConfigurationCommand).resolves({
      State: 'Failed',
      StateReasonCode: 'FunctionError',
      StateReason: 'init took too long',
    });
    await expect(waitForVersionActive(lambda, 'iris', '7', { clock: fakeClock() })).rejects.toThrow(
      "Version 7 of 'iris' is Failed after publishing (SnapStart snapshot): FunctionError init took too long",
    );
    lambdaMock.reset();
    lambdaMock.on(GetFunctionConfigurationCommand).resolves({ State: 'Pending' });
    await expect(
      waitForVersionActive(lambda, 'iris', '7', {
        clock: fakeClock(),
        timeoutMs: 10_000,
        pollMs: 3000,
      }),
    ).rejects.toThrow(/still Pending after 10 s/);
  });
});

describe('provisioned concurrency at the SDK boundary', () => {
  test('allocated on the version and waited for until READY', async () => {
    lambdaMock.on(PutProvisionedConcurrencyConfigCommand).resolves({ Status: 'IN_PROGRESS' });
    lambdaMock
      .on(GetProvisionedConcurrencyConfigCommand)
      .resolvesOnce({ Status: 'IN_PROGRESS', AvailableProvisionedConcurrentExecutions: 0 })
      .resolves({ Status: 'READY', AvailableProvisionedConcurrentExecutions: 2 });
    const clock = fakeClock();
    const logger = memoryLogger();
    await provisionVersion(lambda, 'iris', '7', 2, { clock, logger, pollMs: 2000 });
    expect(
      lambdaMock.commandCalls(PutProvisionedConcurrencyConfigCommand)[0]!.args[0].input,
    ).toEqual({ FunctionName: 'iris', Qualifier: '7', ProvisionedConcurrentExecutions: 2 });
    expect(
      lambdaMock.commandCalls(GetProvisionedConcurrencyConfigCommand)[0]!.args[0].input,
    ).toEqual({ FunctionName: 'iris', Qualifier: '7' });
    expect(clock.slept).toEqual([2000]);
    expect(logger.lines).toContain('Version 7: 2 provisioned environment(s) READY');
    expect(lambdaMock.commandCalls(DeleteProvisionedConcurrencyConfigCommand)).toHaveLength(0);
  });

  test('FAILED: the allocation is removed and the error gives Lambda reason', async () => {
    lambdaMock.on(PutProvisionedConcurrencyConfigCommand).resolves({});
    lambdaMock
      .on(GetProvisionedConcurrencyConfigCommand)
      .resolves({ Status: 'FAILED', StatusReason: 'FUNCTION_ERROR_INIT_FAILURE' });
    lambdaMock.on(DeleteProvisionedConcurrencyConfigCommand).resolves({});
    await expect(provisionVersion(lambda, 'iris', '7', 2, { clock: fakeClock() })).rejects.toThrow(
      "Provisioned concurrency 2 on version 7 of 'iris' allocation FAILED: FUNCTION_ERROR_INIT_FAILURE; no traffic was moved to it.",
    );
    expect(
      lambdaMock.commandCalls(DeleteProvisionedConcurrencyConfigCommand)[0]!.args[0].input,
    ).toEqual({ FunctionName: 'iris', Qualifier: '7' });
  });

  test('never READY within the wait: removed, and the error says how far it got', async () => {
    lambdaMock.on(PutProvisionedConcurrencyConfigCommand).resolves({});
    lambdaMock
      .on(GetProvisionedConcurrencyConfigCommand)
      .resolves({ Status: 'IN_PROGRESS', AvailableProvisionedConcurrentExecutions: 1 });
    lambdaMock.on(DeleteProvisionedConcurrencyConfigCommand).resolves({});
    await expect(
      provisionVersion(lambda, 'iris', '7', 4, {
        clock: fakeClock(),
        timeoutMs: 20_000,
        pollMs: 5000,
      }),
    ).rejects.toThrow(/not READY after 20 s \(1 of 4 available\)/);
    expect(lambdaMock.commandCalls(DeleteProvisionedConcurrencyConfigCommand)).toHaveLength(1);
  });

  test('released from versions no alias serves; alias qualifiers and served versions kept', async () => {
    lambdaMock
      .on(ListProvisionedConcurrencyConfigsCommand)
      .resolvesOnce({
        ProvisionedConcurrencyConfigs: [{ FunctionArn: `${ARN}:5` }, { FunctionArn: `${ARN}:6` }],
        NextMarker: 'm',
      })
      .resolves({
        ProvisionedConcurrencyConfigs: [
          { FunctionArn: `${ARN}:live` },
          { FunctionArn: `${ARN}:7` },
        ],
      });
    lambdaMock.on(DeleteProvisionedConcurrencyConfigCommand).resolves({});
    const released = await releaseUnservedProvisioned(lambda, 'iris', new Set(['7', '6']));
    expect(released).toEqual(['5']);
    expect(
      lambdaMock.commandCalls(ListProvisionedConcurrencyConfigsCommand)[1]!.args[0].input,
    ).toEqual({ FunctionName: 'iris', Marker: 'm' });
    expect(
      lambdaMock
        .commandCalls(DeleteProvisionedConcurrencyConfigCommand)
        .map((c) => c.args[0].input),
    ).toEqual([{ FunctionName: 'iris', Qualifier: '5' }]);
    expect(provisionedToRelease([{ FunctionArn: `${ARN}:prod` }], new Set())).toEqual([]);
  });
});
