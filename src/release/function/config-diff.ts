import type { UpdateFunctionConfigurationRequest } from '@aws-sdk/client-lambda';
import type { DesiredConfig } from './desired-config.js';
import type { FunctionConfig, LoggingState, VpcState } from './function-state.js';
import { snapStartApplyOn } from './snap-start.js';

/**
 * One pure diff between a function's configuration ($LATEST or a version) and the target of this
 * run. The change decision, the update calls and the job summary all read it.
 */

export type ConfigField = keyof FunctionConfig;

/** One setting that differs: what it is now and what this run wants, both for people to read. */
export interface FieldChange {
  field: ConfigField;
  label: string;
  before: string;
  after: string;
}

export type UpdateInput = Omit<UpdateFunctionConfigurationRequest, 'FunctionName'>;

interface Field {
  key: ConfigField;
  label: string;
  /** Part of a published version's configuration (Description is set per version at publish). */
  versioned: boolean;
  /** true when `current` already is what `target` asks for (an unset target asks nothing). */
  same(current: unknown, target: unknown): boolean;
  show(value: unknown): string;
  /** The UpdateFunctionConfiguration / CreateFunction parameters; none: set with the code. */
  input?(target: FunctionConfig): UpdateInput;
}

const NOT_SET = '(not set)';
const showScalar = (value: unknown) =>
  value === undefined || value === '' ? NOT_SET : String(value);
/** An unset target asks nothing; '' asks for the setting to be removed (`none` in the input). */
const sameScalar = (current: unknown, target: unknown) =>
  target === undefined || current === target || (target === '' && current === undefined);

function scalar(
  key: ConfigField,
  label: string,
  input: (target: FunctionConfig) => UpdateInput,
  versioned = true,
): Field {
  return { key, label, versioned, same: sameScalar, show: showScalar, input };
}

const sameList = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((item, i) => item === b[i]);
const sorted = (list: readonly string[]) => [...list].sort();

/** `name:version` of a layer version ARN, the readable part. */
const layerLabel = (arn: string) => arn.split(':').slice(6).join(':') || arn;

const FIELDS: Field[] = [
  {
    key: 'architecture',
    label: 'architecture',
    versioned: true,
    same: sameScalar,
    show: showScalar,
  },
  scalar('runtime', 'runtime', (t) => ({ Runtime: t.runtime as UpdateInput['Runtime'] })),
  scalar('handler', 'handler', (t) => ({ Handler: t.handler })),
  {
    key: 'layers',
    label: 'layers',
    versioned: true,
    same: (c, t) => t === undefined || sameList(c as string[], t as string[]),
    show: (v) => ((v as string[]).length ? (v as string[]).map(layerLabel).join('\n') : '(none)'),
    input: (t) => ({ Layers: t.layers }),
  },
  scalar('memorySize', 'memory (MB)', (t) => ({ MemorySize: t.memorySize })),
  scalar('timeout', 'timeout (s)', (t) => ({ Timeout: t.timeout })),
  {
    key: 'environment',
    label: 'environment',
    versioned: true,
    same: (c, t) => t === undefined || sameEnvironment(c as Env, t as Env),
    show: (v) => showEnvironment(v as Env),
    input: (t) => ({ Environment: { Variables: t.environment } }),
  },
  scalar('ephemeralStorage', 'ephemeral storage (MB)', (t) => ({
    EphemeralStorage: { Size: t.ephemeralStorage ?? 512 },
  })),
  {
    key: 'vpc',
    label: 'VPC',
    versioned: true,
    same: (c, t) => t === undefined || sameVpc(c as VpcState | undefined, t as VpcState),
    show: (v) => showVpc(v as VpcState | undefined),
    input: (t) => ({
      VpcConfig: {
        SubnetIds: t.vpc?.subnetIds ?? [],
        SecurityGroupIds: t.vpc?.securityGroupIds ?? [],
        ...(t.vpc?.ipv6DualStack ? { Ipv6AllowedForDualStack: true } : {}),
      },
    }),
  },
  scalar('deadLetterTargetArn', 'dead-letter target', (t) => ({
    DeadLetterConfig: { TargetArn: t.deadLetterTargetArn },
  })),
  scalar('kmsKeyArn', 'KMS key', (t) => ({ KMSKeyArn: t.kmsKeyArn })),
  scalar('tracing', 'X-Ray tracing', (t) => ({
    TracingConfig: { Mode: t.tracing as 'Active' | 'PassThrough' },
  })),
  {
    key: 'fileSystems',
    label: 'file systems',
    versioned: true,
    same: (c, t) =>
      t === undefined ||
      sameList(fileSystemKeys(c as FileSystems), fileSystemKeys(t as FileSystems)),
    show: (v) => fileSystemKeys(v as FileSystems).join('\n') || '(none)',
    input: (t) => ({
      FileSystemConfigs: (t.fileSystems ?? []).map((f) => ({
        Arn: f.arn,
        LocalMountPath: f.localMountPath,
      })),
    }),
  },
  {
    key: 'logging',
    label: 'logging',
    versioned: true,
    same: (c, t) =>
      t === undefined || sameLogging(c as LoggingState | undefined, t as LoggingState),
    show: (v) => showLogging(v as LoggingState | undefined),
    input: (t) => ({ LoggingConfig: loggingInput(t.logging ?? {}) }),
  },
  scalar('snapStart', 'SnapStart', (t) => ({
    SnapStart: { ApplyOn: t.snapStart as 'PublishedVersions' | 'None' },
  })),
  scalar('description', 'description', (t) => ({ Description: t.description }), false),
];

