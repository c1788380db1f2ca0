import {
  AddPermissionCommand,
  GetPolicyCommand,
  LambdaClient,
  RemovePermissionCommand,
  ResourceConflictException,
  ResourceNotFoundException,
} from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { memoryLogger } from '../../src/log.js';
import {
  API_GATEWAY_STATEMENT_ID,
  ensureApiGatewayPermission,
  planApiGatewayPermission,
  policyStatements,
} from '../../src/release/function/api-gateway-permission.js';

const lambdaMock = mockClient(LambdaClient);
const lambda = new LambdaClient({ region: 'us-east-1' });
const options = { sleep: async () => undefined, logger: memoryLogger() };
const ARN_A = 'arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/*/POST/predict';
const ARN_B = 'arn:aws:execute-api:us-east-1:123456789012:f6g7h8i9j0/*/*';
const request = { functionName: 'iris', qualifier: 'prod', sourceArn: ARN_A };

/** A statement as Lambda stores one AddPermission call. */
const statement = (sid: string, sourceArn: string, principal = 'apigateway.amazonaws.com') => ({
  Sid: sid,
  Effect: 'Allow',
  Principal: { Service: principal },
  Action: 'lambda:InvokeFunction',
  Resource: 'arn:aws:lambda:us-east-1:123456789012:function:iris:prod',
  Condition: { ArnLike: { 'AWS:SourceArn': sourceArn } },
});
const policyOf = (...statements: unknown[]) => ({
  Policy: JSON.stringify({ Version: '2012-10-17', Id: 'default', Statement: statements }),
});
const notFound = () =>
  new ResourceNotFoundException({ message: 'No policy', $metadata: { httpStatusCode: 404 } });

beforeEach(() => lambdaMock.reset());

describe('planApiGatewayPermission', () => {
  it('adds when the policy has no statement of ours, whatever else it holds', () => {
    expect(planApiGatewayPermission([statement('someone-else', ARN_A)], ARN_A)).toEqual({
      action: 'add',
    });
  });
  it('leaves our statement when it grants API Gateway exactly that source', () => {
    expect(planApiGatewayPermission([statement(API_GATEWAY_STATEMENT_ID, ARN_A)], ARN_A)).toEqual({
      action: 'unchanged',
    });
  });
  it('replaces it when the source ARN or the principal differs', () => {
    expect(planApiGatewayPermission([statement(API_GATEWAY_STATEMENT_ID, ARN_B)], ARN_A)).toEqual({
      action: 'replace',
      previousSourceArn: ARN_B,
    });
    expect(
      planApiGatewayPermission(
        [statement(API_GATEWAY_STATEMENT_ID, ARN_A, 'events.amazonaws.com')],
        ARN_A,
      ),
    ).toEqual({ action: 'replace', previousSourceArn: ARN_A });
  });
  it('reads a policy with one statement object, and none from unreadable JSON', () => {
    expect(policyStatements(JSON.stringify({ Statement: { Sid: 'x' } }))).toEqual([{ Sid: 'x' }]);
    expect(policyStatements('{not json')).toEqual([]);
  });
});

describe('ensureApiGatewayPermission', () => {
  it('adds the statement on the alias when the alias has no policy yet', async () => {
    lambdaMock.on(GetPolicyCommand).rejects(notFound());
    lambdaMock.on(AddPermissionCommand).resolves({});
    const result = await ensureApiGatewayPermission(lambda, request, options);
    expect(result).toEqual({ action: 'added', statementId: API_GATEWAY_STATEMENT_ID });
    expect(lambdaMock.commandCalls(GetPolicyCommand)[0].args[0].input).toEqual({
      FunctionName: 'iris',
      Qualifier: 'prod',
    });
    expect(lambdaMock.commandCalls(AddPermissionCommand)[0].args[0].input).toEqual({
      FunctionName: 'iris',
      Qualifier: 'prod',
      StatementId: API_GATEWAY_STATEMENT_ID,
      Action: 'lambda:InvokeFunction',
      Principal: 'apigateway.amazonaws.com',
      SourceArn: ARN_A,
    });
  });

  it('writes nothing when the statement is already there as wanted', async () => {
    lambdaMock
      .on(GetPolicyCommand)
      .resolves(policyOf(statement('other', ARN_B), statement(API_GATEWAY_STATEMENT_ID, ARN_A)));
    const result = await ensureApiGatewayPermission(lambda, request, options);
    expect(result.action).toBe('unchanged');
    expect(lambdaMock.commandCalls(AddPermissionCommand)).toHaveLength(0);
    expect(lambdaMock.commandCalls(RemovePermissionCommand)).toHaveLength(0);
  });

  it('replaces the statement when the source ARN changed: remove, then add', async () => {
    lambdaMock.on(GetPolicyCommand).resolves(policyOf(statement(API_GATEWAY_STATEMENT_ID, ARN_B)));
    lambdaMock.on(RemovePermissionCommand).resolves({});
    lambdaMock.on(AddPermissionCommand).resolves({});
    const result = await ensureApiGatewayPermission(lambda, request, options);
    expect(result).toEqual({
      action: 'replaced',
      statementId: API_GATEWAY_STATEMENT_ID,
      previousSourceArn: ARN_B,
    });
    expect(lambdaMock.commandCalls(RemovePermissionCommand)[0].args[0].input).toEqual({
      FunctionName: 'iris',
      Qualifier: 'prod',
      StatementId: API_GATEWAY_STATEMENT_ID,
    });
    expect(lambdaMock.commandCalls(AddPermissionCommand)[0].args[0].input.SourceArn).toBe(ARN_A);
  });

  it('accepts a conflict on add when a re-read shows the wanted statement (an earlier attempt landed)', async () => {
    lambdaMock
      .on(GetPolicyCommand)
      .rejectsOnce(notFound())
      .resolves(policyOf(statement(API_GATEWAY_STATEMENT_ID, ARN_A)));
    lambdaMock.on(AddPermissionCommand).rejects(
      new ResourceConflictException({
        message: 'The statement id (lambda-ml-deploy-apigw) provided already exists.',
        $metadata: { httpStatusCode: 409 },
      }),
    );
    const result = await ensureApiGatewayPermission(lambda, request, options);
    expect(result.action).toBe('added');
    expect(lambdaMock.commandCalls(AddPermissionCommand)).toHaveLength(1);
  });

  it('fails naming the alias, the source and the permissions the role needs', async () => {
    lambdaMock.on(GetPolicyCommand).rejects(
      Object.assign(new Error('not authorized to perform: lambda:GetPolicy'), {
        name: 'AccessDeniedException',
        $fault: 'client',
        $metadata: { httpStatusCode: 403 },
      }),
    );
    await expect(ensureApiGatewayPermission(lambda, request, options)).rejects.toThrow(
      /Could not let API Gateway \(arn:aws:execute-api.*\) invoke 'iris:prod'.*lambda:GetPolicy, lambda:AddPermission and lambda:RemovePermission/,
    );
  });
});
