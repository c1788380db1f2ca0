import { parse as parseYaml } from 'yaml';

/**
 * The command line's view of the action's inputs: one name per input (action.yml's), given as a
 * flag (`--function-name fn`), an environment variable (`LAMBDA_ML_DEPLOY_FUNCTION_NAME=fn`) or a
 * key of a YAML config file (`function-name: fn`), in that order of precedence. The values then go
 * through the same settings reader as the action's inputs.
 */

/** action.yml's inputs (a test keeps the two equal). */
export const INPUT_NAMES = [
  'mode',
  'aws-region',
  'role-to-assume',
  'audience',
  'role-session-name',
  'role-duration-seconds',
  'function-name',
  'source-dir',
  'model',
  'model-dest',
  'model-store',
  'include',
  'exclude',
  'requirements',
  'runtime',
  'architecture',
  'build',
  'build-image',
  'pip-args',
  'slim',
  'layer-name',
  's3-bucket',
  's3-prefix',
  'package-type',
  'base-image',
  'ecr-repository',
  'create-repository',
  'create-function',
  'execution-role',
  'handler',
  'memory-size',
  'timeout',
  'environment',
  'description',
  'ephemeral-storage',
  'vpc-subnet-ids',
  'vpc-security-group-ids',
  'vpc-ipv6-dual-stack',
  'dead-letter-target-arn',
  'kms-key-arn',
  'tracing',
  'layers',
  'file-systems',
  'log-format',
  'log-group',
  'application-log-level',
  'system-log-level',
  'code-signing-config-arn',
  'tags',
  'alias',
  'smoke-tests',
  'strategy',
  'canary-percent',
  'canary-interval',
  'linear-steps',
  'alarms',
  'snap-start',
  'provisioned-concurrency',
  'preview-alias-prefix',
  'preview-url',
  'preview-url-auth',
  'url',
  'url-auth',
  'url-cors',
  'api-gateway-source-arn',
  'endpoint-checks',
  'rollback-to',
  'keep-versions',
  'github-token',
  'dry-run',
] as const;

export const COMMANDS = ['deploy', 'preview', 'preview-cleanup', 'rollback', 'plan'] as const;
export type CliCommand = (typeof COMMANDS)[number];

/** Options of the command line itself (not action inputs). */
export const CLI_OPTIONS = [
  'config',
  'pr',
  'repository',
  'web-identity-token-file',
  'summary-file',
  'outputs-file',
  'verbose',
  'help',
] as const;
type CliOption = (typeof CLI_OPTIONS)[number];

/** Inputs that take several lines: a repeated flag adds one line each. */
const LIST_INPUTS = new Set(['model', 'include', 'exclude', 'alarms']);
const FLAG_ONLY = new Set<string>(['verbose', 'help']);

export const ENV_PREFIX = 'LAMBDA_ML_DEPLOY_';
export const envName = (input: string) => `${ENV_PREFIX}${input.toUpperCase().replace(/-/g, '_')}`;

export const EXIT = {
  ok: 0,
  /** The run failed: nothing changed, or the alias was put back. */
  failed: 1,
  /** Bad command line, config file or input values: nothing was done. */
  usage: 2,
  /** No AWS credentials, or they were refused. */
  credentials: 3,
} as const;

export class UsageError extends Error {
  override name = 'UsageError';
}

export interface CliArgs {
  command?: CliCommand;
  /** Action inputs given as flags. */
  flags: Record<string, string>;
  options: Partial<Record<CliOption, string>>;
}

/** Parses `COMMAND [--name value | --name=value | --flag]...`. Pure. */
export function parseArgs(argv: readonly string[]): CliArgs {
  const result: CliArgs = { flags: {}, options: {} };
  let i = 0;
  if (argv[0] !== undefined && !argv[0].startsWith('-')) {
    if (!(COMMANDS as readonly string[]).includes(argv[0]))
      throw new UsageError(`unknown command '${argv[0]}': use one of ${COMMANDS.join(', ')}`);
    result.command = argv[0] as CliCommand;
    i = 1;
  }
  for (; i < argv.length; i++) {
    const token = argv[i];
    const match = /^--([a-z0-9][a-z0-9-]*)(?:=([\s\S]*))?$/.exec(token);
    if (!match)
      throw new UsageError(
        token === '-h'
          ? 'use --help'
          : `unexpected argument '${token}': give the command first, then --name value pairs`,
      );
    const name = match[1];
    let value = match[2];
    if (value === undefined) {
      const next = argv[i + 1];
      if (!FLAG_ONLY.has(name) && next !== undefined && !next.startsWith('--')) {
        value = next;
        i++;
      } else value = 'true';
    }
    if (name === 'mode')
      throw new UsageError('--mode is not an option here: the command is the mode (e.g. deploy)');
    if ((CLI_OPTIONS as readonly string[]).includes(name)) {
      result.options[name as CliOption] = value;
    } else if ((INPUT_NAMES as readonly string[]).includes(name)) {
      const previous = result.flags[name];
      result.flags[name] =
        previous !== undefined && LIST_INPUTS.has(name) ? `${previous}\n${value}` : value;
    } else {
      throw new UsageError(`unknown option --${name}${closest(name)}`);
    }
  }
  return result;
}

