import {
  CreateAliasCommand,
  DeleteAliasCommand,
  GetAliasCommand,
  LambdaClient,
  PreconditionFailedException,
  ResourceConflictException,
  ResourceNotFoundException,
  ServiceException,
  TooManyRequestsException,
  UpdateAliasCommand,
} from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { createAwsClients, destroyAwsClients } from '../../src/aws/clients.js';
import { memoryLogger } from '../../src/log.js';
import {
  AliasConflictError,
  createAlias,
  deleteAlias,
  pointAlias,
  readAlias,
  restoreAlias,
} from '../../src/release/traffic/alias.js';
import type { AliasState } from '../../src/release/traffic/alias-plan.js';

const lambdaMock = mockClient(LambdaClient);
const lambda = new LambdaClient({ region: 'us-east-1' });
const sleeps: number[] = [];
const options = { sleep: async (ms: number) => void sleeps.push(ms) };
const meta = (status: number) => ({ $metadata: { httpStatusCode: status } });

const aliasConfig = (
  version: string,
  revision: string,
  weights?: Record<string, number>,
  description = '',
) => ({
  AliasArn: `arn:aws:lambda:us-east-1:123456789012:function:iris:prod`,
  Name: 'prod',
  FunctionVersion: version,
  RevisionId: revision,
  Description: description,
  ...(weights ? { RoutingConfig: { AdditionalVersionWeights: weights } } : {}),
});

const snapshot = (over: Partial<AliasState> = {}): AliasState => ({
  functionName: 'iris',
  alias: 'prod',
  exists: true,
  functionVersion: '12',
  weights: {},
  revisionId: 'r1',
  description: 'Production',
  ...over,
});

beforeEach(() => {
  lambdaMock.reset();
  sleeps.length = 0;
});

describe('readAlias', () => {
  test('returns version, routing weights, revision and description', async () => {
    lambdaMock
      .on(GetAliasCommand, { FunctionName: 'iris', Name: 'prod' })
      .resolves(aliasConfig('12', 'r1', { '13': 0.1 }, 'd'));
    expect(await readAlias(lambda, 'iris', 'prod', options)).toEqual({
      functionName: 'iris',
      alias: 'prod',
      exists: true,
      functionVersion: '12',
      weights: { '13': 0.1 },
      revisionId: 'r1',
      description: 'd',
      aliasArn: 'arn:aws:lambda:us-east-1:123456789012:function:iris:prod',
    });
  });

  test('a missing alias is exists: false', async () => {
    lambdaMock.on(GetAliasCommand).rejects(
      new ResourceNotFoundException({
        message: 'Cannot find alias arn: arn:...:iris:prod',
        ...meta(404),
      }),
    );
    expect(await readAlias(lambda, 'iris', 'prod', options)).toEqual({
      functionName: 'iris',
      alias: 'prod',
      exists: false,
      weights: {},
    });
  });

  test('a missing function is an error that names it', async () => {
    lambdaMock.on(GetAliasCommand).rejects(
      new ResourceNotFoundException({
        message: 'Function not found: arn:aws:lambda:...:iris',
        ...meta(404),
      }),
    );
    await expect(readAlias(lambda, 'iris', 'prod', options)).rejects.toThrow(
      /Function 'iris' does not exist \(reading alias 'prod'\)/,
    );
  });

  test('throttling is retried', async () => {
    lambdaMock
      .on(GetAliasCommand)
      .rejectsOnce(new TooManyRequestsException({ message: 'Rate exceeded', ...meta(429) }))
      .resolves(aliasConfig('12', 'r1'));
    expect((await readAlias(lambda, 'iris', 'prod', options)).functionVersion).toBe('12');
    expect(sleeps).toHaveLength(1);
  });
});

