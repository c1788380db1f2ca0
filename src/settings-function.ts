import { parse as parseYaml } from 'yaml';
import { errorMessage } from './errors.js';
import type { InputReader } from './settings-parse.js';

/**
 * The function configuration inputs beyond memory, timeout and environment: each optional, and
 * when unset the function keeps what it has.
 */

export type TracingMode = 'Active' | 'PassThrough';
export type LogFormat = 'Text' | 'JSON';

export interface VpcSettings {
  subnetIds: string[];
  securityGroupIds: string[];
  /** undefined: keep what the function has. */
  ipv6DualStack?: boolean;
}

/** Extra layers around ours: `before` ahead of it, `after` behind it (later layers win in /opt). */
export interface ExtraLayers {
  before: string[];
  after: string[];
}

export interface FileSystemSetting {
  arn: string;
  localMountPath: string;
}

export interface LoggingSettings {
  format?: LogFormat;
  logGroup?: string;
  applicationLevel?: string;
  systemLevel?: string;
}

export interface FunctionConfigSettings {
  ephemeralStorage?: number;
  vpc?: VpcSettings;
  deadLetterTargetArn?: string;
  kmsKeyArn?: string;
  tracing?: TracingMode;
  layers?: ExtraLayers;
  fileSystems?: FileSystemSetting[];
  logging?: LoggingSettings;
  codeSigningConfigArn?: string;
  tags?: Record<string, string>;
}

/** The line in `layers` that stands for this action's dependency layer. */
export const OUR_LAYER = '{deps}';
/** The tag recording which tag keys this action manages (space-separated). */
export const MANAGED_TAGS_KEY = 'lambda-ml-deploy:managed-tags';

