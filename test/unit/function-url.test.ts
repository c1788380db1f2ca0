import {
  AddPermissionCommand,
  CreateFunctionUrlConfigCommand,
  DeleteFunctionUrlConfigCommand,
  GetFunctionUrlConfigCommand,
  GetPolicyCommand,
  LambdaClient,
  RemovePermissionCommand,
  ResourceConflictException,
  ResourceNotFoundException,
  TooManyRequestsException,
  UpdateFunctionUrlConfigCommand,
} from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { memoryLogger } from '../../src/log.js';
import {
  deleteFunctionUrl,
  ensureFunctionUrl,
  PUBLIC_URL_STATEMENTS,
  readFunctionUrl,
  statementIds,
} from '../../src/release/function/function-url.js';

const lambdaMock = mockClient(LambdaClient);
const lambda = new LambdaClient({ region: 'us-east-1' });
const sleeps: number[] = [];
const options = { sleep: async (ms: number) => void sleeps.push(ms), logger: memoryLogger() };
const URL = 'https://abc123.lambda-url.us-east-1.on.aws/';
const notFound = () =>
  new ResourceNotFoundException({
    message: 'The resource you requested does not exist.',
    $metadata: { httpStatusCode: 404 },
  });
const throttled = () =>
  new TooManyRequestsException({ message: 'Rate exceeded', $metadata: { httpStatusCode: 429 } });
const policy = (...sids: string[]) => ({
  Policy: JSON.stringify({
    Version: '2012-10-17',
    Statement: sids.map((Sid) => ({ Sid, Effect: 'Allow' })),
  }),
});

beforeEach(() => {
  lambdaMock.reset();
  sleeps.length = 0;
});

