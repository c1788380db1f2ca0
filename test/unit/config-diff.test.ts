import { planChange } from '../../src/release/function/change.js';
import {
  createConfigurationInput,
  diffConfig,
  resolveTarget,
  targetLayers,
  updateConfigurationInput,
} from '../../src/release/function/config-diff.js';
import type { DesiredConfig } from '../../src/release/function/desired-config.js';
import type { FunctionState } from '../../src/release/function/function.js';
import { toFunctionState } from '../../src/release/function/function-state.js';
import type { AliasState } from '../../src/release/traffic/alias-plan.js';

const layer = (name: string, v: number) =>
  `arn:aws:lambda:us-east-1:123456789012:layer:${name}:${v}`;

const latest: FunctionState = toFunctionState({
  FunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:iris',
  CodeSha256: 'sha-A',
  Runtime: 'python3.12',
  Handler: 'lambda_function.lambda_handler',
  Architectures: ['x86_64'],
  MemorySize: 512,
  Timeout: 30,
  Environment: { Variables: { LOG_LEVEL: 'info' } },
  Layers: [{ Arn: layer('iris-deps', 1) }],
  EphemeralStorage: { Size: 512 },
  TracingConfig: { Mode: 'PassThrough' },
  LoggingConfig: { LogFormat: 'Text', LogGroup: '/aws/lambda/iris' },
  VpcConfig: { SubnetIds: [], SecurityGroupIds: [], VpcId: '' },
  Description: 'iris classifier',
});
const desired: DesiredConfig = {
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
// A published version reports the description given at publish, not $LATEST's.
const version = (over: Partial<FunctionState> = {}): FunctionState => ({
  ...latest,
  description: 'lambda-ml-deploy | bundle 0123',
  ...over,
});

describe('resolveTarget and diffConfig', () => {
  it('an unset input keeps what $LATEST has: no difference', () => {
    const target = resolveTarget(latest, desired);
    expect(diffConfig(latest, target)).toEqual([]);
    expect(target).toMatchObject({ memorySize: 512, tracing: 'PassThrough', vpc: undefined });
  });

  it('lists each new setting with a readable before and after', () => {
    const target = resolveTarget(latest, {
      ...desired,
      ephemeralStorage: 2048,
      tracing: 'Active',
      vpc: { subnetIds: ['subnet-0b', 'subnet-0a'], securityGroupIds: ['sg-01'] },
      deadLetterTargetArn: 'arn:aws:sqs:us-east-1:123456789012:dlq',
      kmsKeyArn: 'arn:aws:kms:us-east-1:123456789012:key/k1',
      fileSystems: [
        {
          arn: 'arn:aws:elasticfilesystem:us-east-1:1:access-point/fsap-1',
          localMountPath: '/mnt/m',
        },
      ],
      logging: { format: 'JSON', applicationLevel: 'WARN' },
      extraLayers: { before: [layer('otel', 3)], after: [layer('extras', 1)] },
    });
    const changes = diffConfig(latest, target);
    expect(changes.map((c) => [c.label, c.before, c.after])).toEqual([
      ['layers', 'iris-deps:1', 'otel:3\niris-deps:1\nextras:1'],
      ['ephemeral storage (MB)', '512', '2048'],
      ['VPC', '(none)', 'subnets subnet-0a, subnet-0b\nsecurity groups sg-01'],
      ['dead-letter target', '(not set)', 'arn:aws:sqs:us-east-1:123456789012:dlq'],
      ['KMS key', '(not set)', 'arn:aws:kms:us-east-1:123456789012:key/k1'],
      ['X-Ray tracing', 'PassThrough', 'Active'],
      [
        'file systems',
        '(none)',
        'arn:aws:elasticfilesystem:us-east-1:1:access-point/fsap-1 at /mnt/m',
      ],
      [
        'logging',
        'format Text\nlog group /aws/lambda/iris',
        'format JSON\nlog group /aws/lambda/iris\napplication level WARN',
      ],
    ]);
    expect(updateConfigurationInput(target, changes)).toEqual({
      Layers: [layer('otel', 3), layer('iris-deps', 1), layer('extras', 1)],
      EphemeralStorage: { Size: 2048 },
      VpcConfig: { SubnetIds: ['subnet-0b', 'subnet-0a'], SecurityGroupIds: ['sg-01'] },
      DeadLetterConfig: { TargetArn: 'arn:aws:sqs:us-east-1:123456789012:dlq' },
      KMSKeyArn: 'arn:aws:kms:us-east-1:123456789012:key/k1',
      TracingConfig: { Mode: 'Active' },
      FileSystemConfigs: [
        {
          Arn: 'arn:aws:elasticfilesystem:us-east-1:1:access-point/fsap-1',
          LocalMountPath: '/mnt/m',
        },
      ],
      LoggingConfig: {
        LogFormat: 'JSON',
        LogGroup: '/aws/lambda/iris',
        ApplicationLogLevel: 'WARN',
      },
    });
  });

  it('VPC lists compare as sets; Lambda-filled log levels do not count as a difference', () => {
    const inVpc = {
      ...latest,
      vpc: { subnetIds: ['s2', 's1'], securityGroupIds: ['g'], ipv6DualStack: false },
    };
    const target = resolveTarget(inVpc, {
      ...desired,
      vpc: { subnetIds: ['s1', 's2'], securityGroupIds: ['g'] },
    });
    expect(diffConfig(inVpc, target)).toEqual([]);
    // Asked for JSON only: Lambda adds INFO levels itself; the next run sees no difference.
    const asked = resolveTarget(latest, { ...desired, logging: { format: 'JSON' } });
    const after = {
      ...latest,
      logging: {
        format: 'JSON',
        logGroup: '/aws/lambda/iris',
        applicationLevel: 'INFO',
        systemLevel: 'INFO',
      },
    };
    expect(diffConfig(after, asked)).toEqual([]);
    // Back to Text: levels are not sent (Lambda refuses them for Text logs).
    const text = resolveTarget(after, { ...desired, logging: { format: 'Text' } });
    expect(updateConfigurationInput(text, diffConfig(after, text))).toEqual({
      LoggingConfig: { LogFormat: 'Text', LogGroup: '/aws/lambda/iris' },
    });
  });

  it('extra layers: before and after ours, or only them when there is no dependency layer', () => {
    const extra = { before: [layer('a', 1)], after: [layer('b', 2)] };
    expect(targetLayers([layer('old', 9)], { ...desired, extraLayers: extra })).toEqual([
      layer('a', 1),
      layer('iris-deps', 1),
      layer('b', 2),
    ]);
    expect(targetLayers([], { ...desired, layerArn: undefined, extraLayers: extra })).toEqual([
      layer('a', 1),
      layer('b', 2),
    ]);
  });

  it('CreateFunction gets every setting that is given, nothing empty', () => {
    const target = resolveTarget(
      { layers: [], environment: {} },
      { ...desired, memorySize: 1024, ephemeralStorage: 4096, tracing: 'Active' },
    );
    expect(createConfigurationInput(target)).toEqual({
      Runtime: 'python3.12',
      Handler: 'lambda_function.lambda_handler',
      Layers: [layer('iris-deps', 1)],
      MemorySize: 1024,
      EphemeralStorage: { Size: 4096 },
      TracingConfig: { Mode: 'Active' },
    });
  });
});

describe('planChange: the whole desired state against $LATEST and the served version', () => {
  it('a configuration-only change updates the configuration and publishes', () => {
    const plan = planChange({
      fn: latest,
      codeSha256: 'sha-A',
      desired: { ...desired, memorySize: 1024, timeout: 60, environment: { MODEL: '1.10' } },
      alias: prod,
      servedVersion: version(),
    });
    expect(plan.decision).toEqual({ kind: 'update', code: false, config: true });
    expect(plan.update).toEqual({
      MemorySize: 1024,
      Timeout: 60,
      Environment: { Variables: { LOG_LEVEL: 'info', MODEL: '1.10' } },
    });
    expect(plan.rows.map((r) => [r.label, r.before, r.after])).toEqual([
      ['memory (MB)', '512', '1024'],
      ['timeout (s)', '30', '60'],
      ['environment', 'LOG_LEVEL=info', 'LOG_LEVEL=info\nMODEL=1.10'],
    ]);
  });

  it('$LATEST already carrying the new configuration (an interrupted run) still publishes', () => {
    const updated = { ...latest, memorySize: 1024 };
    const plan = planChange({
      fn: updated,
      codeSha256: 'sha-A',
      desired: { ...desired, memorySize: 1024 },
      alias: prod,
      servedVersion: version(),
    });
    expect(plan.decision).toEqual({ kind: 'publish-only' });
    expect(plan.update).toBeUndefined();
    expect(plan.rows).toMatchObject([{ field: 'memorySize', before: '512', after: '1024' }]);
  });

  it('unchanged when the served version has it all; its publish description does not count', () => {
    const plan = planChange({
      fn: latest,
      codeSha256: 'sha-A',
      desired: { ...desired, memorySize: 512, tracing: 'PassThrough' },
      alias: prod,
      servedVersion: version(),
    });
    expect(plan.decision).toEqual({ kind: 'unchanged', version: '4' });
    expect(plan.rows).toEqual([]);
  });

  it('a served version with other configuration than $LATEST is not unchanged', () => {
    const plan = planChange({
      fn: latest,
      codeSha256: 'sha-A',
      desired,
      alias: prod,
      servedVersion: version({ tracing: 'Active', environment: {} }),
    });
    expect(plan.decision).toEqual({ kind: 'publish-only' });
    expect(plan.rows.map((r) => r.field)).toEqual(['environment', 'tracing']);
  });

  it('an architecture switch is a code update (UpdateFunctionCode carries it), not configuration', () => {
    const plan = planChange({
      fn: latest,
      codeSha256: 'sha-A',
      desired: { ...desired, architecture: 'arm64', layerArn: layer('iris-deps', 2) },
      alias: prod,
      servedVersion: version(),
    });
    expect(plan.decision).toEqual({ kind: 'update', code: true, config: true });
    expect(plan.update).toEqual({ Layers: [layer('iris-deps', 2)] });
    expect(plan.rows.map((r) => [r.label, r.before, r.after])).toEqual([
      ['architecture', 'x86_64', 'arm64'],
      ['layers', 'iris-deps:1', 'iris-deps:2'],
    ]);
  });

  it('a description change is compared with $LATEST (a version keeps its publish description)', () => {
    const plan = planChange({
      fn: latest,
      codeSha256: 'sha-A',
      desired: { ...desired, description: 'iris v2' },
      alias: prod,
      servedVersion: version(),
    });
    expect(plan.decision).toEqual({ kind: 'update', code: false, config: true });
    expect(plan.rows).toMatchObject([
      { field: 'description', before: 'iris classifier', after: 'iris v2' },
    ]);
  });

  it('a new code hash shows as a row against the served version', () => {
    const plan = planChange({
      fn: latest,
      codeSha256: 'sha-B',
      desired,
      alias: prod,
      servedVersion: version(),
    });
    expect(plan.decision).toEqual({ kind: 'update', code: true, config: false });
    expect(plan.rows).toEqual([
      { field: 'code', label: 'code (CodeSha256)', before: 'sha-A', after: 'sha-B' },
    ]);
  });
});
