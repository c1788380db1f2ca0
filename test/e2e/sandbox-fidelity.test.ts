/**
 * The sandbox's Lambda behaves like Lambda wherever the action's guarantees depend on it
 * (scripts/sandbox/moto_lambda_fidelity.py, moto_lambda_urls.py, moto_lambda_policies.py). Each test here fails on moto
 * 5.2.1 as released (SANDBOX_MOTO_UNPATCHED=1): smoke tests on a version number, canary bakes and
 * rollback smoke runs mean nothing on an emulator that runs $LATEST for every qualifier, and the
 * RevisionId / CodeSha256 guards mean nothing when the server never refuses.
 *
 * Needs `bash scripts/sandbox.sh up`.
 */
import {
  CreateAliasCommand,
  CreateFunctionCommand,
  AddPermissionCommand,
  CreateFunctionUrlConfigCommand,
  DeleteFunctionCommand,
  GetPolicyCommand,
  GetAliasCommand,
  GetFunctionConfigurationCommand,
  InvokeCommand,
  LambdaClient,
  ListVersionsByFunctionCommand,
  PublishVersionCommand,
  RemovePermissionCommand,
  UpdateAliasCommand,
  UpdateFunctionCodeCommand,
  UpdateFunctionConfigurationCommand,
  type InvokeCommandOutput,
} from '@aws-sdk/client-lambda';
import yazl from 'yazl';
import {
  assertSandboxUp,
  awsConfig,
  loadSandbox,
  requestFunctionUrl,
  uniqueName,
  type Sandbox,
} from './helpers/sandbox.js';

const TIMEOUT = 240_000;
const FIXED_TIME = new Date('2024-01-01T00:00:00Z');

/** A handler that answers with its tag and the version Lambda says it runs as. */
function handlerSource(tag: string): string {
  return [
    'def lambda_handler(event, context):',
    '    if event.get("boom"):',
    '        raise ValueError("boom")',
    `    answer = {"tag": "${tag}", "version": context.function_version}`,
    '    if "requestContext" in event:',
    '        return {"statusCode": 200, "body": __import__("json").dumps(answer)}',
    '    return answer',
    '',
  ].join('\n');
}

async function zipOf(tag: string): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  zip.addBuffer(Buffer.from(handlerSource(tag)), 'lambda_function.py', {
    mtime: FIXED_TIME,
    mode: 0o100644,
  });
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const payloadOf = (response: InvokeCommandOutput) =>
  JSON.parse(Buffer.from(response.Payload ?? new Uint8Array()).toString('utf8')) as {
    tag?: string;
    version?: string;
  };

/** The error a call fails with: its name and HTTP status (undefined when it succeeded). */
async function failure(call: Promise<unknown>): Promise<{ name: string; status?: number }> {
  try {
    await call;
  } catch (error) {
    const e = error as { name: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, status: e.$metadata?.httpStatusCode };
  }
  return { name: 'no error' };
}

let sandbox: Sandbox;
let lambda: LambdaClient;
const fn = uniqueName('fidelity');
/** Version 1 runs code A, version 2 code B; $LATEST holds C. */
let v1: string;
let v2: string;

beforeAll(async () => {
  sandbox = loadSandbox();
  await assertSandboxUp(sandbox);
  lambda = new LambdaClient(awsConfig(sandbox));
  await lambda.send(
    new CreateFunctionCommand({
      FunctionName: fn,
      Runtime: sandbox.runtime as 'python3.11',
      Role: sandbox.roleArn,
      Handler: 'lambda_function.lambda_handler',
      Code: { ZipFile: await zipOf('A') },
      Timeout: 30,
    }),
  );
  v1 = (await lambda.send(new PublishVersionCommand({ FunctionName: fn }))).Version!;
  await lambda.send(new UpdateFunctionCodeCommand({ FunctionName: fn, ZipFile: await zipOf('B') }));
  v2 = (await lambda.send(new PublishVersionCommand({ FunctionName: fn }))).Version!;
  await lambda.send(new UpdateFunctionCodeCommand({ FunctionName: fn, ZipFile: await zipOf('C') }));
}, TIMEOUT);

afterAll(async () => {
  await lambda?.send(new DeleteFunctionCommand({ FunctionName: fn })).catch(() => undefined);
  lambda?.destroy();
});

