import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  GetAliasCommand,
  GetFunctionConfigurationCommand,
  InvokeCommand,
  LambdaClient,
  PreconditionFailedException,
  ResourceNotFoundException,
  UpdateAliasCommand,
  type InvokeCommandOutput,
} from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { runPipeline } from '../../src/pipelines/index.js';
import { commitOfVersion, resolveRollbackTarget } from '../../src/pipelines/rollback.js';
import { parseAliasDescription, type AliasState } from '../../src/release/traffic/alias-plan.js';
import { fakeRunContext } from './support/run-context.js';
import type { RollbackSettings } from '../../src/settings.js';

const alias = (over: Partial<AliasState> = {}): AliasState => ({
  functionName: 'iris',
  alias: 'prod',
  exists: true,
  functionVersion: '5',
  weights: {},
  revisionId: 'r1',
  description: 'lambda-ml-deploy: previous=4 sha=abc',
  ...over,
});

describe('resolveRollbackTarget', () => {
  test('previous comes from the description marker', () => {
    expect(resolveRollbackTarget(alias(), 'previous')).toEqual({
      kind: 'move',
      version: '4',
      source: 'previous',
    });
  });

  test('a number is used as given', () => {
    expect(resolveRollbackTarget(alias(), 3)).toEqual({
      kind: 'move',
      version: '3',
      source: 'input',
    });
  });

  test('the version already served alone is a no-op; mid-shift it is a move', () => {
    expect(resolveRollbackTarget(alias(), 5)).toEqual({
      kind: 'noop',
      version: '5',
      source: 'input',
    });
    expect(resolveRollbackTarget(alias({ weights: { '6': 0.1 } }), 5).kind).toBe('move');
    expect(
      resolveRollbackTarget(alias({ description: 'lambda-ml-deploy: previous=5' }), 'previous')
        .kind,
    ).toBe('noop');
  });

  test('no marker (or previous=none): says so and asks for a number', () => {
    for (const description of [undefined, 'hand-made alias', 'lambda-ml-deploy: previous=none']) {
      expect(() => resolveRollbackTarget(alias({ description }), 'previous')).toThrow(
        /Input 'rollback-to': alias 'prod' has no recorded previous version.*Pass a version number instead, e\.g\. `rollback-to: 12`/,
      );
    }
  });

  test('a missing alias is an error naming it', () => {
    expect(() =>
      resolveRollbackTarget({ functionName: 'iris', alias: 'prod', exists: false, weights: {} }, 3),
    ).toThrow("Alias 'prod' of function 'iris' does not exist");
  });
});

test('commitOfVersion reads the commit from a version description written by publish', () => {
  expect(commitOfVersion('lambda-ml-deploy | commit 0123456789ab | bundle ffff | https://x')).toBe(
    '0123456789ab',
  );
  expect(commitOfVersion('something else')).toBeUndefined();
  expect(commitOfVersion(undefined)).toBeUndefined();
});

// ---- the pipeline against a mocked Lambda ---------------------------------------------------

const lambdaMock = mockClient(LambdaClient);
const encode = (value: unknown) =>
  new TextEncoder().encode(JSON.stringify(value)) as unknown as InvokeCommandOutput['Payload'];
const notFound = (message: string) =>
  new ResourceNotFoundException({ message, $metadata: { httpStatusCode: 404 } });

interface FakeAlias {
  version: string;
  weights: Record<string, number>;
  revision: number;
  description: string;
}

