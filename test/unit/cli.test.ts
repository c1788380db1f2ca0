import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from 'yaml';
import {
  cliProblem,
  envName,
  EXIT,
  INPUT_NAMES,
  inputReader,
  parseArgs,
  parseConfig,
  USAGE,
  UsageError,
} from '../../src/cli-args.js';
import { cliEvent, runCli } from '../../src/cli.js';

const action = parse(fs.readFileSync('action.yml', 'utf8')) as { inputs: Record<string, unknown> };

test('the CLI knows exactly the inputs of action.yml', () => {
  expect([...INPUT_NAMES]).toEqual(Object.keys(action.inputs));
});

describe('parseArgs', () => {
  it('reads the command, --name value, --name=value, bare booleans and repeated list flags', () => {
    const args = parseArgs([
      'deploy',
      '--function-name',
      'fn',
      '--pip-args=--no-index --find-links ./wheels',
      '--create-function',
      '--model',
      'a',
      '--model',
      'b',
      '--outputs-file',
      'out.json',
    ]);
    expect(args).toEqual({
      command: 'deploy',
      flags: {
        'function-name': 'fn',
        'pip-args': '--no-index --find-links ./wheels',
        'create-function': 'true',
        model: 'a\nb',
      },
      options: { 'outputs-file': 'out.json' },
    });
  });

  it.each([
    [['ship'], /unknown command 'ship'/],
    [['deploy', '--fuction-name', 'x'], /unknown option --fuction-name/],
    [['deploy', '--functionname', 'x'], /did you mean --function-name\?/],
    [['deploy', 'fn'], /unexpected argument 'fn'/],
    [['deploy', '--mode', 'rollback'], /the command is the mode/],
  ])('%j is a usage error', (argv, message) => {
    expect(() => parseArgs(argv)).toThrow(UsageError);
    expect(() => parseArgs(argv)).toThrow(message);
  });
});

describe('inputReader', () => {
  const env = {
    [envName('function-name')]: 'from-env',
    [envName('s3-bucket')]: 'env-bucket',
    AWS_REGION: 'eu-west-3',
    GITHUB_TOKEN: 'ghs_x',
  };
  const config = { 'function-name': 'from-config', alias: 'live', 's3-bucket': 'config-bucket' };

  it('takes a flag over a LAMBDA_ML_DEPLOY_* variable over the config file', () => {
    const get = inputReader('deploy', { 'function-name': 'from-flag' }, env, config);
    expect(get('function-name')).toBe('from-flag');
    expect(get('s3-bucket')).toBe('env-bucket');
    expect(get('alias')).toBe('live');
    expect(get('timeout')).toBe('');
  });

  it('falls back to AWS_REGION and GITHUB_TOKEN', () => {
    const get = inputReader('deploy', {}, env, {});
    expect(get('aws-region')).toBe('eu-west-3');
    expect(get('github-token')).toBe('ghs_x');
    expect(envName('role-duration-seconds')).toBe('LAMBDA_ML_DEPLOY_ROLE_DURATION_SECONDS');
  });

  it('the command is the mode; plan is a deploy with dry-run, whatever else says', () => {
    expect(inputReader('rollback', {}, {}, {})('mode')).toBe('rollback');
    const plan = inputReader('plan', { 'dry-run': 'false' }, {}, {});
    expect([plan('mode'), plan('dry-run')]).toEqual(['deploy', 'true']);
  });
});

describe('parseConfig', () => {
  it('turns lists into lines and maps into JSON', () => {
    expect(
      parseConfig(
        'function-name: fn\nmodel: [models/a, models/b]\nenvironment: {MODEL: iris}\ntimeout: 30\n',
        'c.yml',
      ),
    ).toEqual({
      'function-name': 'fn',
      model: 'models/a\nmodels/b',
      environment: '{"MODEL":"iris"}',
      timeout: '30',
    });
  });

  it('rejects unknown keys, mode, and non-mappings, naming the file', () => {
    expect(() => parseConfig('functon-name: x\n', 'c.yml')).toThrow(/c.yml: unknown input/);
    expect(() => parseConfig('mode: deploy\n', 'c.yml')).toThrow(/'mode' is the command/);
    expect(() => parseConfig('- a\n', 'c.yml')).toThrow(/must be a mapping/);
  });
});

test('settings messages name the flag and how to set it', () => {
  expect(
    cliProblem(
      "Input 'function-name': is required and was not set; add it under `with:` in the workflow step.",
    ),
  ).toBe(
    '--function-name: is required and was not set; pass it as a flag, a LAMBDA_ML_DEPLOY_* variable or in the --config file.',
  );
});

test('preview commands are pull-request events carrying --pr', () => {
  expect(cliEvent('preview', 7)).toEqual({
    eventName: 'pull_request',
    payload: { action: 'opened', number: 7, pull_request: { number: 7 } },
  });
  expect(cliEvent('preview-cleanup', 7).payload.action).toBe('closed');
  expect(cliEvent('deploy', undefined).eventName).toBe('workflow_dispatch');
});

describe('runCli before any AWS call', () => {
  const run = async (argv: string[], env: NodeJS.ProcessEnv = {}) => {
    const out: string[] = [];
    const err: string[] = [];
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-'));
    try {
      const code = await runCli(
        argv,
        env,
        { stdout: (t) => out.push(t), stderr: (t) => err.push(t) },
        cwd,
      );
      return { code, stdout: out.join(''), stderr: err.join('') };
    } finally {
      fs.rmSync(cwd, { recursive: true, force: true });
    }
  };

  it('--help prints the usage with the commands and exit codes, exit 0', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(EXIT.ok);
    expect(r.stdout).toBe(USAGE);
    expect(USAGE).toMatch(/deploy\b[\s\S]*plan\b[\s\S]*preview\b[\s\S]*rollback\b/);
    expect(USAGE).toMatch(/Exit codes: 0 done; 1 .*\n.*2 bad command line.*3 no usable AWS/);
  });

  it('no command: usage on stderr, exit 2', async () => {
    const r = await run([]);
    expect([r.code, r.stdout]).toEqual([EXIT.usage, '']);
    expect(r.stderr).toContain('Usage: lambda-ml-deploy COMMAND');
  });

  it('invalid inputs: every problem named as a flag, exit 2, nothing else done', async () => {
    const r = await run(['deploy', '--aws-region', 'mars', '--timeout', '2000']);
    expect(r.code).toBe(EXIT.usage);
    expect(r.stderr).toMatch(/--aws-region: must be an AWS region code/);
    expect(r.stderr).toMatch(/--function-name: is required/);
    expect(r.stderr).toMatch(/--timeout: /);
    expect(r.stderr).not.toMatch(/Credentials/);
  });

  it('preview without --pr is a usage error', async () => {
    const r = await run(['preview', '--function-name', 'fn']);
    expect(r.code).toBe(EXIT.usage);
    expect(r.stderr).toMatch(/preview needs --pr N/);
  });

  it('--role-to-assume without a token file says what to do, exit 2', async () => {
    const r = await run([
      'rollback',
      '--aws-region',
      'us-east-1',
      '--function-name',
      'fn',
      '--role-to-assume',
      'arn:aws:iam::123456789012:role/deploy',
    ]);
    expect(r.code).toBe(EXIT.usage);
    expect(r.stderr).toMatch(/--web-identity-token-file/);
    expect(r.stdout).toContain('mode=rollback');
  });
});