function closest(name: string): string {
  const all = [...INPUT_NAMES, ...CLI_OPTIONS] as string[];
  const hit =
    all.find((candidate) => candidate.replace(/-/g, '') === name.replace(/[-_]/g, '')) ??
    all.find((candidate) => candidate.startsWith(name) || name.startsWith(candidate));
  return hit ? ` (did you mean --${hit}?)` : ' (lambda-ml-deploy --help lists them)';
}

/** A config file: a YAML (or JSON) mapping of input names to values. Pure. */
export function parseConfig(text: string, file: string): Record<string, string> {
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (error) {
    throw new UsageError(`config file ${file} is not valid YAML: ${(error as Error).message}`);
  }
  if (data === null || data === undefined) return {};
  if (typeof data !== 'object' || Array.isArray(data))
    throw new UsageError(`config file ${file} must be a mapping of input names to values`);
  const values: Record<string, string> = {};
  for (const [key, value] of Object.entries(data as Record<string, unknown>)) {
    if (key === 'mode')
      throw new UsageError(`config file ${file}: 'mode' is the command, not a setting`);
    if (!(INPUT_NAMES as readonly string[]).includes(key))
      throw new UsageError(`config file ${file}: unknown input '${key}'${closest(key)}`);
    if (value === null || value === undefined) continue;
    if (Array.isArray(value)) values[key] = value.map(String).join('\n');
    else if (typeof value === 'object') values[key] = JSON.stringify(value);
    else values[key] = String(value);
  }
  return values;
}

/** Ordinary variables the CLI also honours, after its own. */
const FALLBACK_ENV: Record<string, string[]> = {
  'aws-region': ['AWS_REGION', 'AWS_DEFAULT_REGION'],
  'github-token': ['GITHUB_TOKEN'],
};

/**
 * The action's `getInput` for a command line: flag, then LAMBDA_ML_DEPLOY_* variable, then the
 * config file, then (for a few inputs) the ordinary variable. `plan` is deploy with dry-run.
 */
export function inputReader(
  command: CliCommand,
  flags: Record<string, string>,
  env: NodeJS.ProcessEnv,
  config: Record<string, string>,
): (name: string) => string {
  return (name) => {
    if (name === 'mode') return command === 'plan' ? 'deploy' : command;
    if (name === 'dry-run' && command === 'plan') return 'true';
    const value =
      flags[name] ??
      env[envName(name)] ??
      config[name] ??
      (FALLBACK_ENV[name] ?? []).map((v) => env[v]).find((v) => v !== undefined && v !== '');
    return (value ?? '').trim();
  };
}

/** Settings messages name inputs as the action knows them; say how to set them here. */
export function cliProblem(message: string): string {
  return message
    .replace(/Input '([\w-]+)'/g, (_, name: string) => `--${name}`)
    .replace(
      /add it under `with:` in the workflow step/g,
      `pass it as a flag, a ${ENV_PREFIX}* variable or in the --config file`,
    );
}

export const USAGE = `Usage: lambda-ml-deploy COMMAND [--input value]... [options]

Ships a Python model to AWS Lambda with the same pipelines as the GitHub Action.

Commands:
  deploy            build, publish, smoke-test, shift the alias (rolls back on failure)
  plan              build and hash, then print what deploy would change; writes nothing
  preview           publish a version behind the pr-<N> alias (needs --pr N)
  preview-cleanup   remove the preview of --pr N
  rollback          put the alias back on --rollback-to (previous, or a version number)

Inputs: every input of the action (action.yml) as --<name> <value>, e.g. --function-name fn
  --aws-region eu-west-1 --s3-bucket my-artifacts --model models/iris --smoke-tests smoke.yml.
  A repeated --model, --include, --exclude or --alarms adds a line. The same names work as
  environment variables (${ENV_PREFIX}FUNCTION_NAME) and as keys of a YAML --config file;
  a flag beats a variable, which beats the file. aws-region also reads AWS_REGION, github-token
  GITHUB_TOKEN. Paths are relative to the current directory.

Options:
  --config FILE                   YAML file of inputs (e.g. lambda-ml-deploy.yml)
  --pr N                          pull request number for preview / preview-cleanup
  --repository OWNER/REPO         where the preview comment goes (or GITHUB_REPOSITORY)
  --web-identity-token-file FILE  with --role-to-assume: an OIDC token to exchange for the role
                                  (also AWS_WEB_IDENTITY_TOKEN_FILE); without --role-to-assume the
                                  ordinary AWS chain is used (variables, profiles, SSO, instance role)
  --summary-file FILE             also write the run summary there as Markdown
  --outputs-file FILE             write the outputs (version, code-sha256, ...) there as JSON
  --verbose                       debug lines too
  Values that start with -- need the = form: --pip-args="--no-index --find-links ./wheels".
  --help                          this text

Exit codes: 0 done; 1 the run failed (the alias is where it was, or was put back);
  2 bad command line, config or input values (nothing was done); 3 no usable AWS credentials;
  130 / 143 interrupted (Ctrl-C / SIGTERM): a traffic shift in progress is undone first.
`;
