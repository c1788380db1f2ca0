/**
 * Every configuration input reaches Lambda: settings -> the one desired configuration -> the plan
 * -> CreateFunction / UpdateFunctionConfiguration / UpdateFunctionCode / TagResource, checked at
 * the SDK boundary.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  CreateFunctionCommand,
  GetFunctionCommand,
  GetFunctionConfigurationCommand,
  LambdaClient,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateFunctionCodeCommand,
  UpdateFunctionConfigurationCommand,
  type FunctionConfiguration,
} from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { planChange } from '../../src/release/function/change.js';
import { desiredConfigFrom } from '../../src/release/function/desired-config.js';
import {
  createFunction,
  toFunctionState,
  updateCode,
  updateConfiguration,
} from '../../src/release/function/function.js';
import { applyTags, planTags, tagsForCreate } from '../../src/release/function/tags.js';
import { readSettings, type DeploySettings } from '../../src/settings.js';

const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'fn-sdk-'));
fs.mkdirSync(path.join(workspace, 'app'));
fs.writeFileSync(path.join(workspace, 'app', 'requirements.txt'), 'numpy\n');
afterAll(() => fs.rmSync(workspace, { recursive: true, force: true }));

const ARN = 'arn:aws:lambda:us-east-1:123456789012:function:iris';
const layer = (name: string, v: number) =>
  `arn:aws:lambda:us-east-1:123456789012:layer:${name}:${v}`;
const OURS = layer('iris-deps', 7);

const INPUTS: Record<string, string> = {
  'aws-region': 'us-east-1',
  'function-name': 'iris',
  's3-bucket': 'artifacts',
  'source-dir': 'app',
  'execution-role': 'arn:aws:iam::123456789012:role/iris-exec',
  'create-function': 'true',
  'memory-size': '1024',
  timeout: '60',
  environment: 'MODEL_VERSION: 1.10\nSEED: 0123',
  'ephemeral-storage': '4096',
  'vpc-subnet-ids': 'subnet-0123abcd subnet-4567ef01',
  'vpc-security-group-ids': 'sg-0123abcd',
  'vpc-ipv6-dual-stack': 'true',
  'dead-letter-target-arn': 'arn:aws:sqs:us-east-1:123456789012:iris-dlq',
  'kms-key-arn': 'arn:aws:kms:us-east-1:123456789012:key/1234abcd',
  tracing: 'Active',
  layers: `${layer('otel', 3)}\n{deps}\n${layer('extras', 1)}`,
  'file-systems':
    '{arn: "arn:aws:elasticfilesystem:us-east-1:123456789012:access-point/fsap-0123456789abcdef0", local-mount-path: /mnt/models}',
  'log-format': 'JSON',
  'log-group': '/ml/iris',
  'application-log-level': 'WARN',
  'system-log-level': 'DEBUG',
  'code-signing-config-arn':
    'arn:aws:lambda:us-east-1:123456789012:code-signing-config:csc-0123456789abcdef0',
  tags: '{team: ml, cost-center: "0042"}',
};

const EXPECTED_CONFIG = {
  MemorySize: 1024,
  Timeout: 60,
  EphemeralStorage: { Size: 4096 },
  VpcConfig: {
    SubnetIds: ['subnet-0123abcd', 'subnet-4567ef01'],
    SecurityGroupIds: ['sg-0123abcd'],
    Ipv6AllowedForDualStack: true,
  },
  DeadLetterConfig: { TargetArn: 'arn:aws:sqs:us-east-1:123456789012:iris-dlq' },
  KMSKeyArn: 'arn:aws:kms:us-east-1:123456789012:key/1234abcd',
  TracingConfig: { Mode: 'Active' },
  Layers: [layer('otel', 3), OURS, layer('extras', 1)],
  FileSystemConfigs: [
    {
      Arn: 'arn:aws:elasticfilesystem:us-east-1:123456789012:access-point/fsap-0123456789abcdef0',
      LocalMountPath: '/mnt/models',
    },
  ],
  LoggingConfig: {
    LogFormat: 'JSON',
    LogGroup: '/ml/iris',
    ApplicationLogLevel: 'WARN',
    SystemLogLevel: 'DEBUG',
  },
};

function settings(overrides: Record<string, string> = {}): DeploySettings {
  const s = readSettings(
    (name) => ({ ...INPUTS, ...overrides })[name] ?? '',
    { eventName: 'push', payload: {} },
    workspace,
  );
  if (s.mode !== 'deploy') throw new Error('expected deploy');
  return s;
}

const existing: FunctionConfiguration = {
  FunctionArn: ARN,
  CodeSha256: 'sha-A',
  Runtime: 'python3.12',
  Handler: 'lambda_function.lambda_handler',
  Architectures: ['x86_64'],
  MemorySize: 128,
  Timeout: 3,
  Environment: { Variables: { KEEP: 'me' } },
  Layers: [{ Arn: layer('iris-deps', 6) }],
  EphemeralStorage: { Size: 512 },
  TracingConfig: { Mode: 'PassThrough' },
  LoggingConfig: { LogFormat: 'Text', LogGroup: '/aws/lambda/iris' },
  State: 'Active',
  LastUpdateStatus: 'Successful',
};

const lambdaMock = mockClient(LambdaClient);
let lambda: LambdaClient;
beforeEach(() => {
  lambdaMock.reset();
  lambda = new LambdaClient({ region: 'us-east-1' });
  lambdaMock.on(GetFunctionCommand).resolves({ Configuration: existing });
  lambdaMock.on(GetFunctionConfigurationCommand).resolves(existing);
});

const noAlias = { functionName: 'iris', alias: 'prod', exists: false, weights: {} };

describe('each configuration input reaches Lambda', () => {
  it('CreateFunction carries every setting, the tags with their managed-keys record', async () => {
    const s = settings();
    const desired = desiredConfigFrom(s.build, s.fn, OURS);
    const plan = planChange({
      fn: { exists: false, layers: [], environment: {} },
      codeSha256: 'sha-B',
      desired,
      alias: noAlias,
    });
    expect(plan.decision).toEqual({ kind: 'create' });
    lambdaMock.on(CreateFunctionCommand).resolves({ ...existing, FunctionArn: ARN });
    await createFunction(lambda, {
      functionName: 'iris',
      role: s.fn.executionRole ?? '',
      code: { s3Bucket: 'artifacts', s3Key: 'k.zip' },
      architecture: desired.architecture,
      target: plan.target,
      codeSigningConfigArn: desired.codeSigningConfigArn,
      tags: tagsForCreate(desired.tags ?? {}),
    });
    const input = lambdaMock.commandCalls(CreateFunctionCommand)[0].args[0].input;
    expect(input).toEqual({
      ...EXPECTED_CONFIG,
      FunctionName: 'iris',
      Role: 'arn:aws:iam::123456789012:role/iris-exec',
      Runtime: 'python3.12',
      Handler: 'lambda_function.lambda_handler',
      Architectures: ['x86_64'],
      Code: { S3Bucket: 'artifacts', S3Key: 'k.zip' },
      Environment: { Variables: { MODEL_VERSION: '1.10', SEED: '0123' } },
      CodeSigningConfigArn:
        'arn:aws:lambda:us-east-1:123456789012:code-signing-config:csc-0123456789abcdef0',
      Tags: {
        team: 'ml',
        'cost-center': '0042',
        'lambda-ml-deploy:managed-tags': 'cost-center team',
      },
      Publish: false,
    });
  });

  it('UpdateFunctionConfiguration carries every changed setting; environment merged', async () => {
    const s = settings();
    const plan = planChange({
      fn: toFunctionState(existing),
      codeSha256: 'sha-A',
      desired: desiredConfigFrom(s.build, s.fn, OURS),
      alias: noAlias,
    });
    expect(plan.decision).toEqual({ kind: 'update', code: false, config: true });
    lambdaMock.on(UpdateFunctionConfigurationCommand).resolves({});
    await updateConfiguration(lambda, 'iris', plan.update ?? {});
    const input = lambdaMock.commandCalls(UpdateFunctionConfigurationCommand)[0].args[0].input;
    expect(input).toEqual({
      ...EXPECTED_CONFIG,
      FunctionName: 'iris',
      Environment: { Variables: { KEEP: 'me', MODEL_VERSION: '1.10', SEED: '0123' } },
    });
  });

  it('`none` removes a VPC, dead-letter target and KMS key the function has', async () => {
    const s = settings({
      'vpc-subnet-ids': 'none',
      'vpc-security-group-ids': '',
      'vpc-ipv6-dual-stack': '',
      'dead-letter-target-arn': 'none',
      'kms-key-arn': 'none',
    });
    const attached: FunctionConfiguration = {
      ...existing,
      VpcConfig: { SubnetIds: ['subnet-0123abcd'], SecurityGroupIds: ['sg-0123abcd'] },
      DeadLetterConfig: { TargetArn: 'arn:aws:sqs:us-east-1:123456789012:iris-dlq' },
      KMSKeyArn: 'arn:aws:kms:us-east-1:123456789012:key/1234abcd',
    };
    const plan = planChange({
      fn: toFunctionState(attached),
      codeSha256: 'sha-A',
      desired: desiredConfigFrom(s.build, s.fn, OURS),
      alias: noAlias,
    });
    expect(
      plan.rows.filter((c) => ['vpc', 'deadLetterTargetArn', 'kmsKeyArn'].includes(c.field)),
    ).toEqual([
      {
        field: 'vpc',
        label: 'VPC',
        before: 'subnets subnet-0123abcd\nsecurity groups sg-0123abcd',
        after: '(none)',
      },
      {
        field: 'deadLetterTargetArn',
        label: 'dead-letter target',
        before: 'arn:aws:sqs:us-east-1:123456789012:iris-dlq',
        after: '(not set)',
      },
      {
        field: 'kmsKeyArn',
        label: 'KMS key',
        before: 'arn:aws:kms:us-east-1:123456789012:key/1234abcd',
        after: '(not set)',
      },
    ]);
    expect(plan.update).toMatchObject({
      VpcConfig: { SubnetIds: [], SecurityGroupIds: [] },
      DeadLetterConfig: { TargetArn: '' },
      KMSKeyArn: '',
    });

    const detached = toFunctionState(existing);
    const again = planChange({
      fn: detached,
      codeSha256: 'sha-A',
      desired: desiredConfigFrom(s.build, s.fn, OURS),
      alias: noAlias,
    });
    expect(again.rows.map((c) => c.field)).not.toEqual(expect.arrayContaining(['vpc']));
    expect(again.rows.map((c) => c.field)).not.toContain('deadLetterTargetArn');
    expect(again.rows.map((c) => c.field)).not.toContain('kmsKeyArn');
  });

  it('`none` with other VPC inputs, or on create, is refused or sends nothing', () => {
    expect(() => settings({ 'vpc-subnet-ids': 'none subnet-0123abcd' })).toThrow(
      /Input 'vpc-subnet-ids': `none` removes the VPC and stands alone/,
    );
    const s = settings({
      'vpc-subnet-ids': 'none',
      'vpc-security-group-ids': '',
      'vpc-ipv6-dual-stack': '',
      'dead-letter-target-arn': 'none',
      'kms-key-arn': 'none',
    });
    const plan = planChange({
      fn: { exists: false, layers: [], environment: {} },
      codeSha256: 'sha-B',
      desired: desiredConfigFrom(s.build, s.fn, OURS),
      alias: noAlias,
    });
    expect(plan.decision).toEqual({ kind: 'create' });
    expect(plan.target.vpc).toEqual({ subnetIds: [], securityGroupIds: [], ipv6DualStack: false });
  });

  it('an architecture switch: UpdateFunctionCode carries Architectures with the code', async () => {
    const s = settings({ architecture: 'arm64' });
    const plan = planChange({
      fn: toFunctionState(existing),
      codeSha256: 'sha-A',
      desired: desiredConfigFrom(s.build, s.fn, OURS),
      alias: noAlias,
    });
    expect(plan.decision).toMatchObject({ kind: 'update', code: true });
    lambdaMock.on(UpdateFunctionCodeCommand).resolves({ CodeSha256: 'sha-A' });
    await updateCode(
      lambda,
      'iris',
      { s3Bucket: 'artifacts', s3Key: 'k.zip' },
      s.build.architecture,
    );
    expect(lambdaMock.commandCalls(UpdateFunctionCodeCommand)[0].args[0].input).toEqual({
      FunctionName: 'iris',
      S3Bucket: 'artifacts',
      S3Key: 'k.zip',
      Architectures: ['arm64'],
      Publish: false,
    });
  });

  it('tags: only managed keys are set or removed; a removed input key is untagged', async () => {
    const current = {
      owner: 'platform', // set by someone else: never touched
      team: 'ml',
      stale: 'x',
      'lambda-ml-deploy:managed-tags': 'stale team',
    };
    const plan = planTags(current, settings().fn.tags ?? {});
    lambdaMock.on(TagResourceCommand).resolves({});
    lambdaMock.on(UntagResourceCommand).resolves({});
    await applyTags(lambda, ARN, plan);
    expect(lambdaMock.commandCalls(TagResourceCommand)[0].args[0].input).toEqual({
      Resource: ARN,
      Tags: { 'cost-center': '0042', 'lambda-ml-deploy:managed-tags': 'cost-center team' },
    });
    expect(lambdaMock.commandCalls(UntagResourceCommand)[0].args[0].input).toEqual({
      Resource: ARN,
      TagKeys: ['stale'],
    });
    expect(plan.rows.map((r) => [r.label, r.before, r.after])).toEqual([
      ['tag cost-center', '(not set)', '0042'],
      ['tag stale', 'x', '(removed)'],
    ]);
  });

  it('tags already as asked: no call at all', async () => {
    const plan = planTags(
      { team: 'ml', 'cost-center': '0042', 'lambda-ml-deploy:managed-tags': 'cost-center team' },
      settings().fn.tags ?? {},
    );
    await applyTags(lambda, ARN, plan);
    expect(lambdaMock.commandCalls(TagResourceCommand)).toHaveLength(0);
    expect(lambdaMock.commandCalls(UntagResourceCommand)).toHaveLength(0);
  });
});