const ARN = 'arn:aws[a-z-]*';
const REGION = '[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\\d{1,2}';
const LAYER_ARN = new RegExp(`^${ARN}:lambda:${REGION}:\\d{12}:layer:[a-zA-Z0-9_-]{1,140}:\\d+$`);
const DLQ_ARN = new RegExp(`^${ARN}:(sqs|sns):${REGION}:\\d{12}:[\\w.-]{1,256}$`);
const KMS_ARN = new RegExp(`^${ARN}:kms:${REGION}:\\d{12}:key/[\\w-]{1,128}$`);
const EFS_ARN = new RegExp(
  `^${ARN}:elasticfilesystem:${REGION}:\\d{12}:access-point/fsap-[a-f0-9]{8,40}$`,
);
const CSC_ARN = new RegExp(
  `^${ARN}:lambda:${REGION}:\\d{12}:code-signing-config:csc-[a-z0-9]{17}$`,
);
const SUBNET = /^subnet-[0-9a-f]{8,17}$/;
const SECURITY_GROUP = /^sg-[0-9a-f]{8,17}$/;
const MOUNT_PATH = /^\/mnt\/[a-zA-Z0-9._-]{1,150}$/;
const LOG_GROUP = /^[.\-_/#A-Za-z0-9]{1,512}$/;
const TAG_TEXT = /^[\p{L}\p{N}\p{Z}_.:/=+\-@]*$/u;

/** Reads and validates the configuration inputs; problems land in `r.problems`. */
export function readFunctionConfig(
  r: InputReader,
  hasDependencyLayer: boolean,
): FunctionConfigSettings {
  return {
    ephemeralStorage: r.int('ephemeral-storage', 512, 10240),
    vpc: readVpc(r),
    deadLetterTargetArn: optionalArn(
      r,
      'dead-letter-target-arn',
      DLQ_ARN,
      'must be an SQS queue or SNS topic ARN such as arn:aws:sqs:us-east-1:123456789012:my-dlq',
    ),
    kmsKeyArn: optionalArn(
      r,
      'kms-key-arn',
      KMS_ARN,
      'must be a KMS key ARN such as arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
    ),
    tracing: r.optional('tracing')
      ? r.oneOf('tracing', ['Active', 'PassThrough'] as const, 'PassThrough')
      : undefined,
    layers: readLayers(r, hasDependencyLayer),
    fileSystems: readFileSystems(r),
    logging: readLogging(r),
    codeSigningConfigArn: r.pattern(
      'code-signing-config-arn',
      r.optional('code-signing-config-arn'),
      CSC_ARN,
      'must be a code signing configuration ARN such as arn:aws:lambda:us-east-1:123456789012:code-signing-config:csc-0123456789abcdef0',
    ),
    tags: readTags(r),
  };
}

/** Comma-, space- or newline-separated items. */
function items(r: InputReader, name: string): string[] {
  return r
    .lines(name)
    .flatMap((line) => line.split(/[\s,]+/))
    .filter(Boolean);
}

/** `none`: remove the setting from the function (''), as opposed to empty: leave it as it is. */
const isNone = (value: string | undefined) => value !== undefined && /^none$/i.test(value);

/** An optional ARN input: undefined (leave as is), '' (`none`: remove) or a valid ARN. */
function optionalArn(r: InputReader, name: string, pattern: RegExp, problem: string) {
  const value = r.optional(name);
  if (isNone(value)) return '';
  return r.pattern(name, value, pattern, problem);
}

function readVpc(r: InputReader): VpcSettings | undefined {
  const subnetIds = items(r, 'vpc-subnet-ids');
  const securityGroupIds = items(r, 'vpc-security-group-ids');
  const dualStack = r.optional('vpc-ipv6-dual-stack');
  if (subnetIds.some(isNone) || securityGroupIds.some(isNone)) {
    const name = subnetIds.some(isNone) ? 'vpc-subnet-ids' : 'vpc-security-group-ids';
    if (subnetIds.length + securityGroupIds.length > 1 || dualStack)
      r.fail(name, '`none` removes the VPC and stands alone: leave the other vpc-* inputs empty');
    return { subnetIds: [], securityGroupIds: [], ipv6DualStack: false };
  }
  if (subnetIds.length === 0 && securityGroupIds.length === 0) {
    if (dualStack)
      r.fail('vpc-ipv6-dual-stack', 'needs vpc-subnet-ids and vpc-security-group-ids as well');
    return undefined;
  }
  if (subnetIds.length === 0)
    r.fail('vpc-subnet-ids', 'is required with vpc-security-group-ids (the function needs both)');
  if (securityGroupIds.length === 0)
    r.fail('vpc-security-group-ids', 'is required with vpc-subnet-ids (the function needs both)');
  if (subnetIds.length > 16) r.fail('vpc-subnet-ids', 'must list at most 16 subnets');
  if (securityGroupIds.length > 5) r.fail('vpc-security-group-ids', 'must list at most 5 groups');
  for (const id of subnetIds)
    r.pattern('vpc-subnet-ids', id, SUBNET, 'must list subnet IDs such as subnet-0123abcd');
  for (const id of securityGroupIds)
    r.pattern(
      'vpc-security-group-ids',
      id,
      SECURITY_GROUP,
      'must list group IDs such as sg-0123abcd',
    );
  return {
    subnetIds,
    securityGroupIds,
    ipv6DualStack: dualStack === undefined ? undefined : r.bool('vpc-ipv6-dual-stack', false),
  };
}

function readLayers(r: InputReader, hasDependencyLayer: boolean): ExtraLayers | undefined {
  const lines = items(r, 'layers');
  if (lines.length === 0) return undefined;
  const ours = lines.indexOf(OUR_LAYER);
  if (ours !== lines.lastIndexOf(OUR_LAYER))
    r.fail('layers', `must name ${OUR_LAYER} (the dependency layer) at most once`);
  const arns = lines.filter((line) => line !== OUR_LAYER);
  for (const arn of arns)
    r.pattern(
      'layers',
      arn,
      LAYER_ARN,
      `must list layer version ARNs such as arn:aws:lambda:us-east-1:123456789012:layer:otel:3, one per line, and ${OUR_LAYER} where the dependency layer goes`,
    );
  const names = arns.map((arn) => arn.split(':')[6]);
  const repeated = names.find((name, i) => names.indexOf(name) !== i);
  if (repeated)
    r.fail('layers', `names layer ${repeated} twice; a function takes one version of it`);
  const total = arns.length + (hasDependencyLayer ? 1 : 0);
  if (total > 5) {
    r.fail(
      'layers',
      `adds up to ${total} layers with the dependency layer; Lambda allows at most 5 per function`,
    );
  }
  if (ours === -1) return { before: arns, after: [] };
  return {
    before: lines.slice(0, ours).filter((line) => line !== OUR_LAYER),
    after: lines.slice(ours + 1).filter((line) => line !== OUR_LAYER),
  };
}

function readFileSystems(r: InputReader): FileSystemSetting[] | undefined {
  const text = r.raw('file-systems');
  if (text === '') return undefined;
  const example =
    '[{arn: arn:aws:elasticfilesystem:us-east-1:123456789012:access-point/fsap-0123456789abcdef0, local-mount-path: /mnt/models}]';
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (error) {
    return r.fail(
      'file-systems',
      `does not parse as YAML or JSON: ${errorMessage(error).split('\n')[0]}`,
    );
  }
  const list = Array.isArray(parsed) ? parsed : [parsed];
  if (list.length > 1)
    return r.fail('file-systems', 'must list at most one file system (a Lambda limit)');
  const result: FileSystemSetting[] = [];
  for (const entry of list) {
    const record = (entry && typeof entry === 'object' ? entry : {}) as Record<string, unknown>;
    const arn = record.arn ?? record.Arn;
    const mount = record['local-mount-path'] ?? record.LocalMountPath;
    if (typeof arn !== 'string' || typeof mount !== 'string') {
      r.fail('file-systems', `must be a list of {arn, local-mount-path}, e.g. ${example}`);
      continue;
    }
    r.pattern(
      'file-systems',
      arn,
      EFS_ARN,
      'must give an EFS access point ARN (…:elasticfilesystem:<region>:<account>:access-point/fsap-…) as arn',
    );
    r.pattern(
      'file-systems',
      mount,
      MOUNT_PATH,
      'must give local-mount-path as a folder directly under /mnt, such as /mnt/models',
    );
    result.push({ arn, localMountPath: mount });
  }
  return result;
}

function readLogging(r: InputReader): LoggingSettings | undefined {
  const given = ['log-format', 'log-group', 'application-log-level', 'system-log-level'].some(
    (name) => r.raw(name) !== '',
  );
  if (!given) return undefined;
  const choice = <T extends string>(name: string, allowed: readonly T[]) =>
    r.raw(name) === '' ? undefined : r.oneOf(name, allowed, allowed[0]);
  const logging: LoggingSettings = {
    format: choice('log-format', ['Text', 'JSON'] as const),
    logGroup: r.pattern(
      'log-group',
      r.optional('log-group'),
      LOG_GROUP,
      'must be a CloudWatch log group name such as /aws/lambda/my-fn (letters, digits and ._-/#)',
    ),
    applicationLevel: choice('application-log-level', [
      'TRACE',
      'DEBUG',
      'INFO',
      'WARN',
      'ERROR',
      'FATAL',
    ] as const),
    systemLevel: choice('system-log-level', ['DEBUG', 'INFO', 'WARN'] as const),
  };
  for (const name of ['application-log-level', 'system-log-level']) {
    if (r.raw(name) !== '' && logging.format !== 'JSON')
      r.fail(name, 'needs log-format: JSON (Lambda filters log levels only for JSON logs)');
  }
  return logging;
}

function readTags(r: InputReader): Record<string, string> | undefined {
  const entries = r.textMap('tags', '{team: ml, cost-center: "1234"}');
  if (entries === undefined) return undefined;
  const tags: Record<string, string> = {};
  for (const [key, value] of entries) {
    if (key.length > 128 || !TAG_TEXT.test(key) || /\s/.test(key)) {
      r.fail(
        'tags',
        `has key '${key}': tag keys here are 1 to 128 letters, digits and _.:/=+-@ (no spaces)`,
      );
    } else if (/^aws:/i.test(key) || key === MANAGED_TAGS_KEY) {
      r.fail('tags', `has key '${key}', which is reserved; pick another key`);
    } else if (value.length > 256 || !TAG_TEXT.test(value)) {
      r.fail(
        'tags',
        `has key '${key}' with a value that is not 0 to 256 letters, digits, spaces and _.:/=+-@`,
      );
    } else {
      tags[key] = value;
    }
  }
  const keys = Object.keys(tags);
  if (keys.length > 49)
    r.fail('tags', 'must hold at most 49 tags (Lambda allows 50, one records the managed keys)');
  if (keys.join(' ').length > 256) {
    r.fail(
      'tags',
      `has keys that add up to more than 256 characters; they are recorded in the ${MANAGED_TAGS_KEY} tag, whose value Lambda limits to 256`,
    );
  }
  return tags;
}