/** Versions (with what they answer) and one alias, with RevisionId checks like Lambda's. */
function fakeLambda(state: {
  versions: Record<string, { species: string; description?: string }>;
  prod?: FakeAlias;
}) {
  const aliasOut = (a: FakeAlias) => ({
    Name: 'prod',
    AliasArn: 'arn:aws:lambda:us-east-1:123456789012:function:iris:prod',
    FunctionVersion: a.version,
    RevisionId: `rev-${a.revision}`,
    Description: a.description,
    RoutingConfig: { AdditionalVersionWeights: a.weights },
  });
  lambdaMock.on(GetAliasCommand).callsFake(async () => {
    if (!state.prod) throw notFound('Cannot find alias arn: prod');
    return aliasOut(state.prod);
  });
  lambdaMock.on(UpdateAliasCommand).callsFake(async (input) => {
    const current = state.prod!;
    if (input.RevisionId !== `rev-${current.revision}`)
      throw new PreconditionFailedException({
        message: 'The RevisionId provided does not match',
        $metadata: {},
      });
    state.prod = {
      version: input.FunctionVersion,
      weights: input.RoutingConfig?.AdditionalVersionWeights ?? {},
      revision: current.revision + 1,
      description: input.Description ?? current.description,
    };
    return aliasOut(state.prod);
  });
  lambdaMock.on(GetFunctionConfigurationCommand).callsFake(async (input) => {
    const v = state.versions[input.Qualifier ?? ''];
    if (!v)
      throw notFound(
        `Function not found: arn:aws:lambda:us-east-1:123456789012:function:iris:${input.Qualifier}`,
      );
    return {
      FunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:iris:${input.Qualifier}`,
      Version: input.Qualifier,
      Description: v.description,
      Layers: [],
      Environment: { Variables: {} },
    };
  });
  lambdaMock.on(InvokeCommand).callsFake(async (input) => {
    const v = state.versions[input.Qualifier ?? ''];
    return {
      StatusCode: 200,
      ExecutedVersion: input.Qualifier,
      Payload: encode({ species: v?.species ?? 'none' }),
    };
  });
  return state;
}

let tmp: string;
beforeEach(() => {
  lambdaMock.reset();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rollback-'));
  fs.writeFileSync(
    path.join(tmp, 'smoke.yml'),
    'cases:\n  - name: virginica\n    event: {sl: 6.9}\n    expect:\n      payload: {species: virginica}\n',
  );
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

function context(over: Partial<RollbackSettings> = {}) {
  const settings: RollbackSettings = {
    mode: 'rollback',
    auth: {
      region: 'us-east-1',
      audience: 'sts.amazonaws.com',
      roleSessionName: 's',
      roleDurationSeconds: 3600,
    },
    functionName: 'iris',
    alias: 'prod',
    dryRun: false,
    workspace: tmp,
    rollbackTo: 'previous',
    smokeTests: path.join(tmp, 'smoke.yml'),
    ...over,
  };
  return fakeRunContext({
    settings,
    workspace: tmp,
    github: { payload: { inputs: { version: 'previous' } } },
    run: async () => ({ exitCode: 1, stdout: '', stderr: 'no commands in this test' }),
  });
}

describe('rollback pipeline', () => {
  test('previous: smoke tests on the target, then prod moves with previous=<old> recorded', async () => {
    const state = fakeLambda({
      versions: {
        '4': {
          species: 'virginica',
          description: 'lambda-ml-deploy | commit 0123456789ab | bundle x',
        },
        '5': { species: 'virginica' },
      },
      prod: {
        version: '5',
        weights: {},
        revision: 1,
        description: 'Production | lambda-ml-deploy: previous=4 sha=bbb',
      },
    });
    const { ctx, outputs, report } = context();
    await runPipeline(ctx);
    expect(state.prod).toMatchObject({ version: '4', weights: {} });
    expect(state.prod!.description).toBe(
      'Production | lambda-ml-deploy: previous=5 sha=0123456789ab',
    );
    expect(parseAliasDescription(state.prod!.description)?.previous).toBe('5');
    expect(lambdaMock.commandCalls(InvokeCommand).map((c) => c.args[0].input.Qualifier)).toEqual([
      '4',
    ]);
    expect(lambdaMock.commandCalls(UpdateAliasCommand)[0]!.args[0].input.RevisionId).toBe('rev-1');
    expect(outputs.values).toMatchObject({
      version: '4',
      'previous-version': '5',
      'alias-arn': 'arn:aws:lambda:us-east-1:123456789012:function:iris:prod',
      'smoke-result': 'passed',
      'rolled-back': 'false',
      changed: 'true',
    });
    const summary = report.toMarkdown();
    expect(summary).toContain('Rollback: `prod` 5 → 4');
    expect(summary).toContain('| prod | prod -> 5 | prod -> 4 |');
  });

  test('rolling back twice with previous rolls forward again', async () => {
    const state = fakeLambda({
      versions: { '4': { species: 'virginica' }, '5': { species: 'virginica' } },
      prod: { version: '5', weights: {}, revision: 1, description: 'lambda-ml-deploy: previous=4' },
    });
    await runPipeline(context().ctx);
    await runPipeline(context().ctx);
    expect(state.prod!.version).toBe('5');
  });

  test('a target whose smoke tests fail leaves prod where it was and fails', async () => {
    const state = fakeLambda({
      versions: { '3': { species: 'setosa' }, '5': { species: 'virginica' } },
      prod: { version: '5', weights: {}, revision: 1, description: 'lambda-ml-deploy: previous=4' },
    });
    const { ctx, outputs } = context({ rollbackTo: 3 });
    await expect(runPipeline(ctx)).rejects.toThrow(
      /Version 3 failed its smoke tests, so alias 'prod' was not moved \(still prod -> 5\): 1 of 1 smoke cases failed: 'virginica'/,
    );
    expect(state.prod).toMatchObject({ version: '5', revision: 1 });
    expect(lambdaMock.commandCalls(UpdateAliasCommand)).toHaveLength(0);
    expect(outputs.values['smoke-result']).toBe('failed');
    expect(outputs.values.changed).toBe('false');
  });

  test('a missing version fails with a message naming rollback-to, before any invoke', async () => {
    fakeLambda({
      versions: { '5': { species: 'virginica' } },
      prod: { version: '5', weights: {}, revision: 1, description: '' },
    });
    const { ctx } = context({ rollbackTo: 42 });
    await expect(runPipeline(ctx)).rejects.toThrow(
      /Input 'rollback-to': version 42 of function 'iris' does not exist \(the rollback-to input;.*list-versions-by-function/,
    );
    expect(lambdaMock.commandCalls(InvokeCommand)).toHaveLength(0);
    expect(lambdaMock.commandCalls(UpdateAliasCommand)).toHaveLength(0);
  });

  test('the version already served: a notice, exit 0, nothing moved or invoked', async () => {
    const state = fakeLambda({
      versions: { '5': { species: 'virginica' } },
      prod: { version: '5', weights: {}, revision: 1, description: '' },
    });
    const { ctx, logger, outputs } = context({ rollbackTo: 5 });
    await runPipeline(ctx);
    expect(state.prod!.revision).toBe(1);
    expect(logger.lines).toContain(
      "notice: Alias 'prod' already serves version 5: nothing to roll back.",
    );
    expect(outputs.values).toMatchObject({
      changed: 'false',
      'smoke-result': 'skipped',
      version: '5',
    });
    expect(lambdaMock.commandCalls(InvokeCommand)).toHaveLength(0);
  });

  test('no recorded previous version: fails asking for a number', async () => {
    fakeLambda({
      versions: { '5': { species: 'virginica' } },
      prod: { version: '5', weights: {}, revision: 1, description: 'made by hand' },
    });
    await expect(runPipeline(context().ctx)).rejects.toThrow(/no recorded previous version/);
  });

  test('an alias moved by someone else during the smoke tests is not overwritten', async () => {
    const state = fakeLambda({
      versions: {
        '4': { species: 'virginica' },
        '5': { species: 'virginica' },
        '6': { species: 'virginica' },
      },
      prod: { version: '5', weights: {}, revision: 1, description: 'lambda-ml-deploy: previous=4' },
    });
    lambdaMock.on(InvokeCommand).callsFake(async (input) => {
      state.prod = {
        version: '6',
        weights: {},
        revision: 2,
        description: 'lambda-ml-deploy: previous=5',
      }; // a deploy lands meanwhile
      return {
        StatusCode: 200,
        ExecutedVersion: input.Qualifier,
        Payload: encode({ species: 'virginica' }),
      };
    });
    await expect(runPipeline(context().ctx)).rejects.toThrow(/was changed by someone else/);
    expect(state.prod!.version).toBe('6');
    expect(lambdaMock.commandCalls(UpdateAliasCommand)).toHaveLength(0);
  });

  test('without smoke tests it warns and moves', async () => {
    const state = fakeLambda({
      versions: { '4': { species: 'x' }, '5': { species: 'y' } },
      prod: { version: '5', weights: {}, revision: 1, description: 'lambda-ml-deploy: previous=4' },
    });
    const { ctx, logger, outputs } = context({ smokeTests: undefined });
    await runPipeline(ctx);
    expect(state.prod!.version).toBe('4');
    expect(outputs.values['smoke-result']).toBe('skipped');
    expect(logger.lines.some((l) => l.startsWith('warning: No smoke-tests input'))).toBe(true);
  });

  test('dry run: reports the plan and moves nothing', async () => {
    const state = fakeLambda({
      versions: { '4': { species: 'x' }, '5': { species: 'y' } },
      prod: { version: '5', weights: {}, revision: 1, description: 'lambda-ml-deploy: previous=4' },
    });
    const { ctx, report } = context({ dryRun: true });
    await runPipeline(ctx);
    expect(state.prod!.revision).toBe(1);
    expect(lambdaMock.commandCalls(InvokeCommand)).toHaveLength(0);
    expect(report.toMarkdown()).toContain('Would run the smoke tests on version 4');
  });
});
