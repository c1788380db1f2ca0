import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from 'yaml';
import { readSettings, SettingsError, type EventContext } from '../../src/settings.js';

const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'settings-'));
fs.mkdirSync(path.join(workspace, 'app'));
fs.writeFileSync(
  path.join(workspace, 'app', 'lambda_function.py'),
  'def lambda_handler(e, c):\n  return 1\n',
);
fs.writeFileSync(path.join(workspace, 'app', 'requirements.txt'), 'numpy\n');
fs.writeFileSync(path.join(workspace, 'smoke.yml'), 'cases: []\n');
fs.mkdirSync(path.join(workspace, 'model'));
const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'outside-'));
fs.symlinkSync(outside, path.join(workspace, 'escape'));

afterAll(() => {
  fs.rmSync(workspace, { recursive: true, force: true });
  fs.rmSync(outside, { recursive: true, force: true });
});

const push: EventContext = { eventName: 'push', payload: {} };
const valid: Record<string, string> = {
  'aws-region': 'eu-west-1',
  'function-name': 'iris-classifier',
  's3-bucket': 'my-artifacts',
  'source-dir': 'app',
};

function read(inputs: Record<string, string>, event: EventContext = push) {
  return readSettings((name) => inputs[name] ?? '', event, workspace);
}

function problemsOf(inputs: Record<string, string>, event: EventContext = push): string[] {
  try {
    read(inputs, event);
  } catch (error) {
    if (error instanceof SettingsError) return error.problems;
    throw error;
  }
  return [];
}

describe('readSettings: valid inputs', () => {
  it('fills the documented defaults', () => {
    const s = read(valid);
    if (s.mode !== 'deploy') throw new Error('expected deploy');
    expect(s.auth).toEqual({
      region: 'eu-west-1',
      roleToAssume: undefined,
      audience: 'sts.amazonaws.com',
      roleSessionName: 'lambda-ml-deploy',
      roleDurationSeconds: 3600,
    });
    expect(s.alias).toBe('prod');
    expect(s.build.runtime).toBe('python3.12');
    expect(s.build.buildImage).toBe('public.ecr.aws/sam/build-python3.12:latest-x86_64');
    expect(s.build.layerName).toBe('iris-classifier-deps');
    expect(s.build.s3Prefix).toBe('lambda-ml-deploy/iris-classifier');
    expect(s.build.requirements).toBe(path.join(workspace, 'app', 'requirements.txt'));
    expect(s.build.modelDest).toBe('model');
    expect(s.build.slim).toBe(true);
    expect(s.release).toEqual({
      smokeTests: undefined,
      strategy: 'all-at-once',
      canaryPercent: 10,
      canaryIntervalMs: 300_000,
      linearSteps: 4,
      alarms: [],
      keepVersions: 0,
    });
    expect(s.fn.handler).toBe('lambda_function.lambda_handler');
  });

  it('parses durations, lists, maps and pip args', () => {
    const s = read({
      ...valid,
      'canary-interval': '1h30m',
      alarms: 'errors-high\n# a comment\n\nlatency-p99\n',
      environment: '{MODEL_NAME: iris, THRESHOLD: 0.5, DEBUG: false}',
      'pip-args': '--extra-index-url https://example.org/simple  --no-cache-dir',
      requirements: 'none',
      strategy: 'canary',
      'smoke-tests': 'smoke.yml',
      model: 'model\n',
    });
    if (s.mode !== 'deploy') throw new Error('expected deploy');
    expect(s.release.canaryIntervalMs).toBe(5_400_000);
    expect(s.release.alarms).toEqual(['errors-high', 'latency-p99']);
    expect(s.fn.environment).toEqual({ MODEL_NAME: 'iris', THRESHOLD: '0.5', DEBUG: 'false' });
    expect(s.build.pipArgs).toEqual([
      '--extra-index-url',
      'https://example.org/simple',
      '--no-cache-dir',
    ]);
    expect(s.build.requirements).toBeUndefined();
    expect(s.build.model).toEqual([path.join(workspace, 'model')]);
    expect(s.release.smokeTests).toBe(path.join(workspace, 'smoke.yml'));
  });

  it('auto mode picks preview on pull_request and cleanup when it closes', () => {
    const opened = read(
      { ...valid, mode: 'auto' },
      { eventName: 'pull_request', payload: { action: 'opened', number: 7 } },
    );
    expect(opened.mode).toBe('preview');
    if (opened.mode === 'preview') expect(opened.preview.prNumber).toBe(7);
    const closed = read(
      { ...valid, mode: 'auto' },
      { eventName: 'pull_request', payload: { action: 'closed', number: 7 } },
    );
    expect(closed.mode).toBe('preview-cleanup');
    expect(read({ ...valid, mode: 'auto' }).mode).toBe('deploy');
  });

  it('rollback mode needs no bucket and takes a version number', () => {
    const s = read({
      'aws-region': 'us-east-1',
      'function-name': 'fn',
      mode: 'rollback',
      'rollback-to': '12',
    });
    expect(s).toMatchObject({ mode: 'rollback', rollbackTo: 12 });
  });

  it('reports every problem at once', () => {
    const problems = problemsOf({ 'aws-region': 'nowhere', 'memory-size': '1', timeout: '0' });
    expect(problems.length).toBe(5);
    expect(problems.join('\n')).toMatch(/function-name/);
  });
});