type Env = Record<string, string>;
type FileSystems = FunctionConfig['fileSystems'];

function sameEnvironment(current: Env, target: Env): boolean {
  const keys = Object.keys(target);
  return (
    keys.length === Object.keys(current).length && keys.every((key) => current[key] === target[key])
  );
}

function showEnvironment(env: Env): string {
  const keys = Object.keys(env).sort();
  return keys.length ? keys.map((key) => `${key}=${env[key]}`).join('\n') : '(none)';
}

function sameVpc(current: VpcState | undefined, target: VpcState): boolean {
  const c = current ?? { subnetIds: [], securityGroupIds: [], ipv6DualStack: false };
  return (
    sameList(sorted(c.subnetIds), sorted(target.subnetIds)) &&
    sameList(sorted(c.securityGroupIds), sorted(target.securityGroupIds)) &&
    c.ipv6DualStack === target.ipv6DualStack
  );
}

function showVpc(vpc: VpcState | undefined): string {
  if (!vpc || (vpc.subnetIds.length === 0 && vpc.securityGroupIds.length === 0)) return '(none)';
  return [
    `subnets ${sorted(vpc.subnetIds).join(', ')}`,
    `security groups ${sorted(vpc.securityGroupIds).join(', ')}`,
    ...(vpc.ipv6DualStack ? ['IPv6 dual stack'] : []),
  ].join('\n');
}

function fileSystemKeys(list: FileSystems): string[] {
  return (list ?? []).map((f) => `${f.arn} at ${f.localMountPath}`);
}

const LOGGING_PARTS: Array<[keyof LoggingState, string]> = [
  ['format', 'format'],
  ['logGroup', 'log group'],
  ['applicationLevel', 'application level'],
  ['systemLevel', 'system level'],
];

function sameLogging(current: LoggingState | undefined, target: LoggingState): boolean {
  return LOGGING_PARTS.every(
    ([part]) => target[part] === undefined || current?.[part] === target[part],
  );
}

function showLogging(logging: LoggingState | undefined): string {
  const parts = LOGGING_PARTS.filter(([part]) => logging?.[part] !== undefined).map(
    ([part, name]) => `${name} ${logging?.[part]}`,
  );
  return parts.join('\n') || NOT_SET;
}

function loggingInput(logging: LoggingState): UpdateInput['LoggingConfig'] {
  const json = logging.format === 'JSON';
  return {
    ...(logging.format ? { LogFormat: logging.format as 'JSON' | 'Text' } : {}),
    ...(logging.logGroup ? { LogGroup: logging.logGroup } : {}),
    ...(json && logging.applicationLevel
      ? { ApplicationLogLevel: logging.applicationLevel as 'INFO' }
      : {}),
    ...(json && logging.systemLevel ? { SystemLogLevel: logging.systemLevel as 'INFO' } : {}),
  };
}

/** Layers after this run: extras around ours when given, otherwise ours replaced in place. */
export function targetLayers(current: readonly string[], desired: DesiredConfig): string[] {
  const ours = desired.layerArn ? [desired.layerArn] : [];
  if (desired.extraLayers)
    return [...desired.extraLayers.before, ...ours, ...desired.extraLayers.after];
  return desiredLayers(current, desired.layerName, desired.layerArn);
}

