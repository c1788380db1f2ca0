import {
  GetFunctionCommand,
  GetFunctionConfigurationCommand,
  LambdaClient,
  PreconditionFailedException,
  PublishVersionCommand,
  ServiceException,
  UpdateFunctionCodeCommand,
  UpdateFunctionConfigurationCommand,
  type FunctionConfiguration,
} from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import {
  FunctionConflictError,
  publishedDifferences,
  publishVersion,
  updateCode,
  updateConfiguration,
  type FunctionState,
} from '../../src/release/function/function.js';
import type { DesiredConfig } from '../../src/release/function/desired-config.js';

const lambdaMock = mockClient(LambdaClient);
const lambda = new LambdaClient({ region: 'us-east-1' });
const options = { sleep: async () => undefined, waitSeconds: 5 };
const meta = (status: number) => ({ $metadata: { httpStatusCode: status } });

const latest = (over: Partial<FunctionConfiguration> = {}): FunctionConfiguration => ({
  FunctionName: 'iris',
  CodeSha256: 'old-sha',
  RevisionId: 'r1',
  State: 'Active',
  LastUpdateStatus: 'Successful',
  Runtime: 'python3.12',
  Handler: 'lambda_function.lambda_handler',
  Architectures: ['x86_64'],
  MemorySize: 512,
  Timeout: 30,
  Layers: [],
  Environment: { Variables: {} },
  ...over,
});
/** $LATEST as GetFunctionConfiguration (and the waiter's GetFunction) read it now. */
function reads(config: FunctionConfiguration) {
  lambdaMock.on(GetFunctionConfigurationCommand).resolves(config);
  lambdaMock.on(GetFunctionCommand).resolves({ Configuration: config });
}

beforeEach(() => lambdaMock.reset());

describe('writes to $LATEST carry RevisionId', () => {
  test('UpdateFunctionCode, UpdateFunctionConfiguration and PublishVersion send it', async () => {
    reads(latest({ CodeSha256: 'new-sha', RevisionId: 'r2' }));
    lambdaMock
      .on(UpdateFunctionCodeCommand)
      .resolves(latest({ CodeSha256: 'new-sha', RevisionId: 'r2' }));
    lambdaMock.on(UpdateFunctionConfigurationCommand).resolves(latest({ RevisionId: 'r3' }));
    lambdaMock.on(PublishVersionCommand).resolves({ Version: '5', CodeSha256: 'new-sha' });
    const code = await updateCode(lambda, 'iris', { s3Bucket: 'b', s3Key: 'k.zip' }, 'x86_64', {
      ...options,
      revisionId: 'r1',
    });
    expect(code).toEqual({ codeSha256: 'new-sha', revisionId: 'r2' });
    await updateConfiguration(
      lambda,
      'iris',
      { MemorySize: 1024 },
      {
        ...options,
        revisionId: 'r2',
      },
    );
    await publishVersion(lambda, 'iris', 'new-sha', 'd', { ...options, revisionId: 'r3' });
    expect(lambdaMock.commandCalls(UpdateFunctionCodeCommand)[0]!.args[0].input.RevisionId).toBe(
      'r1',
    );
    expect(
      lambdaMock.commandCalls(UpdateFunctionConfigurationCommand)[0]!.args[0].input.RevisionId,
    ).toBe('r2');
    expect(lambdaMock.commandCalls(PublishVersionCommand)[0]!.args[0].input.RevisionId).toBe('r3');
  });

  test('a 412 (another run wrote $LATEST) is a named conflict, not retried', async () => {
    lambdaMock
      .on(UpdateFunctionConfigurationCommand)
      .rejects(new PreconditionFailedException({ message: 'revision mismatch', ...meta(412) }));
    await expect(
      updateConfiguration(lambda, 'iris', { MemorySize: 1024 }, { ...options, revisionId: 'r1' }),
    ).rejects.toBeInstanceOf(FunctionConflictError);
    expect(lambdaMock.commandCalls(UpdateFunctionConfigurationCommand)).toHaveLength(1);
  });
});

