import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createAwsClients, destroyAwsClients, type AwsClients } from './aws/clients.js';
import { resolveCredentials } from './aws/credentials.js';
import { verifyIdentity } from './aws/identity.js';
import {
  cliProblem,
  EXIT,
  inputReader,
  parseArgs,
  parseConfig,
  USAGE,
  UsageError,
  type CliCommand,
} from './cli-args.js';
import { guardInterrupts, processInterrupts, type Interrupts } from './cli-interrupt.js';
import { errorMessage } from './errors.js';
import { runCommand } from './exec.js';
import type { GithubContext } from './github-context.js';
import { formatDuration, type Logger } from './log.js';
import { runContext } from './pipelines/context.js';
import { runPipeline } from './pipelines/index.js';
import { JobReport } from './report/job-report.js';
import { outputsOf, type RunResult } from './report/outputs.js';
import { readSettings, SettingsError, type EventContext, type Settings } from './settings.js';

/**
 * The command line entry: the same settings reader, credentials, clients and pipelines as the
 * action, with flags / variables / a config file instead of `with:`, the log on stderr, and the
 * summary and outputs on stdout (and in files on request). See USAGE for the exit codes.
 */

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** stderr is an interactive terminal: progress is redrawn in place there. */
  interactive?: boolean;
  /** The terminal's width, for progress lines. */
  columns?: number;
}

const processIo: CliIo = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  interactive: process.stderr.isTTY === true,
  get columns() {
    return process.stderr.columns;
  },
};

/** Erases the current terminal line (carriage return, then ANSI "erase line"). */
const CLEAR_LINE = '\r\x1b[2K';

/** A terminal logger; every secret registered with `mask` is replaced before anything is printed. */
export function terminalLogger(
  io: CliIo,
  verbose: boolean,
): Logger & { mask(secret: string): void } {
  const secrets: string[] = [];
  const clean = (text: string) =>
    secrets.reduce((out, secret) => out.split(secret).join('***'), text);
  let depth = 0;
  let statusShown = false;
  const line = (prefix: string, message: string) => {
    const indent = '  '.repeat(depth);
    io.stderr(
      `${statusShown ? CLEAR_LINE : ''}${indent}${prefix}${clean(message).replace(/\n/g, `\n${indent}`)}\n`,
    );
    statusShown = false;
  };
  const status = (text: string) => {
    const width = Math.max(20, (io.columns ?? 80) - 1);
    const shown = `${'  '.repeat(depth)}${clean(text)}`.replace(/\s+/g, ' ');
    io.stderr(`${CLEAR_LINE}${shown.length > width ? `${shown.slice(0, width - 1)}…` : shown}`);
    statusShown = true;
  };
  return {
    ...(io.interactive ? { status } : {}),
    mask: (secret) => void (secret && secrets.push(secret)),
    info: (m) => line('', m),
    warning: (m) => line('warning: ', m),
    notice: (m) => line('notice: ', m),
    debug: (m) => void (verbose && line('debug: ', m)),
    async group(title, fn) {
      const started = Date.now();
      line('▸ ', title);
      depth++;
      try {
        return await fn();
      } finally {
        depth--;
        line('  ', `${title}: ${formatDuration(Date.now() - started)}`);
      }
    },
  };
}

/** The event a command stands for: previews are pull-request events, as on GitHub. */
export function cliEvent(command: CliCommand, pr: number | undefined): EventContext {
  if (command === 'preview' || command === 'preview-cleanup') {
    const action = command === 'preview' ? 'opened' : 'closed';
    return {
      eventName: 'pull_request',
      payload: pr === undefined ? { action } : { action, number: pr, pull_request: { number: pr } },
    };
  }
  return { eventName: 'workflow_dispatch', payload: {} };
}

