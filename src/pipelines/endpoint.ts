import { ActionError, errorMessage, InputError } from '../errors.js';
import { ensureApiGatewayPermission } from '../release/function/api-gateway-permission.js';
import { ensureFunctionUrl, type EnsureUrlResult } from '../release/function/function-url.js';
import { checkEndpoint } from '../release/smoke/endpoint-check.js';
import { describeSmokeFailure, type SmokeRunResult } from '../release/smoke/smoke-run.js';
import type { SmokeSpec } from '../release/smoke/smoke-spec.js';
import { describeAliasState, type AliasSnapshot } from '../release/traffic/alias-plan.js';
import { restoreAlias, type RestoreResult } from '../release/traffic/alias.js';
import { reportSmoke } from '../report/smoke-table.js';
import type { DeploySettings } from '../settings.js';
import type { RunContext } from './context.js';
import type { StepTimer } from './steps.js';

/**
 * The HTTP endpoint in front of `alias`: its function URL and the API Gateway permission (both
 * read first and written only when they differ), and the spec's endpoint cases sent through the
 * URL after the shift.
 */

/** Whether the spec's endpoint cases run after the shift; refuses them without a URL. */
export function endpointChecksWanted(
  settings: DeploySettings,
  spec: SmokeSpec | undefined,
): boolean {
  const cases = spec?.endpoint?.length ?? 0;
  if (cases === 0 || !settings.endpoint.checks) return false;
  if (!settings.endpoint.url)
    throw new InputError(
      'url',
      `is false, but the smoke spec ${spec?.file ?? ''} has ${cases} endpoint case(s), which are sent ` +
        'through the function URL of alias; set url: true, or endpoint-checks: false to skip them',
    );
  return true;
}

export interface EndpointState {
  url?: EnsureUrlResult;
}

/** Function URL and API Gateway permission on `alias`, as the settings ask. */
export async function setUpEndpoint(
  ctx: RunContext<DeploySettings>,
  steps: StepTimer,
): Promise<EndpointState> {
  const { settings, clients, logger, report, result } = ctx;
  const fn = settings.functionName;
  const alias = settings.alias;
  const { endpoint } = settings;
  const state: EndpointState = {};
  const lines: string[] = [];
  if (endpoint.url) {
    const url = await steps.run(`Function URL of '${alias}' (${endpoint.urlAuth})`, () =>
      ensureFunctionUrl(
        clients.lambda,
        { functionName: fn, qualifier: alias, authType: endpoint.urlAuth, cors: endpoint.cors },
        { logger },
      ),
    );
    state.url = url;
    result.url = url.url;
    logger.info(`${url.url} (${url.authType}, ${url.action})`);
    if (url.authType === 'NONE')
      logger.warning(
        `The function URL ${url.url} of '${alias}' is public (url-auth: NONE): anyone with the link can invoke it.`,
      );
    lines.push(...howToCall(url.url, url.authType, settings.auth.region), '');
    lines.push(`URL configuration: ${url.action}.`);
  }
  if (endpoint.apiGatewaySourceArn) {
    const sourceArn = endpoint.apiGatewaySourceArn;
    const permission = await steps.run(`API Gateway permission on '${alias}'`, () =>
      ensureApiGatewayPermission(
        clients.lambda,
        { functionName: fn, qualifier: alias, sourceArn },
        { logger },
      ),
    );
    logger.info(
      `Statement ${permission.statementId}: ${permission.action}` +
        (permission.previousSourceArn ? ` (was ${permission.previousSourceArn})` : ''),
    );
    lines.push(
      `API Gateway may invoke \`${fn}:${alias}\` from \`${sourceArn}\` ` +
        `(statement \`${permission.statementId}\`, ${permission.action}). Wire it in three lines:`,
      '',
      '```sh',
      `aws apigatewayv2 create-integration --api-id API_ID --integration-type AWS_PROXY \\`,
      `  --payload-format-version 2.0 --integration-uri arn:aws:lambda:${settings.auth.region}:ACCOUNT:function:${fn.split(':').pop()}:${alias}`,
      `aws apigatewayv2 create-route --api-id API_ID --route-key 'POST /predict' --target integrations/INTEGRATION_ID`,
      '```',
    );
  }
  if (lines.length > 0) {
    const logGroup = settings.fn.logging?.logGroup ?? `/aws/lambda/${fn.split(':').pop()}`;
    lines.push('', `Handler logs: CloudWatch log group \`${logGroup}\`.`);
    report.section('Endpoint', lines);
  }
  return state;
}