const invoke = (qualifier?: string, event: unknown = {}) =>
  lambda.send(
    new InvokeCommand({
      FunctionName: fn,
      Qualifier: qualifier,
      Payload: Buffer.from(JSON.stringify(event)),
    }),
  );

describe('Invoke', () => {
  it(
    'runs the code of the version named, not $LATEST',
    async () => {
      expect([v1, v2]).toEqual(['1', '2']);
      const answers = [];
      for (const qualifier of [v1, v2, undefined]) {
        const response = await invoke(qualifier);
        answers.push({ ...payloadOf(response), executed: response.ExecutedVersion });
      }
      expect(answers).toEqual([
        { tag: 'A', version: '1', executed: '1' },
        { tag: 'B', version: '2', executed: '2' },
        { tag: 'C', version: '$LATEST', executed: '$LATEST' },
      ]);
    },
    TIMEOUT,
  );

  it(
    "an alias runs its version's code, and its weights split traffic",
    async () => {
      await lambda.send(
        new CreateAliasCommand({ FunctionName: fn, Name: 'live', FunctionVersion: v1 }),
      );
      expect(payloadOf(await invoke('live'))).toEqual({ tag: 'A', version: '1' });

      const { RevisionId } = await lambda.send(
        new GetAliasCommand({ FunctionName: fn, Name: 'live' }),
      );
      await lambda.send(
        new UpdateAliasCommand({
          FunctionName: fn,
          Name: 'live',
          FunctionVersion: v1,
          RoutingConfig: { AdditionalVersionWeights: { [v2]: 0.5 } },
          RevisionId,
        }),
      );
      const tags: Record<string, number> = {};
      const pending = Array.from({ length: 40 }, (_, i) => i);
      const worker = async () => {
        for (let next = pending.shift(); next !== undefined; next = pending.shift()) {
          const response = await invoke('live');
          const { tag, version } = payloadOf(response);
          expect(response.ExecutedVersion).toBe(version);
          tags[`${tag}@${version}`] = (tags[`${tag}@${version}`] ?? 0) + 1;
        }
      };
      await Promise.all([worker(), worker(), worker(), worker()]);
      // 50/50 over 40 invokes: each side gets at least 8 unless something is very wrong
      // (the chance of fewer is below 1 in 10^4).
      expect(Object.keys(tags).sort()).toEqual(['A@1', 'B@2']);
      expect(tags['A@1']).toBeGreaterThanOrEqual(8);
      expect(tags['B@2']).toBeGreaterThanOrEqual(8);
    },
    TIMEOUT,
  );

  it(
    'reports an uncaught exception as an Unhandled function error',
    async () => {
      const response = await invoke(v1, { boom: true });
      expect(response.FunctionError).toBe('Unhandled');
      expect(JSON.parse(Buffer.from(response.Payload!).toString())).toMatchObject({
        errorType: 'ValueError',
        errorMessage: 'boom',
      });
    },
    TIMEOUT,
  );
});