describe('pointAlias', () => {
  test('always sends RevisionId and RoutingConfig (weights of the additional version)', async () => {
    lambdaMock.on(UpdateAliasCommand).resolves(aliasConfig('12', 'r2', { '13': 0.1 }, 'x'));
    const state = await pointAlias(
      lambda,
      {
        functionName: 'iris',
        alias: 'prod',
        version: '12',
        weights: { '13': 0.1 },
        revisionId: 'r1',
        description: 'x',
      },
      options,
    );
    expect(lambdaMock.commandCalls(UpdateAliasCommand)[0]!.args[0].input).toEqual({
      FunctionName: 'iris',
      Name: 'prod',
      FunctionVersion: '12',
      RoutingConfig: { AdditionalVersionWeights: { '13': 0.1 } },
      RevisionId: 'r1',
      Description: 'x',
    });
    expect(state).toMatchObject({
      functionVersion: '12',
      weights: { '13': 0.1 },
      revisionId: 'r2',
    });
  });

  test('promoting clears the routing config with an empty weights map', async () => {
    lambdaMock.on(UpdateAliasCommand).resolves(aliasConfig('13', 'r3'));
    await pointAlias(
      lambda,
      { functionName: 'iris', alias: 'prod', version: '13', revisionId: 'r2' },
      options,
    );
    expect(lambdaMock.commandCalls(UpdateAliasCommand)[0]!.args[0].input.RoutingConfig).toEqual({
      AdditionalVersionWeights: {},
    });
  });

  test('PreconditionFailed (another run moved the alias) is reported and NOT retried', async () => {
    lambdaMock.on(UpdateAliasCommand).rejects(
      new PreconditionFailedException({
        message: 'The Revision Id provided does not match',
        ...meta(412),
      }),
    );
    const attempt = pointAlias(
      lambda,
      { functionName: 'iris', alias: 'prod', version: '13', revisionId: 'r1' },
      options,
    );
    await expect(attempt).rejects.toBeInstanceOf(AliasConflictError);
    await expect(attempt).rejects.toThrow(
      /Alias 'prod' of function 'iris' was changed by someone else.*its revision is no longer r1.*did not overwrite it/,
    );
    expect(lambdaMock.commandCalls(UpdateAliasCommand)).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  test('a throttled UpdateAlias is retried with backoff, same RevisionId', async () => {
    const logger = memoryLogger();
    lambdaMock
      .on(UpdateAliasCommand)
      .rejectsOnce(new TooManyRequestsException({ message: 'Rate exceeded', ...meta(429) }))
      .rejectsOnce(
        new ResourceConflictException({ message: 'An update is in progress', ...meta(409) }),
      )
      .resolves(aliasConfig('13', 'r2'));
    const state = await pointAlias(
      lambda,
      { functionName: 'iris', alias: 'prod', version: '13', revisionId: 'r1' },
      { ...options, logger },
    );
    expect(state.functionVersion).toBe('13');
    const calls = lambdaMock.commandCalls(UpdateAliasCommand);
    expect(calls).toHaveLength(3);
    expect(calls.map((c) => c.args[0].input.RevisionId)).toEqual(['r1', 'r1', 'r1']);
    expect(sleeps).toHaveLength(2);
    expect(sleeps[1]!).toBeGreaterThanOrEqual(sleeps[0]! / 2);
    expect(
      logger.lines.some((l) => /UpdateAlias iris:prod: TooManyRequestsException, retry 1/.test(l)),
    ).toBe(true);
  });

  test('a retry that finds its own earlier attempt applied is a success, not a conflict', async () => {
    lambdaMock
      .on(UpdateAliasCommand)
      .rejectsOnce(new TooManyRequestsException({ message: 'timeout after apply', ...meta(503) }))
      .rejects(new PreconditionFailedException({ message: 'revision mismatch', ...meta(412) }));
    lambdaMock.on(GetAliasCommand).resolves(aliasConfig('13', 'r9', undefined, 'd'));
    const state = await pointAlias(
      lambda,
      { functionName: 'iris', alias: 'prod', version: '13', revisionId: 'r1', description: 'd' },
      options,
    );
    expect(state).toMatchObject({ functionVersion: '13', revisionId: 'r9' });
  });

  test('refuses to update without a revision', async () => {
    await expect(
      pointAlias(
        lambda,
        { functionName: 'iris', alias: 'prod', version: '13', revisionId: '' },
        options,
      ),
    ).rejects.toThrow(/needs the RevisionId/);
    expect(lambdaMock.commandCalls(UpdateAliasCommand)).toHaveLength(0);
  });
});

describe('createAlias / deleteAlias', () => {
  test('creates with version and description', async () => {
    lambdaMock.on(CreateAliasCommand).resolves(aliasConfig('1', 'r1', undefined, 'd'));
    const state = await createAlias(
      lambda,
      { functionName: 'iris', alias: 'prod', version: '1', description: 'd' },
      options,
    );
    expect(lambdaMock.commandCalls(CreateAliasCommand)[0]!.args[0].input).toEqual({
      FunctionName: 'iris',
      Name: 'prod',
      FunctionVersion: '1',
      Description: 'd',
    });
    expect(state).toMatchObject({ exists: true, functionVersion: '1' });
  });

  test('"already exists" means another run created it first: conflict, not retried', async () => {
    lambdaMock.on(CreateAliasCommand).rejects(
      new ResourceConflictException({
        message: 'Alias already exists: arn:...:prod',
        ...meta(409),
      }),
    );
    await expect(
      createAlias(lambda, { functionName: 'iris', alias: 'prod', version: '1' }, options),
    ).rejects.toBeInstanceOf(AliasConflictError);
    expect(lambdaMock.commandCalls(CreateAliasCommand)).toHaveLength(1);
  });

  test('deleting an alias that is already gone is fine', async () => {
    lambdaMock
      .on(DeleteAliasCommand)
      .rejects(new ResourceNotFoundException({ message: 'gone', ...meta(404) }));
    await expect(deleteAlias(lambda, 'iris', 'prod', options)).resolves.toBeUndefined();
  });
});

describe('restoreAlias', () => {
  test('puts back the snapshot version, clears weights, restores the description, guarded by the revision just read', async () => {
    lambdaMock.on(GetAliasCommand).resolves(aliasConfig('12', 'r5', { '13': 0.1 }, 'marker'));
    lambdaMock.on(UpdateAliasCommand).resolves(aliasConfig('12', 'r6', undefined, 'Production'));
    const result = await restoreAlias(lambda, snapshot(), { ...options, ownVersion: '13' });
    expect(result.action).toBe('restored');
    expect(lambdaMock.commandCalls(UpdateAliasCommand)[0]!.args[0].input).toEqual({
      FunctionName: 'iris',
      Name: 'prod',
      FunctionVersion: '12',
      RoutingConfig: { AdditionalVersionWeights: {} },
      RevisionId: 'r5',
      Description: 'Production',
    });
    expect(result.after).toMatchObject({ functionVersion: '12', weights: {} });
  });

  test('a snapshot that was itself mid-shift is restored without weights', async () => {
    lambdaMock.on(GetAliasCommand).resolves(aliasConfig('13', 'r5', undefined, 'x'));
    lambdaMock.on(UpdateAliasCommand).resolves(aliasConfig('12', 'r6'));
    await restoreAlias(lambda, snapshot({ weights: { '11': 0.5 } }), {
      ...options,
      ownVersion: '13',
    });
    expect(lambdaMock.commandCalls(UpdateAliasCommand)[0]!.args[0].input.RoutingConfig).toEqual({
      AdditionalVersionWeights: {},
    });
  });

  test('nothing to do when the alias already is as it was', async () => {
    lambdaMock.on(GetAliasCommand).resolves(aliasConfig('12', 'r1', undefined, 'Production'));
    expect((await restoreAlias(lambda, snapshot(), options)).action).toBe('unchanged');
    expect(lambdaMock.commandCalls(UpdateAliasCommand)).toHaveLength(0);
  });

  test('first deploy: the alias did not exist before, so restoring deletes it', async () => {
    lambdaMock.on(GetAliasCommand).resolves(aliasConfig('1', 'r1'));
    lambdaMock.on(DeleteAliasCommand).resolves({});
    const result = await restoreAlias(
      lambda,
      snapshot({ exists: false, functionVersion: undefined, revisionId: undefined }),
      { ...options, ownVersion: '1' },
    );
    expect(result.action).toBe('deleted');
    expect(lambdaMock.commandCalls(DeleteAliasCommand)[0]!.args[0].input).toEqual({
      FunctionName: 'iris',
      Name: 'prod',
    });
  });

  test('backs off when another run moved the alias to a third version', async () => {
    lambdaMock.on(GetAliasCommand).resolves(aliasConfig('14', 'r7'));
    await expect(
      restoreAlias(lambda, snapshot(), { ...options, ownVersion: '13' }),
    ).rejects.toThrow(
      /neither how it was before this run \('prod -> 12'\) nor version 13 of this run; not restoring/,
    );
    expect(lambdaMock.commandCalls(UpdateAliasCommand)).toHaveLength(0);
  });

  test('a conflict during the restore update is reported, not retried', async () => {
    lambdaMock.on(GetAliasCommand).resolves(aliasConfig('13', 'r5'));
    lambdaMock
      .on(UpdateAliasCommand)
      .rejects(new PreconditionFailedException({ message: 'mismatch', ...meta(412) }));
    await expect(
      restoreAlias(lambda, snapshot(), { ...options, ownVersion: '13' }),
    ).rejects.toBeInstanceOf(AliasConflictError);
    expect(lambdaMock.commandCalls(UpdateAliasCommand)).toHaveLength(1);
  });
});

describe('one retry layer: an unanswered write is read back before anything is re-sent', () => {
  test('the Lambda client does not retry inside the SDK', async () => {
    const clients = createAwsClients({ region: 'us-east-1' });
    try {
      expect(await clients.lambda.config.maxAttempts()).toBe(1);
      expect(await clients.cloudwatch.config.maxAttempts()).toBe(1);
    } finally {
      destroyAwsClients(clients);
    }
  });

  test('UpdateAlias landed but its answer was lost (503): success, not re-sent, not a conflict', async () => {
    lambdaMock
      .on(UpdateAliasCommand)
      .rejects(new ServiceException({ message: 'Service unavailable', ...meta(503) }));
    lambdaMock.on(GetAliasCommand).resolves(aliasConfig('12', 'r2', { '13': 0.1 }, 'd'));
    const state = await pointAlias(
      lambda,
      {
        functionName: 'iris',
        alias: 'prod',
        version: '12',
        weights: { '13': 0.1 },
        revisionId: 'r1',
        description: 'd',
      },
      options,
    );
    expect(state).toMatchObject({
      functionVersion: '12',
      weights: { '13': 0.1 },
      revisionId: 'r2',
    });
    expect(lambdaMock.commandCalls(UpdateAliasCommand)).toHaveLength(1);
  });

  test('a connection reset before the write landed: still at our revision, so it is sent again', async () => {
    lambdaMock
      .on(UpdateAliasCommand)
      .rejectsOnce(Object.assign(new Error('socket hang up'), { name: 'ECONNRESET' }))
      .resolves(aliasConfig('13', 'r2', undefined, 'd'));
    lambdaMock.on(GetAliasCommand).resolves(aliasConfig('12', 'r1', undefined, 'd'));
    const state = await pointAlias(
      lambda,
      { functionName: 'iris', alias: 'prod', version: '13', revisionId: 'r1', description: 'd' },
      options,
    );
    expect(state).toMatchObject({ functionVersion: '13' });
    expect(lambdaMock.commandCalls(UpdateAliasCommand)).toHaveLength(2);
  });

  test('after an unanswered write someone else moved the alias: a named conflict, not re-sent', async () => {
    lambdaMock
      .on(UpdateAliasCommand)
      .rejects(new ServiceException({ message: 'Internal error', ...meta(500) }));
    lambdaMock.on(GetAliasCommand).resolves(aliasConfig('14', 'r7', undefined, 'other run'));
    await expect(
      pointAlias(
        lambda,
        { functionName: 'iris', alias: 'prod', version: '13', revisionId: 'r1', description: 'd' },
        options,
      ),
    ).rejects.toThrow(/Alias 'prod' .* changed by someone else.*reads 'prod -> 14'/);
    expect(lambdaMock.commandCalls(UpdateAliasCommand)).toHaveLength(1);
  });

  test('CreateAlias landed but its answer was lost: success, even though a retry would say "already exists"', async () => {
    lambdaMock
      .on(CreateAliasCommand)
      .rejectsOnce(new ServiceException({ message: 'Service unavailable', ...meta(503) }))
      .rejects(new ResourceConflictException({ message: 'Alias already exists', ...meta(409) }));
    lambdaMock.on(GetAliasCommand).resolves(aliasConfig('1', 'r1', undefined, 'd'));
    const state = await createAlias(
      lambda,
      { functionName: 'iris', alias: 'prod', version: '1', description: 'd' },
      options,
    );
    expect(state).toMatchObject({ exists: true, functionVersion: '1' });
    expect(lambdaMock.commandCalls(CreateAliasCommand)).toHaveLength(1);
  });
});
