import type { FunctionConfiguration } from '@aws-sdk/client-lambda';

export interface VpcState {
  subnetIds: string[];
  securityGroupIds: string[];
  ipv6DualStack: boolean;
}

export interface FileSystemState {
  arn: string;
  localMountPath: string;
}

export interface LoggingState {
  format?: string;
  logGroup?: string;
  applicationLevel?: string;
  systemLevel?: string;
}

/**
 * The configuration of $LATEST or of a version, as far as this action manages it. Also the shape
 * of the target: what the function should look like after this run (config-diff.ts).
 */
export interface FunctionConfig {
  layers: string[];
  runtime?: string;
  handler?: string;
  architecture?: string;
  memorySize?: number;
  timeout?: number;
  environment: Record<string, string>;
  description?: string;
  ephemeralStorage?: number;
  /** undefined: not in a VPC. */
  vpc?: VpcState;
  deadLetterTargetArn?: string;
  kmsKeyArn?: string;
  tracing?: string;
  fileSystems?: FileSystemState[];
  logging?: LoggingState;
  /** SnapStart.ApplyOn: 'PublishedVersions' or 'None'. */
  snapStart?: string;
}

/** A function (or version) as read from Lambda. */
export interface FunctionState extends FunctionConfig {
  exists: boolean;
  /** Zip or Image. */
  packageType?: string;
  arn?: string;
  codeSha256?: string;
  revisionId?: string;
}

export const MISSING_FUNCTION: FunctionState = { exists: false, layers: [], environment: {} };

export function toFunctionState(config: FunctionConfiguration): FunctionState {
  const vpc = config.VpcConfig;
  const inVpc = (vpc?.SubnetIds?.length ?? 0) > 0 || (vpc?.SecurityGroupIds?.length ?? 0) > 0;
  const logging = config.LoggingConfig;
  return {
    exists: true,
    packageType: config.PackageType ?? 'Zip',
    arn: config.FunctionArn,
    codeSha256: config.CodeSha256,
    layers: (config.Layers ?? []).map((l) => l.Arn ?? '').filter(Boolean),
    runtime: config.Runtime,
    handler: config.Handler,
    architecture: config.Architectures?.[0] ?? 'x86_64',
    memorySize: config.MemorySize,
    timeout: config.Timeout,
    environment: { ...(config.Environment?.Variables ?? {}) },
    description: config.Description,
    revisionId: config.RevisionId,
    ephemeralStorage: config.EphemeralStorage?.Size,
    vpc: inVpc
      ? {
          subnetIds: [...(vpc?.SubnetIds ?? [])],
          securityGroupIds: [...(vpc?.SecurityGroupIds ?? [])],
          ipv6DualStack: vpc?.Ipv6AllowedForDualStack ?? false,
        }
      : undefined,
    deadLetterTargetArn: config.DeadLetterConfig?.TargetArn || undefined,
    kmsKeyArn: config.KMSKeyArn || undefined,
    tracing: config.TracingConfig?.Mode,
    fileSystems: (config.FileSystemConfigs ?? []).map((fs) => ({
      arn: fs.Arn ?? '',
      localMountPath: fs.LocalMountPath ?? '',
    })),
    logging: logging
      ? {
          format: logging.LogFormat,
          logGroup: logging.LogGroup,
          applicationLevel: logging.ApplicationLogLevel,
          systemLevel: logging.SystemLogLevel,
        }
      : undefined,
    snapStart: config.SnapStart?.ApplyOn ?? 'None',
  };
}