/** Layers after this run: ours replaced (any version of `layerName`), everyone else's kept in order. */
export function desiredLayers(
  current: readonly string[],
  layerName: string,
  layerArn: string | undefined,
): string[] {
  const isOurs = (arn: string) => arn.split(':')[6] === layerName;
  const others = current.filter((arn) => !isOurs(arn));
  return layerArn ? [...others, layerArn] : others;
}

function targetLogging(
  latest: LoggingState | undefined,
  desired: DesiredConfig['logging'],
): LoggingState | undefined {
  if (!desired) return latest;
  const format = desired.format ?? latest?.format;
  const json = format === 'JSON';
  return {
    format,
    logGroup: desired.logGroup ?? latest?.logGroup,
    applicationLevel: json ? (desired.applicationLevel ?? latest?.applicationLevel) : undefined,
    systemLevel: json ? (desired.systemLevel ?? latest?.systemLevel) : undefined,
  };
}

/**
 * What the function should look like after this run: the desired settings, and for each one left
 * unset what $LATEST has now. Pure.
 */
export function resolveTarget(latest: FunctionConfig, desired: DesiredConfig): FunctionConfig {
  return {
    layers: targetLayers(latest.layers, desired),
    runtime: desired.runtime,
    handler: desired.handler,
    architecture: desired.architecture,
    memorySize: desired.memorySize ?? latest.memorySize,
    timeout: desired.timeout ?? latest.timeout,
    environment: { ...latest.environment, ...(desired.environment ?? {}) },
    description: desired.description ?? latest.description,
    ephemeralStorage: desired.ephemeralStorage ?? latest.ephemeralStorage,
    vpc: desired.vpc
      ? {
          subnetIds: desired.vpc.subnetIds,
          securityGroupIds: desired.vpc.securityGroupIds,
          ipv6DualStack: desired.vpc.ipv6DualStack ?? latest.vpc?.ipv6DualStack ?? false,
        }
      : latest.vpc,
    deadLetterTargetArn: desired.deadLetterTargetArn ?? latest.deadLetterTargetArn,
    kmsKeyArn: desired.kmsKeyArn ?? latest.kmsKeyArn,
    tracing: desired.tracing ?? latest.tracing,
    fileSystems: desired.fileSystems ?? latest.fileSystems,
    logging: targetLogging(latest.logging, desired.logging),
    snapStart:
      desired.snapStart === undefined ? latest.snapStart : snapStartApplyOn(desired.snapStart),
  };
}

/**
 * The settings where `current` is not what `target` asks for. `scope: 'version'` compares a
 * published version, whose description is the one given at publish, so it is left out. Pure.
 */
export function diffConfig(
  current: FunctionConfig,
  target: FunctionConfig,
  scope: 'latest' | 'version' = 'latest',
): FieldChange[] {
  const changes: FieldChange[] = [];
  for (const field of FIELDS) {
    if (scope === 'version' && !field.versioned) continue;
    const before = current[field.key];
    const after = target[field.key];
    if (field.same(before, after)) continue;
    changes.push({
      field: field.key,
      label: field.label,
      before: field.show(before),
      after: field.show(after),
    });
  }
  return changes;
}

/** UpdateFunctionConfiguration parameters for these changes; undefined when none apply. Pure. */
export function updateConfigurationInput(
  target: FunctionConfig,
  changes: readonly FieldChange[],
): UpdateInput | undefined {
  const changed = new Set(changes.map((c) => c.field));
  const input: UpdateInput = {};
  for (const field of FIELDS) {
    if (changed.has(field.key) && field.input) Object.assign(input, field.input(target));
  }
  return Object.keys(input).length > 0 ? input : undefined;
}

/** CreateFunction parameters for every setting the target gives (Architectures aside). Pure. */
export function createConfigurationInput(target: FunctionConfig): UpdateInput {
  const input: UpdateInput = {};
  for (const field of FIELDS) {
    const value = target[field.key];
    const empty =
      value === undefined ||
      value === '' ||
      (Array.isArray(value) && value.length === 0) ||
      (field.key === 'vpc' && (value as VpcState).subnetIds.length === 0) ||
      (field.key === 'environment' && Object.keys(value as Env).length === 0) ||
      (field.key === 'snapStart' && value === 'None');
    if (!empty && field.input) Object.assign(input, field.input(target));
  }
  return input;
}