describe('guards the server enforces', () => {
  it('UpdateAlias with a stale RevisionId fails: PreconditionFailedException (412)', async () => {
    await lambda.send(
      new CreateAliasCommand({ FunctionName: fn, Name: 'guarded', FunctionVersion: v1 }),
    );
    const read = await lambda.send(new GetAliasCommand({ FunctionName: fn, Name: 'guarded' }));
    const moved = await lambda.send(
      new UpdateAliasCommand({
        FunctionName: fn,
        Name: 'guarded',
        FunctionVersion: v2,
        RevisionId: read.RevisionId,
      }),
    );
    expect(moved.RevisionId).toBeTruthy();
    expect(moved.RevisionId).not.toBe(read.RevisionId);
    expect(
      await failure(
        lambda.send(
          new UpdateAliasCommand({
            FunctionName: fn,
            Name: 'guarded',
            FunctionVersion: v1,
            RevisionId: read.RevisionId,
          }),
        ),
      ),
    ).toEqual({ name: 'PreconditionFailedException', status: 412 });
    expect(
      (await lambda.send(new GetAliasCommand({ FunctionName: fn, Name: 'guarded' })))
        .FunctionVersion,
    ).toBe(v2);
  });

  it('PublishVersion with a CodeSha256 not $LATEST’s fails and publishes nothing', async () => {
    const before = await lambda.send(new ListVersionsByFunctionCommand({ FunctionName: fn }));
    await lambda.send(
      new UpdateFunctionConfigurationCommand({ FunctionName: fn, Description: 'x' }),
    );
    expect(
      await failure(
        lambda.send(
          new PublishVersionCommand({
            FunctionName: fn,
            CodeSha256: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=',
          }),
        ),
      ),
    ).toEqual({ name: 'InvalidParameterValueException', status: 400 });
    const after = await lambda.send(new ListVersionsByFunctionCommand({ FunctionName: fn }));
    expect(after.Versions?.map((v) => v.Version)).toEqual(before.Versions?.map((v) => v.Version));
  });

  it(
    'PublishVersion, UpdateFunctionConfiguration and UpdateFunctionCode refuse a stale RevisionId',
    async () => {
      const read = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: fn }));
      expect(read.RevisionId).toBeTruthy();
      const updated = await lambda.send(
        new UpdateFunctionConfigurationCommand({
          FunctionName: fn,
          Description: 'guarded update',
          RevisionId: read.RevisionId,
        }),
      );
      expect(updated.RevisionId).not.toBe(read.RevisionId);
      const stale = { FunctionName: fn, RevisionId: read.RevisionId };
      const refused = { name: 'PreconditionFailedException', status: 412 };
      expect(
        await failure(
          lambda.send(new UpdateFunctionConfigurationCommand({ ...stale, Description: 'late' })),
        ),
      ).toEqual(refused);
      expect(
        await failure(
          lambda.send(new UpdateFunctionCodeCommand({ ...stale, ZipFile: await zipOf('D') })),
        ),
      ).toEqual(refused);
      expect(await failure(lambda.send(new PublishVersionCommand(stale)))).toEqual(refused);
      const now = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: fn }));
      expect(now.Description).toBe('guarded update');
      expect(payloadOf(await invoke())).toMatchObject({ tag: 'C' });
    },
    TIMEOUT,
  );
});

describe('DeleteFunction', () => {
  it('refuses to delete a version an alias routes to, weights included (409)', async () => {
    await lambda.send(
      new CreateAliasCommand({
        FunctionName: fn,
        Name: 'held',
        FunctionVersion: v1,
        RoutingConfig: { AdditionalVersionWeights: { [v2]: 0.3 } },
      }),
    );
    const inUse = { name: 'ResourceConflictException', status: 409 };
    for (const version of [v1, v2]) {
      const deletion = lambda.send(
        new DeleteFunctionCommand({ FunctionName: fn, Qualifier: version }),
      );
      expect(await failure(deletion)).toEqual(inUse);
    }
    const versions = await lambda.send(new ListVersionsByFunctionCommand({ FunctionName: fn }));
    expect(versions.Versions?.map((v) => v.Version)).toEqual(expect.arrayContaining([v1, v2]));
  });
});

describe('function URLs', () => {
  it(
    "a URL on an alias serves that alias's version, and each alias has its own URL",
    async () => {
      await lambda.send(
        new CreateAliasCommand({ FunctionName: fn, Name: 'url-one', FunctionVersion: v1 }),
      );
      await lambda.send(
        new CreateAliasCommand({ FunctionName: fn, Name: 'url-two', FunctionVersion: v2 }),
      );
      const urlOf = async (alias: string) =>
        (
          await lambda.send(
            new CreateFunctionUrlConfigCommand({
              FunctionName: fn,
              Qualifier: alias,
              AuthType: 'NONE',
            }),
          )
        ).FunctionUrl!;
      const one = await urlOf('url-one');
      const two = await urlOf('url-two');
      expect(one).not.toBe(two);
      const answers = [];
      for (const url of [one, two]) {
        const response = await requestFunctionUrl(sandbox, url, {
          method: 'POST',
          path: '/predict',
          body: '{}',
        });
        let body: unknown = response.body;
        try {
          body = JSON.parse(response.body);
        } catch {
          // not JSON: kept as text, so a mismatch shows what came back
        }
        answers.push({ status: response.status, body });
      }
      expect(answers).toEqual([
        { status: 200, body: { tag: 'A', version: '1' } },
        { status: 200, body: { tag: 'B', version: '2' } },
      ]);
    },
    TIMEOUT,
  );
});