// Each row: inputs over the valid baseline, the input that must be named, and a phrase of the fix.
const bad: Array<[string, Record<string, string>, string, RegExp]> = [
  ['missing function-name', { 'function-name': '' }, 'function-name', /is required/],
  [
    'function-name with spaces',
    { 'function-name': 'my function' },
    'function-name',
    /function name/,
  ],
  ['missing aws-region', { 'aws-region': '' }, 'aws-region', /is required/],
  ['bad region', { 'aws-region': 'europe' }, 'aws-region', /region code/],
  ['missing bucket', { 's3-bucket': '' }, 's3-bucket', /is required/],
  ['bucket with capitals', { 's3-bucket': 'My_Bucket' }, 's3-bucket', /bucket name/],
  [
    'role ARN malformed',
    { 'role-to-assume': 'arn:aws:iam::123:role/x' },
    'role-to-assume',
    /IAM role ARN/,
  ],
  [
    'role duration too short',
    { 'role-duration-seconds': '60' },
    'role-duration-seconds',
    /900 to 43200/,
  ],
  [
    'role duration not a number',
    { 'role-duration-seconds': '1h' },
    'role-duration-seconds',
    /whole number/,
  ],
  [
    'session name with spaces',
    { 'role-session-name': 'my session' },
    'role-session-name',
    /2 to 64/,
  ],
  ['unknown mode', { mode: 'ship-it' }, 'mode', /deploy, preview, preview-cleanup, rollback, auto/],
  ['memory too small', { 'memory-size': '64' }, 'memory-size', /128 to 10240/],
  ['memory too large', { 'memory-size': '20000' }, 'memory-size', /128 to 10240/],
  ['timeout zero', { timeout: '0' }, 'timeout', /1 to 900/],
  ['timeout over 15 min', { timeout: '901' }, 'timeout', /1 to 900/],
  ['canary percent 0', { 'canary-percent': '0' }, 'canary-percent', /1 to 99/],
  ['canary percent 100', { 'canary-percent': '100' }, 'canary-percent', /1 to 99/],
  ['canary interval words', { 'canary-interval': 'five minutes' }, 'canary-interval', /30s, 5m/],
  ['canary interval too long', { 'canary-interval': '13h' }, 'canary-interval', /from 1s to 12h/],
  ['linear steps 1', { 'linear-steps': '1' }, 'linear-steps', /2 to 20/],
  ['unknown strategy', { strategy: 'blue-green' }, 'strategy', /all-at-once, canary, linear/],
  ['unknown architecture', { architecture: 'amd64' }, 'architecture', /x86_64, arm64/],
  ['unknown runtime', { runtime: 'python2.7' }, 'runtime', /python3\.12/],
  ['unknown build', { build: 'conda' }, 'build', /docker, pip/],
  ['boolean typo', { slim: 'yes please' }, 'slim', /true or false/],
  ['dry-run not boolean', { 'dry-run': 'maybe' }, 'dry-run', /true or false/],
  ['source-dir missing', { 'source-dir': 'nope' }, 'source-dir', /existing folder/],
  ['source-dir is a file', { 'source-dir': 'smoke.yml' }, 'source-dir', /must be a folder/],
  ['source-dir outside workspace', { 'source-dir': '..' }, 'source-dir', /inside the workspace/],
  [
    'model through a link out of the workspace',
    { model: 'escape' },
    'model',
    /inside the workspace/,
  ],
  ['model missing', { model: 'model/weights.bin' }, 'model', /existing file or folder/],
  ['requirements missing', { requirements: 'app/reqs.txt' }, 'requirements', /existing file/],
  ['smoke-tests missing', { 'smoke-tests': 'smoke.json' }, 'smoke-tests', /existing file/],
  ['model-dest absolute', { 'model-dest': '/opt/model' }, 'model-dest', /relative folder/],
  ['model-dest escaping', { 'model-dest': '../model' }, 'model-dest', /relative folder/],
  ['model-store unknown', { 'model-store': 'efs' }, 'model-store', /one of bundle, s3/],
  ['model-store s3 without model', { 'model-store': 's3' }, 'model-store', /names no files/],
  [
    'environment sets the manifest variable',
    { environment: 'LAMBDA_ML_MODEL_MANIFEST: s3://b/k.json' },
    'environment',
    /action writes it/,
  ],
  ['environment not a map', { environment: '- a\n- b' }, 'environment', /YAML or JSON map/],
  ['environment unparsable', { environment: '{a: [' }, 'environment', /does not parse/],
  ['environment reserved key', { environment: 'AWS_REGION: us-east-1' }, 'environment', /reserves/],
  ['environment nested value', { environment: 'CONFIG: {a: 1}' }, 'environment', /nested value/],
  [
    'create-function without role',
    { 'create-function': 'true' },
    'execution-role',
    /required when create-function/,
  ],
  ['execution role malformed', { 'execution-role': 'my-role' }, 'execution-role', /IAM role ARN/],
  ['handler without function', { handler: 'lambda_function' }, 'handler', /module\.function/],
  ['alias only digits', { alias: '42' }, 'alias', /not only digits/],
  ['layer name with dots', { 'layer-name': 'my.layer' }, 'layer-name', /layer name/],
  [
    'pip-args overriding target',
    { 'pip-args': '--target /tmp/x' },
    'pip-args',
    /must not set --target/,
  ],
  ['s3-prefix absolute', { 's3-prefix': '/abs' }, 's3-prefix', /relative key prefix/],
  ['keep-versions negative', { 'keep-versions': '-1' }, 'keep-versions', /0 to 1000/],
  [
    'build-image with spaces',
    { 'build-image': 'my image' },
    'build-image',
    /Docker image reference/,
  ],
  ['description too long', { description: 'x'.repeat(300) }, 'description', /at most 256/],
  [
    'preview-url-auth unknown',
    { mode: 'preview', 'preview-url-auth': 'PUBLIC' },
    'preview-url-auth',
    /AWS_IAM, NONE/,
  ],
  ['preview without a pull request', { mode: 'preview' }, 'mode', /pull_request event/],
  [
    'rollback-to words',
    { mode: 'rollback', 'rollback-to': 'last-good' },
    'rollback-to',
    /previous.*version number/,
  ],
];