describe('after an unanswered write $LATEST is read back', () => {
  test('UpdateFunctionCode landed (503 after the write): success, not re-sent', async () => {
    lambdaMock
      .on(UpdateFunctionCodeCommand)
      .rejects(new ServiceException({ message: 'unavailable', ...meta(503) }));
    reads(latest({ CodeSha256: 'new-sha', RevisionId: 'r2' }));
    const code = await updateCode(lambda, 'iris', { s3Bucket: 'b', s3Key: 'k.zip' }, 'x86_64', {
      ...options,
      revisionId: 'r1',
      codeSha256: 'new-sha',
    });
    expect(code.codeSha256).toBe('new-sha');
    expect(lambdaMock.commandCalls(UpdateFunctionCodeCommand)).toHaveLength(1);
  });

  test('UpdateFunctionConfiguration did not land and nobody else wrote: sent again', async () => {
    lambdaMock
      .on(UpdateFunctionConfigurationCommand)
      .rejectsOnce(Object.assign(new Error('socket hang up'), { name: 'ECONNRESET' }))
      .resolves(latest({ MemorySize: 1024, RevisionId: 'r2' }));
    reads(latest());
    const desired: DesiredConfig = {
      runtime: 'python3.12',
      handler: 'lambda_function.lambda_handler',
      architecture: 'x86_64',
      layerName: 'iris-deps',
      memorySize: 1024,
    };
    await updateConfiguration(
      lambda,
      'iris',
      { MemorySize: 1024 },
      {
        ...options,
        revisionId: 'r1',
        desired,
      },
    );
    expect(lambdaMock.commandCalls(UpdateFunctionConfigurationCommand)).toHaveLength(2);
  });

  test('another run wrote $LATEST after our unanswered write: conflict, not re-sent', async () => {
    lambdaMock
      .on(UpdateFunctionCodeCommand)
      .rejects(new ServiceException({ message: 'internal', ...meta(500) }));
    reads(latest({ CodeSha256: 'their-sha', RevisionId: 'r9' }));
    await expect(
      updateCode(lambda, 'iris', { s3Bucket: 'b', s3Key: 'k.zip' }, 'x86_64', {
        ...options,
        revisionId: 'r1',
        codeSha256: 'new-sha',
      }),
    ).rejects.toThrow(/changed by someone else while this run was updating its code/);
    expect(lambdaMock.commandCalls(UpdateFunctionCodeCommand)).toHaveLength(1);
  });
});

describe('publishedDifferences', () => {
  const before: FunctionState = {
    exists: true,
    codeSha256: 'old',
    layers: [
      'arn:aws:lambda:us-east-1:1:layer:shared:3',
      'arn:aws:lambda:us-east-1:1:layer:iris-deps:1',
    ],
    runtime: 'python3.12',
    handler: 'app.handler',
    architecture: 'x86_64',
    memorySize: 512,
    timeout: 30,
    environment: { LOG_LEVEL: 'info' },
  };
  const desired: DesiredConfig = {
    runtime: 'python3.12',
    handler: 'app.handler',
    architecture: 'x86_64',
    layerName: 'iris-deps',
    layerArn: 'arn:aws:lambda:us-east-1:1:layer:iris-deps:2',
    memorySize: 1024,
    environment: { MODEL: 'v2' },
  };
  const exact: FunctionState = {
    ...before,
    codeSha256: 'new',
    layers: ['arn:aws:lambda:us-east-1:1:layer:shared:3', desired.layerArn!],
    memorySize: 1024,
    environment: { MODEL: 'v2', LOG_LEVEL: 'info' },
  };

  test('none when the version is what was asked for', () => {
    expect(publishedDifferences(exact, { codeSha256: 'new', before, desired })).toEqual([]);
  });

  test('each difference is named: code, layers, environment, memory, handler', () => {
    const diffs = publishedDifferences(
      {
        ...exact,
        codeSha256: 'other',
        layers: [desired.layerArn!],
        environment: { MODEL: 'v3', LOG_LEVEL: 'info' },
        memorySize: 256,
        handler: 'other.handler',
      },
      { codeSha256: 'new', before, desired },
    );
    expect(diffs.map((d) => d.split(':')[0])).toEqual([
      'code (CodeSha256)',
      'handler',
      'layers',
      'memory (MB)',
      'environment',
    ]);
  });
});