describe('ensureFunctionUrl', () => {
  test('creates an AWS_IAM URL on the qualifier when there is none, without reading or touching the policy', async () => {
    lambdaMock.on(GetFunctionUrlConfigCommand).rejects(notFound());
    lambdaMock
      .on(CreateFunctionUrlConfigCommand)
      .resolves({ FunctionUrl: URL, AuthType: 'AWS_IAM' });
    const result = await ensureFunctionUrl(
      lambda,
      { functionName: 'iris', qualifier: 'pr-7', authType: 'AWS_IAM' },
      options,
    );
    expect(result).toMatchObject({
      url: URL,
      authType: 'AWS_IAM',
      action: 'created',
      permissionsAdded: [],
      permissionsRemoved: [],
    });
    expect(lambdaMock.commandCalls(CreateFunctionUrlConfigCommand)[0]!.args[0].input).toEqual({
      FunctionName: 'iris',
      Qualifier: 'pr-7',
      AuthType: 'AWS_IAM',
    });
    expect(lambdaMock.commandCalls(AddPermissionCommand)).toHaveLength(0);
    expect(lambdaMock.commandCalls(RemovePermissionCommand)).toHaveLength(0);
    expect(lambdaMock.commandCalls(GetPolicyCommand)).toHaveLength(0);
  });

  test('leaves a URL that already has the auth type alone', async () => {
    lambdaMock.on(GetFunctionUrlConfigCommand).resolves({ FunctionUrl: URL, AuthType: 'AWS_IAM' });
    lambdaMock.on(GetPolicyCommand).rejects(notFound());
    const result = await ensureFunctionUrl(
      lambda,
      { functionName: 'iris', qualifier: 'pr-7', authType: 'AWS_IAM' },
      options,
    );
    expect(result.action).toBe('unchanged');
    expect(lambdaMock.commandCalls(CreateFunctionUrlConfigCommand)).toHaveLength(0);
    expect(lambdaMock.commandCalls(UpdateFunctionUrlConfigCommand)).toHaveLength(0);
  });

  test('NONE: creates the URL and adds both public statements for the qualifier', async () => {
    lambdaMock.on(GetFunctionUrlConfigCommand).rejects(notFound());
    lambdaMock.on(CreateFunctionUrlConfigCommand).resolves({ FunctionUrl: URL, AuthType: 'NONE' });
    lambdaMock.on(GetPolicyCommand).rejects(notFound());
    lambdaMock.on(AddPermissionCommand).resolves({});
    const result = await ensureFunctionUrl(
      lambda,
      { functionName: 'iris', qualifier: 'pr-7', authType: 'NONE' },
      options,
    );
    expect(result.permissionsAdded).toEqual([
      PUBLIC_URL_STATEMENTS.invokeUrl,
      PUBLIC_URL_STATEMENTS.invokeFunction,
    ]);
    const inputs = lambdaMock.commandCalls(AddPermissionCommand).map((c) => c.args[0].input);
    expect(inputs).toEqual([
      {
        FunctionName: 'iris',
        Qualifier: 'pr-7',
        Principal: '*',
        StatementId: PUBLIC_URL_STATEMENTS.invokeUrl,
        Action: 'lambda:InvokeFunctionUrl',
        FunctionUrlAuthType: 'NONE',
      },
      {
        FunctionName: 'iris',
        Qualifier: 'pr-7',
        Principal: '*',
        StatementId: PUBLIC_URL_STATEMENTS.invokeFunction,
        Action: 'lambda:InvokeFunction',
        InvokedViaFunctionUrl: true,
      },
    ]);
  });

  test('NONE twice: statements already in the policy are not added again', async () => {
    lambdaMock.on(GetFunctionUrlConfigCommand).resolves({ FunctionUrl: URL, AuthType: 'NONE' });
    lambdaMock
      .on(GetPolicyCommand)
      .resolves(policy(PUBLIC_URL_STATEMENTS.invokeUrl, PUBLIC_URL_STATEMENTS.invokeFunction));
    const result = await ensureFunctionUrl(
      lambda,
      { functionName: 'iris', qualifier: 'pr-7', authType: 'NONE' },
      options,
    );
    expect(result).toMatchObject({ action: 'unchanged', permissionsAdded: [] });
    expect(lambdaMock.commandCalls(AddPermissionCommand)).toHaveLength(0);
  });

  test('NONE: a statement id that already exists (added concurrently) is fine and not retried', async () => {
    lambdaMock.on(GetFunctionUrlConfigCommand).resolves({ FunctionUrl: URL, AuthType: 'NONE' });
    lambdaMock.on(GetPolicyCommand).rejects(notFound());
    lambdaMock.on(AddPermissionCommand).rejects(
      new ResourceConflictException({
        message: 'The statement id (lambda-ml-deploy-url-public) provided already exists.',
        $metadata: {},
      }),
    );
    const result = await ensureFunctionUrl(
      lambda,
      { functionName: 'iris', qualifier: 'pr-7', authType: 'NONE' },
      options,
    );
    expect(result.permissionsAdded).toEqual([]);
    expect(lambdaMock.commandCalls(AddPermissionCommand)).toHaveLength(2);
    expect(sleeps).toEqual([]);
  });

  test('switching NONE -> AWS_IAM updates the auth type and removes the public statements', async () => {
    lambdaMock.on(GetFunctionUrlConfigCommand).resolves({ FunctionUrl: URL, AuthType: 'NONE' });
    lambdaMock
      .on(UpdateFunctionUrlConfigCommand)
      .resolves({ FunctionUrl: URL, AuthType: 'AWS_IAM' });
    lambdaMock
      .on(GetPolicyCommand)
      .resolves(
        policy(
          'someone-else',
          PUBLIC_URL_STATEMENTS.invokeUrl,
          PUBLIC_URL_STATEMENTS.invokeFunction,
        ),
      );
    lambdaMock.on(RemovePermissionCommand).resolves({});
    const result = await ensureFunctionUrl(
      lambda,
      { functionName: 'iris', qualifier: 'pr-7', authType: 'AWS_IAM' },
      options,
    );
    expect(result).toMatchObject({
      action: 'updated',
      authType: 'AWS_IAM',
      permissionsRemoved: Object.values(PUBLIC_URL_STATEMENTS),
    });
    expect(lambdaMock.commandCalls(UpdateFunctionUrlConfigCommand)[0]!.args[0].input).toEqual({
      FunctionName: 'iris',
      Qualifier: 'pr-7',
      AuthType: 'AWS_IAM',
    });
    expect(
      lambdaMock.commandCalls(RemovePermissionCommand).map((c) => c.args[0].input.StatementId),
    ).toEqual(Object.values(PUBLIC_URL_STATEMENTS));
  });

  test('retries throttling with backoff', async () => {
    lambdaMock
      .on(GetFunctionUrlConfigCommand)
      .rejectsOnce(throttled())
      .rejectsOnce(throttled())
      .resolves({ FunctionUrl: URL, AuthType: 'AWS_IAM' });
    lambdaMock.on(GetPolicyCommand).rejects(notFound());
    const result = await ensureFunctionUrl(
      lambda,
      { functionName: 'iris', qualifier: 'pr-7', authType: 'AWS_IAM' },
      options,
    );
    expect(result.url).toBe(URL);
    expect(sleeps).toHaveLength(2);
  });

  test.each([
    'Failed to create function url config for [functionArn = arn]. Error message:  FunctionUrlConfig exists for this Lambda function',
    'The statement already exists',
  ])('a URL created meanwhile (%s) is read instead of failing', async (message) => {
    lambdaMock
      .on(GetFunctionUrlConfigCommand)
      .rejectsOnce(notFound())
      .resolves({ FunctionUrl: URL, AuthType: 'AWS_IAM' });
    lambdaMock
      .on(CreateFunctionUrlConfigCommand)
      .rejects(new ResourceConflictException({ message, $metadata: {} }));
    lambdaMock.on(GetPolicyCommand).rejects(notFound());
    const result = await ensureFunctionUrl(
      lambda,
      { functionName: 'iris', qualifier: 'pr-7', authType: 'AWS_IAM' },
      options,
    );
    expect(result.url).toBe(URL);
    expect(lambdaMock.commandCalls(CreateFunctionUrlConfigCommand)).toHaveLength(1);
  });

  test('other errors name the qualifier and the auth type', async () => {
    lambdaMock.on(GetFunctionUrlConfigCommand).rejects(
      Object.assign(new Error('User is not authorized to perform: lambda:GetFunctionUrlConfig'), {
        name: 'AccessDeniedException',
      }),
    );
    await expect(
      ensureFunctionUrl(
        lambda,
        { functionName: 'iris', qualifier: 'pr-7', authType: 'AWS_IAM' },
        options,
      ),
    ).rejects.toThrow(
      "Could not set up the function URL of 'iris:pr-7' (AuthType AWS_IAM): AccessDeniedException: User is not authorized",
    );
  });
});