describe('function URLs with AuthType AWS_IAM', () => {
  it(
    'refuse a request without a SigV4 signature for lambda (403), serve a signed one',
    async () => {
      await lambda.send(
        new CreateAliasCommand({ FunctionName: fn, Name: 'url-iam', FunctionVersion: v1 }),
      );
      const url = (
        await lambda.send(
          new CreateFunctionUrlConfigCommand({
            FunctionName: fn,
            Qualifier: 'url-iam',
            AuthType: 'AWS_IAM',
          }),
        )
      ).FunctionUrl!;
      const unsigned = await requestFunctionUrl(sandbox, url, { method: 'POST', body: '{}' });
      expect({ status: unsigned.status, body: unsigned.body }).toEqual({
        status: 403,
        body: '{"Message": "Forbidden"}',
      });
      const signature = (service: string) =>
        `AWS4-HMAC-SHA256 Credential=testing/20240101/${sandbox.region}/${service}/aws4_request, ` +
        `SignedHeaders=host;x-amz-date, Signature=${'0'.repeat(64)}`;
      const headers = (service: string) => ({
        authorization: signature(service),
        'x-amz-date': '20240101T000000Z',
      });
      const wrongService = await requestFunctionUrl(sandbox, url, {
        method: 'POST',
        body: '{}',
        headers: headers('execute-api'),
      });
      expect(wrongService.status).toBe(403);
      const signed = await requestFunctionUrl(sandbox, url, {
        method: 'POST',
        body: '{}',
        headers: headers('lambda'),
      });
      expect({ status: signed.status, body: JSON.parse(signed.body) as unknown }).toEqual({
        status: 200,
        body: { tag: 'A', version: '1' },
      });
    },
    TIMEOUT,
  );
});

describe('resource policies', () => {
  const statement = (alias: string, sid: string) =>
    new AddPermissionCommand({
      FunctionName: fn,
      Qualifier: alias,
      StatementId: sid,
      Action: 'lambda:InvokeFunction',
      Principal: 'apigateway.amazonaws.com',
      SourceArn: 'arn:aws:execute-api:us-east-1:123456789012:abcdef1234/*/POST/predict',
    });
  const sidsOf = async (qualifier?: string) => {
    try {
      const { Policy } = await lambda.send(
        new GetPolicyCommand({ FunctionName: fn, ...(qualifier ? { Qualifier: qualifier } : {}) }),
      );
      return (JSON.parse(Policy!) as { Statement: Array<{ Sid: string }> }).Statement.map(
        (s) => s.Sid,
      );
    } catch (error) {
      return (error as Error).name;
    }
  };

  it('each qualifier has its own policy, and a statement id is refused when it is taken', async () => {
    await lambda.send(
      new CreateAliasCommand({ FunctionName: fn, Name: 'policy-one', FunctionVersion: v1 }),
    );
    await lambda.send(
      new CreateAliasCommand({ FunctionName: fn, Name: 'policy-two', FunctionVersion: v2 }),
    );
    await lambda.send(statement('policy-one', 'apigw'));
    expect(await failure(lambda.send(statement('policy-one', 'apigw')))).toEqual({
      name: 'ResourceConflictException',
      status: 409,
    });
    await lambda.send(statement('policy-two', 'apigw'));
    expect(await sidsOf('policy-one')).toEqual(['apigw']);
    expect(await sidsOf('policy-two')).toEqual(['apigw']);
    expect(await sidsOf()).toBe('ResourceNotFoundException');

    // An unqualified RemovePermission does not reach an alias's statement.
    expect(
      await failure(
        lambda.send(new RemovePermissionCommand({ FunctionName: fn, StatementId: 'apigw' })),
      ),
    ).toEqual({ name: 'ResourceNotFoundException', status: 404 });
    await lambda.send(
      new RemovePermissionCommand({
        FunctionName: fn,
        Qualifier: 'policy-one',
        StatementId: 'apigw',
      }),
    );
    expect(await sidsOf('policy-one')).toBe('ResourceNotFoundException');
    expect(await sidsOf('policy-two')).toEqual(['apigw']);
  });
});

describe('UpdateFunctionCode', () => {
  it('stores Architectures', async () => {
    const updated = await lambda.send(
      new UpdateFunctionCodeCommand({
        FunctionName: fn,
        ZipFile: await zipOf('C'),
        Architectures: ['arm64'],
      }),
    );
    expect(updated.Architectures).toEqual(['arm64']);
    const read = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: fn }));
    expect(read.Architectures).toEqual(['arm64']);
  });
});
