import type { BuildSettings, FunctionSettings } from '../../settings.js';
import type {
  ExtraLayers,
  FileSystemSetting,
  LoggingSettings,
  VpcSettings,
} from '../../settings-function.js';

/**
 * What this run wants the function to look like. An undefined field means "leave it as it is";
 * config-diff.ts resolves it against $LATEST into a complete target.
 */
export interface DesiredConfig {
  /** Zip: the function's code is a bundle; Image: a container image (no runtime, handler, layers). */
  packageType?: 'Zip' | 'Image';
  /** undefined for an image function (the image holds the runtime and the handler is its CMD). */
  runtime?: string;
  handler?: string;
  architecture: string;
  /** Our dependency layer (replaces a previous version of the same layer); undefined: no layer. */
  layerArn?: string;
  layerName: string;
  /** Other layers, ahead of and behind ours; undefined: keep the function's other layers. */
  extraLayers?: ExtraLayers;
  memorySize?: number;
  timeout?: number;
  /** Merged into the function's variables (given keys win; others kept). */
  environment?: Record<string, string>;
  description?: string;
  ephemeralStorage?: number;
  vpc?: VpcSettings;
  deadLetterTargetArn?: string;
  kmsKeyArn?: string;
  tracing?: string;
  fileSystems?: FileSystemSetting[];
  logging?: LoggingSettings;
  /** SnapStart on published versions; undefined: leave as it is. */
  snapStart?: boolean;
  /** Function-level (not versioned): applied beside the configuration, see function-extras.ts. */
  codeSigningConfigArn?: string;
  /** Function-level (not versioned): merged onto the function's tags, see tags.ts. */
  tags?: Record<string, string>;
}

/** What the S3 model store adds: the manifest variable and the /tmp it needs. */
export interface ModelStoreConfig {
  variable: string;
  manifestUri: string;
  ephemeralMb?: number;
}

/** The one desired configuration of a deploy or preview run. Pure. */
export function desiredConfigFrom(
  build: Pick<BuildSettings, 'runtime' | 'architecture' | 'layerName' | 'image'>,
  fn: FunctionSettings,
  layerArn: string | undefined,
  snapStart?: boolean,
  modelStore?: ModelStoreConfig,
): DesiredConfig {
  const config = plainDesiredConfig(build, fn, layerArn, snapStart);
  if (!modelStore) return config;
  return {
    ...config,
    environment: { ...config.environment, [modelStore.variable]: modelStore.manifestUri },
    ephemeralStorage: modelStore.ephemeralMb ?? config.ephemeralStorage,
  };
}

function plainDesiredConfig(
  build: Pick<BuildSettings, 'runtime' | 'architecture' | 'layerName' | 'image'>,
  fn: FunctionSettings,
  layerArn: string | undefined,
  snapStart?: boolean,
): DesiredConfig {
  const image = build.image !== undefined;
  return {
    packageType: image ? 'Image' : 'Zip',
    runtime: image ? undefined : build.runtime,
    handler: image ? undefined : fn.handler,
    architecture: build.architecture,
    layerArn,
    layerName: build.layerName,
    extraLayers: fn.layers,
    memorySize: fn.memorySize,
    timeout: fn.timeout,
    environment: fn.environment,
    description: fn.description,
    ephemeralStorage: fn.ephemeralStorage,
    vpc: fn.vpc,
    deadLetterTargetArn: fn.deadLetterTargetArn,
    kmsKeyArn: fn.kmsKeyArn,
    tracing: fn.tracing,
    fileSystems: fn.fileSystems,
    logging: fn.logging,
    codeSigningConfigArn: fn.codeSigningConfigArn,
    tags: fn.tags,
    snapStart,
  };
}
