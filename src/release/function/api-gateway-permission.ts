import {
  AddPermissionCommand,
  GetPolicyCommand,
  RemovePermissionCommand,
  type LambdaClient,
} from '@aws-sdk/client-lambda';
import { callAws, isConflict, isNotFound, type AwsCallOptions } from '../../aws/call.js';
import { ActionError, errorMessage } from '../../errors.js';
import { isTransient } from '../../retry.js';

/**
 * The resource-policy statement that lets API Gateway invoke an alias: lambda:InvokeFunction for
 * apigateway.amazonaws.com, limited to one execute-api source ARN (or pattern). It has a fixed
 * statement id, so a re-run finds it instead of adding a second one, and a changed ARN replaces it.
 */
export const API_GATEWAY_STATEMENT_ID = 'lambda-ml-deploy-apigw';
export const API_GATEWAY_PRINCIPAL = 'apigateway.amazonaws.com';

export interface PolicyStatement {
  Sid?: string;
  Effect?: string;
  Action?: string | string[];
  Principal?: string | { Service?: string | string[] };
  Condition?: Record<string, Record<string, string | string[]>>;
}

/** Statements of a policy document (GetPolicy's `Policy`). Pure; unreadable JSON gives none. */
export function policyStatements(policy: string | undefined): PolicyStatement[] {
  if (!policy) return [];
  try {
    const parsed = JSON.parse(policy) as { Statement?: PolicyStatement[] | PolicyStatement };
    if (Array.isArray(parsed.Statement)) return parsed.Statement;
    return parsed.Statement ? [parsed.Statement] : [];
  } catch {
    return [];
  }
}

/** The source ARN a statement is limited to (Condition ArnLike/ArnEquals AWS:SourceArn). Pure. */
export function statementSourceArn(statement: PolicyStatement): string | undefined {
  for (const operator of ['ArnLike', 'ArnEquals', 'StringLike', 'StringEquals']) {
    const block = statement.Condition?.[operator];
    if (!block) continue;
    for (const [key, value] of Object.entries(block)) {
      if (key.toLowerCase() !== 'aws:sourcearn') continue;
      return Array.isArray(value) ? value.join(',') : value;
    }
  }
  return undefined;
}

function grantsApiGateway(statement: PolicyStatement): boolean {
  const principal = statement.Principal;
  const service = typeof principal === 'string' ? principal : principal?.Service;
  const services = Array.isArray(service) ? service : [service];
  const actions = Array.isArray(statement.Action) ? statement.Action : [statement.Action];
  return (
    (statement.Effect ?? 'Allow') === 'Allow' &&
    services.includes(API_GATEWAY_PRINCIPAL) &&
    actions.includes('lambda:InvokeFunction')
  );
}

export type PermissionPlan =
  | { action: 'unchanged' }
  | { action: 'add' }
  | { action: 'replace'; previousSourceArn: string | undefined };

/**
 * What to do so the policy holds exactly our statement for `sourceArn`: nothing when it is there
 * as wanted, add it when it is missing, replace it (remove, add) when it grants something else.
 * Pure.
 */
export function planApiGatewayPermission(
  statements: readonly PolicyStatement[],
  sourceArn: string,
): PermissionPlan {
  const ours = statements.find((s) => s.Sid === API_GATEWAY_STATEMENT_ID);
  if (!ours) return { action: 'add' };
  if (grantsApiGateway(ours) && statementSourceArn(ours) === sourceArn)
    return { action: 'unchanged' };
  return { action: 'replace', previousSourceArn: statementSourceArn(ours) };
}

export interface ApiGatewayPermissionResult {
  action: 'unchanged' | 'added' | 'replaced';
  statementId: string;
  previousSourceArn?: string;
}

async function readStatements(
  lambda: LambdaClient,
  functionName: string,
  qualifier: string,
  options: AwsCallOptions,
): Promise<PolicyStatement[]> {
  try {
    const output = await callAws(
      `GetPolicy ${functionName}:${qualifier}`,
      () => lambda.send(new GetPolicyCommand({ FunctionName: functionName, Qualifier: qualifier })),
      options,
    );
    return policyStatements(output.Policy);
  } catch (error) {
    if (isNotFound(error)) return [];
    throw error;
  }
}

/**
 * Reads the alias's policy first and writes only when our statement is missing or differs. An
 * AddPermission that finds the id taken (a concurrent run, or an earlier attempt that landed) reads
 * again and accepts the statement when it is the wanted one.
 */
export async function ensureApiGatewayPermission(
  lambda: LambdaClient,
  request: { functionName: string; qualifier: string; sourceArn: string },
  options: AwsCallOptions = {},
): Promise<ApiGatewayPermissionResult> {
  const { functionName, qualifier, sourceArn } = request;
  const where = `${functionName}:${qualifier}`;
  const statementId = API_GATEWAY_STATEMENT_ID;
  try {
    const plan = planApiGatewayPermission(
      await readStatements(lambda, functionName, qualifier, options),
      sourceArn,
    );
    if (plan.action === 'unchanged') return { action: 'unchanged', statementId };
    if (plan.action === 'replace') {
      try {
        await callAws(
          `RemovePermission ${where} ${statementId}`,
          () =>
            lambda.send(
              new RemovePermissionCommand({
                FunctionName: functionName,
                Qualifier: qualifier,
                StatementId: statementId,
              }),
            ),
          options,
        );
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    }
    try {
      await callAws(
        `AddPermission ${where} ${statementId}`,
        () =>
          lambda.send(
            new AddPermissionCommand({
              FunctionName: functionName,
              Qualifier: qualifier,
              StatementId: statementId,
              Action: 'lambda:InvokeFunction',
              Principal: API_GATEWAY_PRINCIPAL,
              SourceArn: sourceArn,
            }),
          ),
        { ...options, isRetryable: (error) => !isConflict(error) && isTransient(error) },
      );
    } catch (error) {
      if (!isConflict(error)) throw error;
      const again = planApiGatewayPermission(
        await readStatements(lambda, functionName, qualifier, options),
        sourceArn,
      );
      if (again.action !== 'unchanged')
        throw new ActionError(
          `Statement '${statementId}' on '${where}' was changed by someone else while this run set it ` +
            `(${errorMessage(error)}); re-run the deploy.`,
        );
    }
    return plan.action === 'add'
      ? { action: 'added', statementId }
      : {
          action: 'replaced',
          statementId,
          ...(plan.previousSourceArn ? { previousSourceArn: plan.previousSourceArn } : {}),
        };
  } catch (error) {
    if (error instanceof ActionError) throw error;
    throw new ActionError(
      `Could not let API Gateway (${sourceArn}) invoke '${where}': ${errorMessage(error)}. ` +
        'The deploy role needs lambda:GetPolicy, lambda:AddPermission and lambda:RemovePermission on the alias.',
    );
  }
}