describe('readSettings: each bad input is named with what is expected', () => {
  it.each(bad)('%s', (_title, override, input, fix) => {
    const event: EventContext = override['preview-url-auth']
      ? { eventName: 'pull_request', payload: { number: 3 } }
      : push;
    const problems = problemsOf({ ...valid, ...override }, event);
    const mine = problems.filter((p) => p.startsWith(`Input '${input}'`));
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatch(fix);
  });

  it('has at least 20 rows', () => {
    expect(bad.length).toBeGreaterThanOrEqual(20);
  });
});

describe('readSettings: safety checks', () => {
  const pr = (action: string, number = 2): EventContext => ({
    eventName: 'pull_request',
    payload: { action, number },
  });

  it('a preview prefix that can name `alias` is refused for preview and cleanup, whatever the PR', () => {
    for (const mode of ['preview', 'preview-cleanup']) {
      for (const number of [2, 5]) {
        const problems = problemsOf(
          { ...valid, mode, alias: 'v2', 'preview-alias-prefix': 'v' },
          pr('opened', number),
        );
        expect(problems).toEqual([
          expect.stringMatching(
            /^Input 'preview-alias-prefix': must not be able to name alias 'v2' .*PR #2/,
          ),
        ]);
      }
    }
    expect(
      problemsOf(
        { ...valid, mode: 'preview', alias: 'v2x', 'preview-alias-prefix': 'v' },
        pr('opened'),
      ),
    ).toEqual([]);
  });

  it.each([
    ['-t/x'],
    ['-t'],
    ['-qt/x'],
    ['--targ'],
    ['--targ=/x'],
    ['--tar'],
    ['--plat=manylinux1_x86_64'],
    ['--only-b=:none:'],
    ['--python-v=3.8'],
    ['--impl=pp'],
    ['--us'],
    ['--pref=/x'],
    ['--roo'],
    ['--python=/usr/bin/python2'],
  ])('pip-args: %s (an abbreviation or cluster pip accepts) is refused', (arg) => {
    const problems = problemsOf({ ...valid, 'pip-args': `--no-deps ${arg} /x` });
    expect(problems).toEqual([expect.stringMatching(/^Input 'pip-args': must not set -/)]);
  });

  it('pip-args: ordinary options pass, --pre and --root-user-action included', () => {
    const args =
      '--pre --root-user-action=ignore -U -q --no-deps -c constraints.txt -f./wheels ' +
      '--extra-index-url https://pypi.example/simple --prefer-binary --progress-bar off';
    expect(problemsOf({ ...valid, 'pip-args': args })).toEqual([]);
  });

  it('mode auto on pull_request_target is refused (fork code with secrets)', () => {
    const problems = problemsOf(
      { ...valid, mode: 'auto' },
      { eventName: 'pull_request_target', payload: { action: 'opened', number: 4 } },
    );
    expect(problems).toEqual([
      expect.stringMatching(
        /^Input 'mode': auto is refused on pull_request_target.*on: pull_request/,
      ),
    ]);
    expect(problemsOf({ ...valid, mode: 'auto' }, pr('opened'))).toEqual([]);
  });

  it('a function ARN in another region than aws-region is refused', () => {
    const arn = 'arn:aws:lambda:us-west-2:123456789012:function:iris';
    expect(problemsOf({ ...valid, 'function-name': arn })).toEqual([
      expect.stringMatching(
        /^Input 'function-name': is a function ARN in us-west-2, but aws-region is eu-west-1/,
      ),
    ]);
    expect(problemsOf({ ...valid, 'function-name': arn, 'aws-region': 'us-west-2' })).toEqual([]);
  });

  it('alarms with strategy all-at-once are refused (there is no bake to watch them in)', () => {
    expect(problemsOf({ ...valid, alarms: 'errors' })).toEqual([
      expect.stringMatching(/^Input 'alarms': .*all-at-once.*set strategy: canary/),
    ]);
    expect(problemsOf({ ...valid, alarms: 'errors', strategy: 'canary' })).toEqual([]);
  });
});