function readPr(value: string | undefined, command: CliCommand): number | undefined {
  if (value === undefined) {
    if (command === 'preview' || command === 'preview-cleanup')
      throw new UsageError(`${command} needs --pr N: the pull request the preview belongs to`);
    return undefined;
  }
  if (!/^[1-9]\d{0,9}$/.test(value))
    throw new UsageError(`--pr must be a pull request number, got '${value}'`);
  return Number(value);
}

async function gitHead(cwd: string): Promise<string> {
  const result = await runCommand('git', ['rev-parse', 'HEAD'], { cwd }).catch(() => undefined);
  return result?.exitCode === 0 ? result.stdout.trim() : '';
}

/** Credentials the ordinary way, or a role assumed with a web-identity token file. */
async function connectCli(
  settings: Settings,
  env: NodeJS.ProcessEnv,
  logger: Logger & { mask(secret: string): void },
  tokenFile: string | undefined,
): Promise<AwsClients> {
  const endpoint = env.AWS_ENDPOINT_URL || undefined;
  if (endpoint) logger.info(`Using the AWS endpoint ${endpoint} (AWS_ENDPOINT_URL).`);
  const bootstrap = createAwsClients({ region: settings.auth.region, endpoint });
  if (settings.auth.roleToAssume && !tokenFile) {
    destroyAwsClients(bootstrap);
    throw new UsageError(
      '--role-to-assume needs a web-identity token here: pass --web-identity-token-file FILE ' +
        '(or set AWS_WEB_IDENTITY_TOKEN_FILE), or leave --role-to-assume out to use the ordinary ' +
        'AWS credential chain (variables, profiles, SSO, instance role).',
    );
  }
  const resolved = await logger.group('Credentials', () =>
    resolveCredentials(settings.auth, {
      getIDToken: () => fs.promises.readFile(tokenFile as string, 'utf8').then((t) => t.trim()),
      setSecret: (value) => logger.mask(value),
      sts: bootstrap.sts,
      env,
      logger,
      tokenFile,
    }),
  );
  if (!resolved.credentials) return bootstrap;
  destroyAwsClients(bootstrap);
  return createAwsClients({
    region: settings.auth.region,
    endpoint,
    credentials: resolved.credentials,
  });
}

class CredentialsError extends Error {}