describe('readFunctionUrl / deleteFunctionUrl', () => {
  test('readFunctionUrl: none is undefined', async () => {
    lambdaMock.on(GetFunctionUrlConfigCommand).rejects(notFound());
    expect(await readFunctionUrl(lambda, 'iris', 'pr-7', options)).toBeUndefined();
  });

  test('deletes the URL and our statements on the qualifier', async () => {
    lambdaMock.on(GetFunctionUrlConfigCommand).resolves({ FunctionUrl: URL, AuthType: 'NONE' });
    lambdaMock.on(DeleteFunctionUrlConfigCommand).resolves({});
    lambdaMock.on(GetPolicyCommand).resolves(policy(PUBLIC_URL_STATEMENTS.invokeUrl));
    lambdaMock.on(RemovePermissionCommand).resolves({});
    const result = await deleteFunctionUrl(lambda, 'iris', 'pr-7', options);
    expect(result).toEqual({
      deleted: true,
      url: URL,
      permissionsRemoved: [PUBLIC_URL_STATEMENTS.invokeUrl],
    });
    expect(lambdaMock.commandCalls(DeleteFunctionUrlConfigCommand)[0]!.args[0].input).toEqual({
      FunctionName: 'iris',
      Qualifier: 'pr-7',
    });
  });

  test('nothing there: succeeds and deletes nothing (idempotent)', async () => {
    lambdaMock.on(GetFunctionUrlConfigCommand).rejects(notFound());
    lambdaMock.on(GetPolicyCommand).rejects(notFound());
    expect(await deleteFunctionUrl(lambda, 'iris', 'pr-7', options)).toEqual({
      deleted: false,
      permissionsRemoved: [],
    });
    expect(lambdaMock.commandCalls(DeleteFunctionUrlConfigCommand)).toHaveLength(0);
  });

  test('a URL deleted between read and delete is fine', async () => {
    lambdaMock.on(GetFunctionUrlConfigCommand).resolves({ FunctionUrl: URL, AuthType: 'AWS_IAM' });
    lambdaMock.on(DeleteFunctionUrlConfigCommand).rejects(notFound());
    lambdaMock.on(GetPolicyCommand).rejects(notFound());
    expect((await deleteFunctionUrl(lambda, 'iris', 'pr-7', options)).deleted).toBe(true);
    expect(lambdaMock.commandCalls(GetPolicyCommand)).toHaveLength(0); // an AWS_IAM URL has no statements of ours
  });
});

