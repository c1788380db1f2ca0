import * as fs from 'node:fs';
import * as path from 'node:path';
import { ActionError } from './errors.js';
import { readEndpoint, type EndpointSettings, type UrlAuthType } from './settings-endpoint.js';
import { readFunctionConfig, type FunctionConfigSettings } from './settings-function.js';
import { InputReader } from './settings-parse.js';

/** Excludes applied by default, at any depth: VCS data, bytecode caches, test folders. */
export const DEFAULT_EXCLUDES: readonly string[] = [
  '**/.git',
  '**/__pycache__',
  '**/*.pyc',
  '**/tests',
];

export type Mode = 'deploy' | 'preview' | 'preview-cleanup' | 'rollback';
export type Architecture = 'x86_64' | 'arm64';
export type BuildMethod = 'docker' | 'pip';
export const STRATEGIES = ['all-at-once', 'canary', 'linear'] as const;
export type Strategy = (typeof STRATEGIES)[number];
/** linear-steps: the number of equal steps of a linear shift (the input and the planner agree). */
export const LINEAR_STEPS = { min: 2, max: 20, fallback: 4 } as const;
export type UrlAuth = UrlAuthType;

export interface AuthSettings {
  region: string;
  /** When set, credentials come from GitHub OIDC; otherwise the ambient chain. */
  roleToAssume?: string;
  audience: string;
  roleSessionName: string;
  roleDurationSeconds: number;
}

export type ModelStore = 'bundle' | 's3';

export interface BuildSettings {
  sourceDir: string;
  model: string[];
  modelDest: string;
  /** bundle: model files in the zip; s3: content-addressed in s3-bucket, pinned by a manifest. */
  modelStore: ModelStore;
  include: string[];
  exclude: string[];
  /** Absolute path of the requirements file; undefined: no dependency layer. */
  requirements?: string;
  runtime: string;
  architecture: Architecture;
  build: BuildMethod;
  buildImage: string;
  pipArgs: string[];
  slim: boolean;
  layerName: string;
  s3Bucket: string;
  s3Prefix: string;
  /** package-type: image; undefined: a zip bundle (and a dependency layer). */
  image?: ImageSettings;
}

export const PACKAGE_TYPES = ['zip', 'image'] as const;
export type PackageType = (typeof PACKAGE_TYPES)[number];

/** Container-image packaging (package-type: image). */
export interface ImageSettings {
  /** The Lambda Python base image the layers go on. */
  baseImage: string;
  /** ECR repository name (no registry host). */
  repository: string;
  /** Create the repository when it is missing. */
  createRepository: boolean;
}

export interface FunctionSettings extends FunctionConfigSettings {
  createFunction: boolean;
  executionRole?: string;
  handler: string;
  memorySize?: number;
  timeout?: number;
  environment?: Record<string, string>;
  description?: string;
}

export interface ReleaseSettings {
  smokeTests?: string;
  strategy: Strategy;
  canaryPercent: number;
  canaryIntervalMs: number;
  linearSteps: number;
  alarms: string[];
  keepVersions: number;
}

/** Cold-start reduction (issue: cold starts). */
export interface ColdStartSettings {
  /** true: SnapStart on published versions; false: off; undefined: leave as it is. */
  snapStart?: boolean;
  /** Environments provisioned on the new version before traffic moves (deploy only); 0: none. */
  provisionedConcurrency: number;
}

export interface PreviewSettings {
  aliasPrefix: string;
  url: boolean;
  urlAuth: UrlAuth;
  prNumber: number;
}

interface Base {
  auth: AuthSettings;
  functionName: string;
  alias: string;
  githubToken?: string;
  dryRun: boolean;
  workspace: string;
}

export interface DeploySettings extends Base {
  mode: 'deploy';
  build: BuildSettings;
  fn: FunctionSettings;
  release: ReleaseSettings;
  coldStart: ColdStartSettings;
  /** A function URL on `alias`, the API Gateway permission, checks through the URL. */
  endpoint: EndpointSettings;
}

export interface PreviewModeSettings extends Base {
  mode: 'preview';
  build: BuildSettings;
  fn: FunctionSettings;
  release: ReleaseSettings;
  coldStart: ColdStartSettings;
  preview: PreviewSettings;
}