/** How to call the URL, for the summary. */
export function howToCall(url: string, auth: string, region: string): string[] {
  const call =
    auth === 'AWS_IAM'
      ? [
          `curl --aws-sigv4 "aws:amz:${region}:lambda" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \\`,
          `  -H "x-amz-security-token: $AWS_SESSION_TOKEN" -H 'content-type: application/json' \\`,
          `  -d @request.json ${url}`,
        ]
      : [`curl -H 'content-type: application/json' -d @request.json ${url}`];
  return [
    `Function URL: ${url} (${auth === 'AWS_IAM' ? 'AWS_IAM: sign requests with SigV4, service lambda' : 'NONE: public'})`,
    '',
    '```sh',
    ...call,
    '```',
    ...(auth === 'AWS_IAM'
      ? ['', `or \`awscurl --service lambda --region ${region} -X POST -d @request.json ${url}\`.`]
      : []),
  ];
}

export interface EndpointCheckOutcome {
  run: SmokeRunResult;
  /** Set when the checks failed and the alias was put back. */
  restore?: RestoreResult;
}

/**
 * Sends the spec's endpoint cases through the URL. A failure puts the alias back as the snapshot
 * had it (like a failed bake) and fails the run naming the cases.
 */
export async function runEndpointChecks(
  ctx: RunContext<DeploySettings>,
  steps: StepTimer,
  spec: SmokeSpec,
  url: EnsureUrlResult,
  snapshot: AliasSnapshot,
  newVersion: string,
): Promise<EndpointCheckOutcome> {
  const { settings, clients, logger, report } = ctx;
  const run = await steps.run(`Endpoint checks through ${url.url}`, () =>
    checkEndpoint(spec, {
      url: url.url,
      auth: url.authType,
      region: settings.auth.region,
      credentials: clients.lambda.config.credentials,
      ...(ctx.awsEndpoint ? { endpoint: ctx.awsEndpoint } : {}),
      logger,
    }),
  );
  reportSmoke(report, 'Endpoint checks', run);
  if (run.passed) return { run };
  const why = describeSmokeFailure(run).replace('smoke cases', 'endpoint cases');
  const restore = await rollBackAlias(
    ctx,
    steps,
    snapshot,
    newVersion,
    `endpoint checks failed (${why})`,
  );
  return { run, restore };
}

/** Puts `alias` back as the snapshot had it after a failure past the shift (like a failed bake). */
export async function rollBackAlias(
  ctx: RunContext<DeploySettings>,
  steps: StepTimer,
  snapshot: AliasSnapshot,
  newVersion: string,
  why: string,
): Promise<RestoreResult> {
  const { settings, clients, logger } = ctx;
  logger.warning(`Rolling back '${settings.alias}' to '${describeAliasState(snapshot)}': ${why}`);
  return steps.run(`Roll back '${settings.alias}'`, async () => {
    try {
      return await restoreAlias(clients.lambda, snapshot, { logger, ownVersion: newVersion });
    } catch (error) {
      throw new ActionError(
        `${why}; then restoring alias '${settings.alias}' to '${describeAliasState(snapshot)}' ` +
          `failed: ${errorMessage(error)}. The post step retries the restore.`,
      );
    }
  });
}