test('statementIds reads Sids of a policy document, and nothing from junk', () => {
  expect([...statementIds(policy('a', 'b').Policy)]).toEqual(['a', 'b']);
  expect([...statementIds(JSON.stringify({ Statement: { Sid: 'one' } }))]).toEqual(['one']);
  expect(statementIds('not json').size).toBe(0);
  expect(statementIds(undefined).size).toBe(0);
});

describe('ensureFunctionUrl with CORS (the URL of alias)', () => {
  const cors = {
    AllowOrigins: ['https://app.example.com'],
    AllowMethods: ['POST'],
    AllowHeaders: ['Content-Type'],
    MaxAge: 300,
  };
  const request = { functionName: 'iris', qualifier: 'prod', authType: 'AWS_IAM' as const, cors };

  test('creates the URL with its CORS', async () => {
    lambdaMock.on(GetFunctionUrlConfigCommand).rejects(notFound());
    lambdaMock
      .on(CreateFunctionUrlConfigCommand)
      .resolves({ FunctionUrl: URL, AuthType: 'AWS_IAM', Cors: cors });
    const result = await ensureFunctionUrl(lambda, request, options);
    expect(result.action).toBe('created');
    expect(lambdaMock.commandCalls(CreateFunctionUrlConfigCommand)[0].args[0].input.Cors).toEqual({
      AllowOrigins: ['https://app.example.com'],
      AllowMethods: ['POST'],
      AllowHeaders: ['content-type'],
      MaxAge: 300,
    });
    expect(lambdaMock.commandCalls(UpdateFunctionUrlConfigCommand)).toHaveLength(0);
  });

  test('an unchanged configuration (same CORS, written differently) is read and not written', async () => {
    lambdaMock.on(GetFunctionUrlConfigCommand).resolves({
      FunctionUrl: URL,
      AuthType: 'AWS_IAM',
      Cors: {
        AllowOrigins: ['https://app.example.com'],
        AllowMethods: ['post'],
        AllowHeaders: ['content-type'],
        ExposeHeaders: [],
        MaxAge: 300,
        AllowCredentials: false,
      },
    });
    const result = await ensureFunctionUrl(lambda, request, options);
    expect(result.action).toBe('unchanged');
    expect(lambdaMock.commandCalls(CreateFunctionUrlConfigCommand)).toHaveLength(0);
    expect(lambdaMock.commandCalls(UpdateFunctionUrlConfigCommand)).toHaveLength(0);
    expect(lambdaMock.commandCalls(GetPolicyCommand)).toHaveLength(0);
  });

  test('changed CORS is updated; no CORS wanted clears what is there', async () => {
    lambdaMock
      .on(GetFunctionUrlConfigCommand)
      .resolves({ FunctionUrl: URL, AuthType: 'AWS_IAM', Cors: { AllowOrigins: ['*'] } });
    lambdaMock
      .on(UpdateFunctionUrlConfigCommand)
      .resolves({ FunctionUrl: URL, AuthType: 'AWS_IAM' });
    expect((await ensureFunctionUrl(lambda, request, options)).action).toBe('updated');
    expect(lambdaMock.commandCalls(UpdateFunctionUrlConfigCommand)[0].args[0].input).toMatchObject({
      Qualifier: 'prod',
      AuthType: 'AWS_IAM',
      Cors: { AllowOrigins: ['https://app.example.com'] },
    });
    lambdaMock.resetHistory();
    expect((await ensureFunctionUrl(lambda, { ...request, cors: {} }, options)).action).toBe(
      'updated',
    );
    expect(lambdaMock.commandCalls(UpdateFunctionUrlConfigCommand)[0].args[0].input.Cors).toEqual(
      {},
    );
  });

  test('without cors (previews) the URL keeps the CORS it has', async () => {
    lambdaMock
      .on(GetFunctionUrlConfigCommand)
      .resolves({ FunctionUrl: URL, AuthType: 'AWS_IAM', Cors: { AllowOrigins: ['*'] } });
    const result = await ensureFunctionUrl(
      lambda,
      { functionName: 'iris', qualifier: 'pr-7', authType: 'AWS_IAM' },
      options,
    );
    expect(result.action).toBe('unchanged');
    expect(lambdaMock.commandCalls(UpdateFunctionUrlConfigCommand)).toHaveLength(0);
  });
});