/** Runs one command; resolves with the exit code (it never calls process.exit itself). */
export async function runCli(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  io: CliIo = processIo,
  cwd: string = process.cwd(),
  interrupts: Interrupts = processInterrupts,
): Promise<number> {
  let args: ReturnType<typeof parseArgs>;
  let getInput: (name: string) => string;
  let pr: number | undefined;
  try {
    args = parseArgs(argv);
    if (args.options.help !== undefined || !args.command) {
      (args.command || args.options.help !== undefined ? io.stdout : io.stderr)(USAGE);
      return args.options.help !== undefined ? EXIT.ok : EXIT.usage;
    }
    const configFile = args.options.config;
    let config: Record<string, string> = {};
    if (configFile) {
      let text: string;
      try {
        text = fs.readFileSync(path.resolve(cwd, configFile), 'utf8');
      } catch (error) {
        throw new UsageError(`cannot read the config file ${configFile}: ${errorMessage(error)}`);
      }
      config = parseConfig(text, configFile);
    }
    pr = readPr(args.options.pr, args.command);
    getInput = inputReader(args.command, args.flags, env, config);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr(`lambda-ml-deploy: ${error.message}\n\n${USAGE}`);
    return EXIT.usage;
  }

  const command = args.command;
  const logger = terminalLogger(io, args.options.verbose !== undefined || env.RUNNER_DEBUG === '1');
  const event = cliEvent(command, pr);
  let settings: Settings;
  try {
    settings = readSettings(getInput, event, cwd);
  } catch (error) {
    if (!(error instanceof SettingsError)) throw error;
    io.stderr(`lambda-ml-deploy: ${cliProblem(error.message)}\n`);
    return EXIT.usage;
  }
  const githubToken = getInput('github-token');
  if (githubToken) logger.mask(githubToken);

  const report = new JobReport('lambda-ml-deploy');
  const result: RunResult = { mode: settings.mode };
  let clients: AwsClients | undefined;
  let workDir: string | undefined;
  let code: number = EXIT.ok;
  const guard = guardInterrupts({
    interrupts,
    logger,
    getInput,
    finish: (result, signal) => {
      const line =
        result.outcome === 'failed'
          ? result.message
          : result.outcome === 'restored'
            ? 'The alias was restored to what it served before this run.'
            : 'No traffic shift was in progress: nothing to undo.';
      report.section(`Interrupted (${signal})`, [line]);
      if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
      finishOutput(code || EXIT.failed);
    },
  });
  try {
    report.setHeadline(
      `${command === 'plan' ? 'Plan' : `Mode **${settings.mode}**`} for function ` +
        `\`${settings.functionName}\` in ${settings.auth.region}.`,
    );
    const tokenFile = args.options['web-identity-token-file'] || env.AWS_WEB_IDENTITY_TOKEN_FILE;
    try {
      clients = await connectCli(settings, env, logger, tokenFile || undefined);
      guard.useLambda(clients.lambda);
      const identity = await verifyIdentity(clients.sts);
      logger.info(`AWS identity: ${identity.arn} (account ${identity.account}).`);
      report.section('AWS identity', [
        `Deploying as \`${identity.arn}\` (account ${identity.account}).`,
      ]);
    } catch (error) {
      if (error instanceof UsageError) throw error;
      throw new CredentialsError(errorMessage(error));
    }
    workDir = fs.mkdtempSync(path.join(env.TMPDIR || os.tmpdir(), 'lambda-ml-deploy-'));
    const github: GithubContext = {
      ...event,
      sha: env.GITHUB_SHA || (await gitHead(cwd)),
      repository: args.options.repository || env.GITHUB_REPOSITORY || '',
      serverUrl: env.GITHUB_SERVER_URL || 'https://github.com',
      apiUrl: env.GITHUB_API_URL || 'https://api.github.com',
      runId: '',
      runUrl: '',
      workspace: cwd,
      tempDir: workDir,
    };
    const ctx = runContext(
      {
        settings,
        clients,
        logger,
        github,
        report,
        result,
        // No post step outside GitHub: the pipelines' own rollback covers a failure they see,
        // and the interrupt guard an interruption (Ctrl-C, a CI system's SIGTERM) mid-shift.
        state: { save: (name, value) => guard.save(name, value) },
        workDir,
      },
      env,
    );
    await runPipeline(ctx);
  } catch (error) {
    const message = cliProblem(errorMessage(error));
    if (error instanceof Error && error.stack) logger.debug(error.stack);
    report.section('Failed', ['```', message, '```']);
    logger.warning(message);
    code =
      error instanceof UsageError
        ? EXIT.usage
        : error instanceof CredentialsError
          ? EXIT.credentials
          : EXIT.failed;
  } finally {
    guard.stop();
    if (clients) destroyAwsClients(clients);
    if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
  }
  return finishOutput(code);

  /** Prints the summary and outputs, writes the requested files; returns the exit code. */
  function finishOutput(exitCode: number): number {
    code = exitCode;
    const outputs = outputsOf(result);
    const summary = report.toMarkdown();
    io.stdout(`${summary}\n`);
    io.stdout(
      `### Outputs\n\n${Object.entries(outputs)
        .map(([name, value]) => `${name}=${value}`)
        .join('\n')}\n`,
    );
    const write = (option: string | undefined, text: string) => {
      if (!option) return;
      try {
        fs.writeFileSync(path.resolve(cwd, option), text);
      } catch (error) {
        logger.warning(`Could not write ${option}: ${errorMessage(error)}`);
        code = code || EXIT.failed;
      }
    };
    write(args.options['summary-file'], summary);
    write(args.options['outputs-file'], `${JSON.stringify(outputs, null, 2)}\n`);
    return code;
  }
}