export interface PreviewCleanupSettings extends Base {
  mode: 'preview-cleanup';
  preview: PreviewSettings;
}

export interface RollbackSettings extends Base {
  mode: 'rollback';
  rollbackTo: 'previous' | number;
  smokeTests?: string;
}

export type Settings =
  DeploySettings | PreviewModeSettings | PreviewCleanupSettings | RollbackSettings;

/** What the runner tells us about the triggering event (GITHUB_EVENT_NAME / GITHUB_EVENT_PATH). */
export interface EventContext {
  eventName: string;
  payload: Record<string, unknown>;
}

const RUNTIMES = [
  'python3.9',
  'python3.10',
  'python3.11',
  'python3.12',
  'python3.13',
  'python3.14',
];
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;
const REGION = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$/;
const FUNCTION_NAME = /^(arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:)?[a-zA-Z0-9_-]{1,64}$/;
const ALIAS = /^(?!\d+$)[a-zA-Z0-9_-]{1,128}$/;
const LAYER_NAME = /^[a-zA-Z0-9_-]{1,140}$/;
const BUCKET = /^(?!xn--)(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const IMAGE_REF = /^[a-zA-Z0-9][a-zA-Z0-9._/:@-]{0,254}$/;
const ECR_REPOSITORY =
  /^(?=.{2,256}$)[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/;
const HANDLER = /^[A-Za-z_][\w./-]*\.[A-Za-z_]\w*$/;
const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;
const ALARM_NAME = /^[^\s][^\n]{0,254}$/;

/** Reads every input once, validates it, and returns the typed settings for the resolved mode. */
export function readSettings(
  getInput: (name: string) => string,
  event: EventContext,
  workspace: string,
): Settings {
  const r = new InputReader(getInput, workspace);
  const mode = resolveMode(r, event);

  const functionName =
    r.pattern(
      'function-name',
      r.required('function-name'),
      FUNCTION_NAME,
      'must be a Lambda function name (letters, digits, - and _, at most 64) or a function ARN',
    ) ?? '';
  const shortName = functionName.split(':').pop() ?? functionName;
  const auth = readAuth(r);
  const arnRegion = /^arn:aws[a-z-]*:lambda:([a-z0-9-]+):/.exec(functionName)?.[1];
  if (arnRegion && auth.region && arnRegion !== auth.region) {
    r.fail(
      'function-name',
      `is a function ARN in ${arnRegion}, but aws-region is ${auth.region}: the bundle bucket, the layer and every call would be in ${auth.region}; set aws-region: ${arnRegion} or pass the function's name`,
      functionName,
    );
  }
  const base: Base = {
    auth,
    functionName,
    alias:
      r.pattern(
        'alias',
        r.raw('alias') || 'prod',
        ALIAS,
        'must be an alias name (letters, digits, - and _, not only digits, at most 128)',
      ) ?? 'prod',
    githubToken: r.optional('github-token'),
    dryRun: r.bool('dry-run', false),
    workspace,
  };

  let settings: Settings;
  switch (mode) {
    case 'deploy': {
      const build = readBuild(r, shortName, mode);
      settings = {
        ...base,
        mode,
        build,
        fn: readFunction(r, build),
        release: readRelease(r),
        coldStart: readColdStart(r, build.runtime),
        endpoint: readEndpoint(r),
      };
      break;
    }
    case 'preview': {
      const build = readBuild(r, shortName, mode);
      settings = {
        ...base,
        mode,
        build,
        fn: readFunction(r, build),
        release: readRelease(r),
        coldStart: readColdStart(r, build.runtime),
        preview: readPreview(r, event),
      };
      break;
    }
    case 'preview-cleanup':
      settings = { ...base, mode, preview: readPreview(r, event) };
      break;
    case 'rollback':
      settings = {
        ...base,
        mode,
        rollbackTo: readRollbackTo(r),
        smokeTests: r.existingPath('smoke-tests', r.optional('smoke-tests'), 'file'),
      };
      break;
  }
  if ('preview' in settings) checkPreviewPrefix(r, settings.preview.aliasPrefix, base.alias);
  if (r.problems.length > 0) throw new SettingsError(r.problems);
  return settings;
}

/** What the post step needs when its saved state is unreadable: where to look at the alias. */
export interface AliasLocation {
  auth: AuthSettings;
  functionName: string;
  alias: string;
}

/** Reads only the inputs that locate the alias (no paths, nothing that a later step can remove). */
export function readAliasLocation(getInput: (name: string) => string): AliasLocation {
  const r = new InputReader(getInput, '.');
  const location: AliasLocation = {
    auth: readAuth(r),
    functionName:
      r.pattern(
        'function-name',
        r.required('function-name'),
        FUNCTION_NAME,
        'must be a Lambda function name or ARN',
      ) ?? '',
    alias: r.pattern('alias', r.raw('alias') || 'prod', ALIAS, 'must be an alias name') ?? '',
  };
  if (r.problems.length > 0) throw new SettingsError(r.problems);
  return location;
}

/** All validation problems at once; the message lists each on its own line. */
export class SettingsError extends ActionError {
  override name = 'SettingsError';
  constructor(readonly problems: string[]) {
    super(
      problems.length === 1
        ? problems[0]
        : `${problems.length} inputs are invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
  }
}

function resolveMode(r: InputReader, event: EventContext): Mode {
  const mode = r.oneOf(
    'mode',
    ['deploy', 'preview', 'preview-cleanup', 'rollback', 'auto'] as const,
    'deploy',
  );
  if (mode !== 'auto') return mode;
  if (event.eventName === 'pull_request_target') {
    r.fail(
      'mode',
      "auto is refused on pull_request_target: that event runs with this repository's secrets and " +
        'AWS role, so a preview would build and invoke code from the pull request (a fork, possibly) ' +
        'with them. Run previews `on: pull_request`, or set mode explicitly once the code is vetted',
      'auto',
    );
    return 'preview';
  }
  if (event.eventName === 'pull_request') {
    return event.payload.action === 'closed' ? 'preview-cleanup' : 'preview';
  }
  return 'deploy';
}

function readAuth(r: InputReader): AuthSettings {
  return {
    region:
      r.pattern(
        'aws-region',
        r.required('aws-region'),
        REGION,
        'must be an AWS region code such as us-east-1 or eu-west-3',
      ) ?? '',
    roleToAssume: r.pattern(
      'role-to-assume',
      r.optional('role-to-assume'),
      ROLE_ARN,
      'must be an IAM role ARN such as arn:aws:iam::123456789012:role/github-deploy',
    ),
    audience: r.raw('audience') || 'sts.amazonaws.com',
    roleSessionName:
      r.pattern(
        'role-session-name',
        r.raw('role-session-name') || 'lambda-ml-deploy',
        SESSION_NAME,
        'must be 2 to 64 characters: letters, digits and +=,.@_-',
      ) ?? 'lambda-ml-deploy',
    roleDurationSeconds: r.int('role-duration-seconds', 900, 43200, 3600) ?? 3600,
  };
}

function readBuild(
  r: InputReader,
  functionShortName: string,
  mode: 'deploy' | 'preview',
): BuildSettings {
  const sourceDir =
    r.existingPath('source-dir', r.raw('source-dir') || '.', 'dir') ?? r.raw('source-dir');
  const runtime = r.oneOf('runtime', RUNTIMES, 'python3.12');
  const architecture = r.oneOf('architecture', ['x86_64', 'arm64'] as const, 'x86_64');
  const image = readImage(r, runtime, architecture);
  const modelDest = r.raw('model-dest') || 'model';
  if (
    modelDest.startsWith('/') ||
    modelDest.split('/').includes('..') ||
    !/^[\w./-]+$/.test(modelDest)
  ) {
    r.fail(
      'model-dest',
      'must be a relative folder inside the zip such as `model` (no leading /, no ..)',
      modelDest,
    );
  }
  const pipArgs = r.raw('pip-args').split(/\s+/).filter(Boolean);
  for (const arg of pipArgs) {
    const option = forbiddenPipOption(arg);
    if (option)
      r.fail(
        'pip-args',
        `must not set ${option} (here as '${arg}'): the action sets the target, platform and interpreter itself`,
        arg,
      );
  }
  const s3Prefix = (r.raw('s3-prefix') || `lambda-ml-deploy/${functionShortName}`).replace(
    /\/+$/,
    '',
  );
  if (s3Prefix.startsWith('/') || s3Prefix.split('/').includes('..')) {
    r.fail(
      's3-prefix',
      'must be a relative key prefix such as `lambda-ml-deploy/my-fn` (no leading /, no ..)',
      s3Prefix,
    );
  }
  const model = r.lines('model').map((p) => r.existingPath('model', p, 'any') ?? p);
  const modelStore = r.oneOf('model-store', ['bundle', 's3'] as const, 'bundle');
  if (modelStore === 's3' && model.length === 0)
    r.fail('model-store', 'is s3 but `model` names no files: give the model paths to store', 's3');
  if (modelStore === 's3' && image)
    r.fail(
      'model-store',
      'is s3 with package-type: image: an image carries its model in a layer of its own (up to ' +
        '10 GB); use model-store: bundle with images, or package-type: zip with the S3 store',
      's3',
    );
  return {
    sourceDir,
    model,
    modelDest: modelDest.replace(/\/+$/, ''),
    modelStore,
    include: r.lines('include'),
    exclude: [...DEFAULT_EXCLUDES, ...r.lines('exclude')],
    requirements: readRequirements(r, sourceDir),
    runtime,
    architecture,
    build: r.oneOf('build', ['docker', 'pip'] as const, 'docker'),
    buildImage:
      r.pattern(
        'build-image',
        r.raw('build-image') || `public.ecr.aws/sam/build-${runtime}:latest-${architecture}`,
        IMAGE_REF,
        'must be a Docker image reference such as public.ecr.aws/sam/build-python3.12:latest-x86_64',
      ) ?? '',
    pipArgs,
    slim: r.bool('slim', true),
    layerName:
      r.pattern(
        'layer-name',
        r.raw('layer-name') || `${functionShortName}-deps`,
        LAYER_NAME,
        'must be a layer name (letters, digits, - and _, at most 140)',
      ) ?? '',
    s3Bucket: image
      ? (r.pattern(
          's3-bucket',
          r.raw('s3-bucket'),
          BUCKET,
          'must be an S3 bucket name (3 to 63 lowercase letters, digits, dots and hyphens)',
        ) ?? '')
      : (r.pattern(
          's3-bucket',
          r.required(
            's3-bucket',
            `for mode ${mode} (the bundle and the layer are uploaded there; only rollback, preview-cleanup and package-type image do without it)`,
          ),
          BUCKET,
          'must be an S3 bucket name (3 to 63 lowercase letters, digits, dots and hyphens)',
        ) ?? ''),
    s3Prefix,
    ...(image ? { image } : {}),
  };
}

/** AWS's Lambda Python base image for a runtime and architecture. Pure. */
export function defaultBaseImage(runtime: string, architecture: Architecture): string {
  const version = runtime.replace(/^python/, '');
  return `public.ecr.aws/lambda/python:${version}-${architecture}`;
}

function readImage(
  r: InputReader,
  runtime: string,
  architecture: Architecture,
): ImageSettings | undefined {
  const packageType = r.oneOf('package-type', PACKAGE_TYPES, 'zip');
  if (packageType !== 'image') {
    for (const input of ['base-image', 'ecr-repository'])
      if (r.raw(input))
        r.fail(input, 'applies to package-type: image only; set package-type: image or drop it');
    return undefined;
  }
  const repository =
    r.pattern(
      'ecr-repository',
      r.required('ecr-repository', 'for package-type: image (the image is pushed there)'),
      ECR_REPOSITORY,
      'must be an ECR repository name such as ml/iris (lowercase letters, digits, ., _, - and /)',
    ) ?? '';
  return {
    baseImage:
      r.pattern(
        'base-image',
        r.raw('base-image') || defaultBaseImage(runtime, architecture),
        IMAGE_REF,
        'must be an image reference such as public.ecr.aws/lambda/python:3.12-x86_64',
      ) ?? '',
    repository,
    createRepository: r.bool('create-repository', true),
  };
}

/** pip options that would move the install or change its platform: the action sets these. */
const FORBIDDEN_PIP_OPTIONS = [
  '--target',
  '--platform',
  '--only-binary',
  '--python-version',
  '--implementation',
  '--abi',
  '--user',
  '--prefix',
  '--root',
  '--python',
];
/** Long options pip has whose names are prefixes of a forbidden one (pip takes exact names as is). */
const ALLOWED_PREFIX_OPTIONS = new Set(['--pre']);
/** pip's short options that take a value; after one, the rest of the cluster is its value. */
const SHORT_WITH_VALUE = new Set(['r', 'c', 'e', 'i', 'f']);

/**
 * The forbidden option an argument sets, if any. pip (optparse) accepts any unambiguous prefix of
 * a long option (`--targ /x`) and clusters of short options with an attached value (`-t/x`,
 * `-qt/x`); an ambiguous prefix is refused too (pip would refuse it anyway). Pure.
 */
export function forbiddenPipOption(arg: string): string | undefined {
  if (arg.startsWith('--')) {
    const name = arg.split('=')[0];
    if (name === '--' || ALLOWED_PREFIX_OPTIONS.has(name)) return undefined;
    return FORBIDDEN_PIP_OPTIONS.find((option) => option.startsWith(name));
  }
  if (!/^-[a-zA-Z]/.test(arg)) return undefined;
  for (const flag of arg.slice(1)) {
    if (flag === 't') return '-t (--target)';
    if (SHORT_WITH_VALUE.has(flag) || !/[a-zA-Z]/.test(flag)) return undefined;
  }
  return undefined;
}

/** Unset: `requirements.txt` in source-dir when present. `none`: no layer. Otherwise a file. */
function readRequirements(r: InputReader, sourceDir: string): string | undefined {
  const value = r.raw('requirements');
  if (/^(none|false)$/i.test(value)) return undefined;
  if (value) return r.existingPath('requirements', value, 'file');
  const fallback = path.join(sourceDir, 'requirements.txt');
  return fs.existsSync(fallback) && fs.statSync(fallback).isFile() ? fallback : undefined;
}

function readFunction(r: InputReader, build: BuildSettings): FunctionSettings {
  const createFunction = r.bool('create-function', false);
  const executionRole = r.pattern(
    'execution-role',
    r.optional('execution-role'),
    ROLE_ARN,
    'must be an IAM role ARN such as arn:aws:iam::123456789012:role/my-fn-exec',
  );
  if (createFunction && !r.optional('execution-role')) {
    r.fail(
      'execution-role',
      'is required when create-function is true: the role the new function runs as',
    );
  }
  const handlerRaw = r.raw('handler');
  if (build.image && r.raw('layers'))
    r.fail(
      'layers',
      'cannot be used with package-type: image (Lambda runs no layers on image functions); ' +
        'put what they hold into the image, or use package-type: zip',
    );
  const environment = r.envMap('environment');
  if (environment && 'LAMBDA_ML_MODEL_MANIFEST' in environment)
    r.fail(
      'environment',
      "must not set LAMBDA_ML_MODEL_MANIFEST: it pins a version's model and the action writes it (model-store: s3)",
    );
  const description = r.optional('description');
  if (description && description.length > 256)
    r.fail('description', 'must be at most 256 characters', description);
  return {
    createFunction,
    executionRole,
    handler:
      r.pattern(
        'handler',
        handlerRaw || 'lambda_function.lambda_handler',
        HANDLER,
        'must be module.function, e.g. lambda_function.lambda_handler or app/main.handler',
      ) ?? '',
    memorySize: r.int('memory-size', 128, 10240),
    timeout: r.int('timeout', 1, 900),
    environment,
    description,
    ...readFunctionConfig(r, build.requirements !== undefined),
  };
}

function readRelease(r: InputReader): ReleaseSettings {
  const alarms = r.lines('alarms');
  for (const alarm of alarms)
    r.pattern(
      'alarms',
      alarm,
      ALARM_NAME,
      'must list CloudWatch alarm names, one per line (at most 255 characters each)',
    );
  const strategy = r.oneOf('strategy', STRATEGIES, 'all-at-once');
  if (strategy === 'all-at-once' && alarms.length > 0) {
    r.fail(
      'alarms',
      'are watched during a canary or linear bake, and all-at-once has none, so they would be ignored; set strategy: canary (or linear), or remove alarms',
    );
  }
  return {
    smokeTests: r.existingPath('smoke-tests', r.optional('smoke-tests'), 'file'),
    strategy,
    canaryPercent: r.int('canary-percent', 1, 99, 10) ?? 10,
    canaryIntervalMs: r.duration('canary-interval', 1000, 12 * 3_600_000, '300s'),
    linearSteps:
      r.int('linear-steps', LINEAR_STEPS.min, LINEAR_STEPS.max, LINEAR_STEPS.fallback) ??
      LINEAR_STEPS.fallback,
    alarms,
    keepVersions: r.int('keep-versions', 0, 1000, 0) ?? 0,
  };
}

/** Lambda SnapStart for Python starts with python3.12. */
const SNAP_START_MIN_PYTHON = [3, 12] as const;

/** Undefined when `runtime` supports SnapStart, else why not (for the input's error). Pure. */
export function snapStartProblem(runtime: string): string | undefined {
  const match = /^python(\d+)\.(\d+)$/.exec(runtime);
  const [major, minor] = SNAP_START_MIN_PYTHON;
  if (
    match &&
    (Number(match[1]) > major || (Number(match[1]) === major && Number(match[2]) >= minor))
  )
    return undefined;
  return `needs runtime python${major}.${minor} or later (Lambda SnapStart for Python), but runtime is ${runtime}: raise runtime or drop snap-start`;
}

function readColdStart(r: InputReader, runtime: string): ColdStartSettings {
  const snapStart = r.raw('snap-start') === '' ? undefined : r.bool('snap-start', false);
  if (snapStart) {
    const problem = snapStartProblem(runtime);
    if (problem) r.fail('snap-start', problem, 'true');
  }
  const provisionedConcurrency = r.int('provisioned-concurrency', 0, 10000, 0) ?? 0;
  if (snapStart && provisionedConcurrency > 0) {
    r.fail(
      'provisioned-concurrency',
      'cannot be combined with snap-start: Lambda does not allow both on one version; pick one',
      String(provisionedConcurrency),
    );
  }
  const settings: ColdStartSettings = { provisionedConcurrency };
  if (snapStart !== undefined) settings.snapStart = snapStart;
  return settings;
}

function readPreview(r: InputReader, event: EventContext): PreviewSettings {
  const aliasPrefix = r.raw('preview-alias-prefix') || 'pr-';
  if (!/^[a-zA-Z_-][a-zA-Z0-9_-]{0,100}$/.test(aliasPrefix)) {
    r.fail(
      'preview-alias-prefix',
      'must start an alias name: letters, digits, - and _, starting with a letter, - or _',
      aliasPrefix,
    );
  }
  const pr = event.payload.pull_request as { number?: unknown } | undefined;
  const prNumber =
    typeof event.payload.number === 'number'
      ? event.payload.number
      : typeof pr?.number === 'number'
        ? pr.number
        : undefined;
  if (prNumber === undefined) {
    r.fail(
      'mode',
      'preview and preview-cleanup need a pull_request event (the PR number comes from it); run them `on: pull_request`',
    );
  }
  return {
    aliasPrefix,
    url: r.bool('preview-url', true),
    urlAuth: r.oneOf('preview-url-auth', ['AWS_IAM', 'NONE'] as const, 'AWS_IAM'),
    prNumber: prNumber ?? 0,
  };
}

/** A prefix that can name `alias` (`v` + PR 2 = `v2`) is refused for every PR, not only PR 2. */
function checkPreviewPrefix(r: InputReader, prefix: string, alias: string): void {
  if (alias.startsWith(prefix) && /^\d+$/.test(alias.slice(prefix.length))) {
    r.fail(
      'preview-alias-prefix',
      `must not be able to name alias '${alias}' (the preview of PR #${alias.slice(prefix.length)} would be it); use a prefix such as pr-`,
      prefix,
    );
  }
}

function readRollbackTo(r: InputReader): 'previous' | number {
  const value = r.raw('rollback-to') || 'previous';
  if (value === 'previous') return value;
  if (/^[1-9]\d*$/.test(value)) return Number(value);
  r.fail('rollback-to', 'must be `previous` or a published version number such as 12', value);
  return 'previous';
}