describe('action.yml `required` and the modes', () => {
  const action = parse(fs.readFileSync('action.yml', 'utf8')) as {
    inputs: Record<string, { required?: boolean }>;
  };
  const requiredInputs = Object.entries(action.inputs)
    .filter(([, spec]) => spec.required)
    .map(([name]) => name);
  const pr: EventContext = { eventName: 'pull_request', payload: { action: 'closed', number: 7 } };
  const only = (names: string[]) => Object.fromEntries(names.map((n) => [n, valid[n] ?? '']));

  it('marks required only the inputs every mode needs', () => {
    expect(requiredInputs.sort()).toEqual(['aws-region', 'function-name']);
  });

  it.each([
    ['rollback', push],
    ['preview-cleanup', pr],
  ])('%s runs with just the required inputs (no s3-bucket)', (mode, event) => {
    expect(problemsOf({ ...only(requiredInputs), mode }, event)).toEqual([]);
  });

  it.each(['deploy', 'preview'])(
    '%s without s3-bucket fails naming the input and the mode',
    (mode) => {
      const problems = problemsOf(
        { ...valid, 's3-bucket': '', mode },
        {
          eventName: 'pull_request',
          payload: { action: 'opened', number: 7 },
        },
      );
      expect(problems).toEqual([
        expect.stringMatching(new RegExp(`'s3-bucket'.*for mode ${mode}`)),
      ]);
    },
  );
});
