import { decideChange } from '../../src/release/function/change.js';
import {
  configChanges,
  desiredLayers,
  type FunctionState,
} from '../../src/release/function/function.js';
import { readShiftState, shiftStateValue } from '../../src/release/traffic/shift-state.js';
import { protectedVersions, versionsToDelete } from '../../src/release/function/versions.js';
import type { AliasState } from '../../src/release/traffic/alias-plan.js';
import type { ShiftEvent } from '../../src/release/traffic/bake.js';

const layer = (name: string, v: number) =>
  `arn:aws:lambda:us-east-1:123456789012:layer:${name}:${v}`;
const fn: FunctionState = {
  exists: true,
  codeSha256: 'sha-A',
  layers: [layer('shared-utils', 3), layer('iris-deps', 1)],
  runtime: 'python3.12',
  handler: 'lambda_function.lambda_handler',
  architecture: 'x86_64',
  memorySize: 512,
  timeout: 30,
  environment: { LOG_LEVEL: 'info' },
};
const desired = {
  runtime: 'python3.12',
  handler: 'lambda_function.lambda_handler',
  architecture: 'x86_64',
  layerArn: layer('iris-deps', 1),
  layerName: 'iris-deps',
};
const prod: AliasState = {
  functionName: 'iris',
  alias: 'prod',
  exists: true,
  functionVersion: '4',
  weights: {},
};

describe('desiredLayers', () => {
  it('replaces only our layer and keeps the others in order', () => {
    expect(desiredLayers(fn.layers, 'iris-deps', layer('iris-deps', 2))).toEqual([
      layer('shared-utils', 3),
      layer('iris-deps', 2),
    ]);
    expect(desiredLayers(fn.layers, 'iris-deps', undefined)).toEqual([layer('shared-utils', 3)]);
    expect(desiredLayers([], 'iris-deps', layer('iris-deps', 1))).toEqual([layer('iris-deps', 1)]);
  });
});

describe('configChanges', () => {
  it('is undefined when nothing differs', () => {
    expect(configChanges(fn, desired)).toBeUndefined();
    expect(
      configChanges(fn, { ...desired, memorySize: 512, environment: { LOG_LEVEL: 'info' } }),
    ).toBeUndefined();
  });
  it('lists only what differs, merging environment variables', () => {
    expect(
      configChanges(fn, {
        ...desired,
        layerArn: layer('iris-deps', 2),
        memorySize: 1024,
        environment: { MODEL: 'v2' },
      }),
    ).toEqual({
      Layers: [layer('shared-utils', 3), layer('iris-deps', 2)],
      MemorySize: 1024,
      Environment: { Variables: { LOG_LEVEL: 'info', MODEL: 'v2' } },
    });
    expect(configChanges(fn, { ...desired, handler: 'app.handler', timeout: 60 })).toEqual({
      Handler: 'app.handler',
      Timeout: 60,
    });
  });
});

describe('decideChange', () => {
  const served: FunctionState = { ...fn };
  it('creates a missing function', () => {
    expect(
      decideChange({
        fn: { exists: false, layers: [], environment: {} },
        codeSha256: 'x',
        alias: prod,
      }),
    ).toEqual({ kind: 'create' });
  });
  it('updates code and/or configuration', () => {
    expect(decideChange({ fn, codeSha256: 'sha-B', alias: prod, servedVersion: served })).toEqual({
      kind: 'update',
      code: true,
      config: false,
    });
    expect(
      decideChange({
        fn,
        codeSha256: 'sha-A',
        configChanges: { MemorySize: 1024 },
        alias: prod,
        servedVersion: served,
      }),
    ).toEqual({ kind: 'update', code: false, config: true });
  });
  it('is unchanged only when the alias already serves this bundle and layer with no weights', () => {
    expect(decideChange({ fn, codeSha256: 'sha-A', alias: prod, servedVersion: served })).toEqual({
      kind: 'unchanged',
      version: '4',
    });
    expect(
      decideChange({ fn, codeSha256: 'sha-A', alias: { ...prod, weights: { '5': 0.1 } } }),
    ).toEqual({ kind: 'publish-only' });
    expect(
      decideChange({
        fn,
        codeSha256: 'sha-A',
        alias: prod,
        servedVersion: { ...served, codeSha256: 'sha-old' },
      }),
    ).toEqual({ kind: 'publish-only' });
    expect(
      decideChange({
        fn,
        codeSha256: 'sha-A',
        alias: prod,
        servedVersion: { ...served, layers: [layer('iris-deps', 0)] },
      }),
    ).toEqual({ kind: 'publish-only' });
    expect(
      decideChange({
        fn,
        codeSha256: 'sha-A',
        alias: { ...prod, exists: false, functionVersion: undefined },
      }),
    ).toEqual({ kind: 'publish-only' });
  });
});

describe('retention planning', () => {
  it('keeps the newest N unprotected versions and every aliased or rollback-target one', () => {
    const referenced = new Set(
      protectedVersions([
        {
          Name: 'prod',
          FunctionVersion: '5',
          RoutingConfig: { AdditionalVersionWeights: { '7': 0.1 } },
          Description: 'lambda-ml-deploy: previous=4',
        },
        { Name: 'pr-3', FunctionVersion: '2' },
      ]).keys(),
    );
    expect([...referenced].sort()).toEqual(['2', '4', '5', '7']);
    expect(
      versionsToDelete(['1', '2', '3', '4', '5', '6', '7', '8', '9', '10'], referenced, 2),
    ).toEqual(['1', '3', '6', '8']);
    expect(versionsToDelete(['1', '2'], new Set(), 5)).toEqual([]);
  });
});

describe('shift state for the post step', () => {
  const snapshot: AliasState = { ...prod };
  const auth = {
    region: 'eu-west-1',
    roleToAssume: 'arn:aws:iam::123456789012:role/deploy',
    audience: 'sts.amazonaws.com',
    roleSessionName: 'lambda-ml-deploy',
    roleDurationSeconds: 3600,
  };
  const value = (phase: ShiftEvent['phase'], percent: number, final: boolean) =>
    shiftStateValue(snapshot, '5', { phase, stepIndex: 0, percent }, final, auth);

  it('records a shift in progress, with what the post step needs, and clears it when done', () => {
    expect(readShiftState(value('shifted', 10, false))).toEqual({
      kind: 'pending',
      record: { auth, snapshot, newVersion: '5', phase: 'shifted', percent: 10 },
    });
    expect(readShiftState(value('shifted', 100, true))).toEqual({ kind: 'none' });
    expect(readShiftState(value('rolled-back', 10, false))).toEqual({ kind: 'none' });
    expect(readShiftState(value('rolling-back', 10, false)).kind).toBe('pending');
    expect(readShiftState('')).toEqual({ kind: 'none' });
  });

  it('a record that cannot be trusted is corrupt, never "nothing to undo"', () => {
    expect(readShiftState('{broken')).toMatchObject({ kind: 'corrupt', reason: /not JSON/ });
    expect(readShiftState('{}')).toEqual({ kind: 'corrupt', reason: 'no alias snapshot' });
    const record = JSON.parse(value('shifted', 10, false)) as Record<string, unknown>;
    expect(readShiftState(JSON.stringify({ ...record, auth: undefined }))).toEqual({
      kind: 'corrupt',
      reason: 'no region',
    });
    expect(readShiftState(JSON.stringify({ ...record, newVersion: '$LATEST' }))).toEqual({
      kind: 'corrupt',
      reason: 'no new version number',
    });
    expect(readShiftState('null').kind).toBe('corrupt');
  });
});
