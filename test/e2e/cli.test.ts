/**
 * The command line against the sandbox, side by side with the action: the iris example deployed
 * twice and rolled back by `lambda-ml-deploy` (bin/lambda-ml-deploy.mjs -> dist/index.js) on one
 * function and by the action on another gives the same outputs (function names aside). The CLI
 * assumes the deploy role with a web-identity token file; `plan` goes through a recording proxy
 * and makes no write call.
 *
 * Needs `bash scripts/sandbox.sh up` and `npm run build`.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GetAliasCommand, GetFunctionCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { runAction, type ActionRun } from './helpers/run-action.js';
import {
  assertSandboxUp,
  awsConfig,
  loadSandbox,
  REPO_ROOT,
  uniqueName,
  type Sandbox,
} from './helpers/sandbox.js';
import { startAwsRecorder } from './support/aws-recorder.js';
import { sharedIrisInputs } from './support/iris-workspace.js';

const TIMEOUT = 600_000;
const BIN = path.join(REPO_ROOT, 'bin', 'lambda-ml-deploy.mjs');

let sandbox: Sandbox;
let lambda: LambdaClient;
let workspace: string;
let tokenFile: string;
const fnAction = uniqueName('e2e-cli-action');
const fnCli = uniqueName('e2e-cli');

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
}

/** Runs the CLI in the workspace with the sandbox's AWS variables (no GitHub runner variables). */
async function cli(
  args: string[],
  env: Record<string, string> = {},
  /** Sees the log as it comes; may signal the process (a Ctrl-C, a CI system's SIGTERM). */
  watch?: (stderrSoFar: string, signal: (name: NodeJS.Signals) => void) => void,
): Promise<CliRun> {
  const outputsFile = path.join(workspace, `.outputs-${Date.now()}.json`);
  const base: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: os.homedir() };
  for (const [name, value] of Object.entries(sandbox.env))
    if (!name.startsWith('ACTIONS_') && !name.startsWith('SANDBOX_')) base[name] = value;
  const child = spawn(process.execPath, [BIN, ...args, '--outputs-file', outputsFile], {
    cwd: workspace,
    env: { ...base, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => {
    stderr += d;
    watch?.(stderr, (name) => child.kill(name));
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const outputs = fs.existsSync(outputsFile)
    ? (JSON.parse(fs.readFileSync(outputsFile, 'utf8')) as Record<string, string>)
    : {};
  fs.rmSync(outputsFile, { force: true });
  return { code, stdout, stderr, outputs };
}

/** The same inputs the action gets, as flags; the role is assumed with the token file. */
function flags(inputs: Record<string, string | undefined>): string[] {
  const out: string[] = [];
  for (const [name, value] of Object.entries(inputs))
    if (value !== undefined && name !== 'mode') out.push(`--${name}=${value}`);
  return [...out, '--web-identity-token-file', tokenFile];
}

// Its own layer and (below) its own handler bytes: the sandbox's moto names Docker volumes after
// the code hash and the layer, and other runs of the iris example must not share them.
const layerName = uniqueName('lmd-e2e-cli-deps');
const deployInputs = (fn: string) => sharedIrisInputs(sandbox, fn, { 'layer-name': layerName });
const rollbackInputs = (fn: string) => ({
  'aws-region': sandbox.region,
  'role-to-assume': sandbox.deployRoleArn,
  'function-name': fn,
  'smoke-tests': 'smoke-tests.yml',
  'rollback-to': 'previous',
});

const actionDeploy = () =>
  runAction({ workspace, event: { name: 'push' }, inputs: deployInputs(fnAction) });
const actionRollback = () =>
  runAction({
    workspace,
    event: { name: 'workflow_dispatch', inputs: { version: 'previous' } },
    inputs: { ...rollbackInputs(fnAction), mode: 'rollback' },
  });

/** Measured on each side, so compared as "a number", not as a value. */
const MEASURED = new Set(['cold-start-ms', 'max-memory-mb']);

/** Outputs with the function's own name taken out, so two functions can be compared. */
const normalised = (outputs: Record<string, string>, fn: string) =>
  Object.fromEntries(
    Object.entries(outputs).map(([name, value]) => [
      name,
      MEASURED.has(name)
        ? `<${/^\d+(\.\d+)?$/.test(value) ? 'number' : value}>`
        : value.split(fn).join('<fn>'),
    ]),
  );

const explainAction = (r: ActionRun) => `exit ${r.exitCode}\n${r.log.slice(-4000)}`;
const explainCli = (r: CliRun) => `exit ${r.code}\n${r.stderr.slice(-4000)}\n${r.stdout}`;
const touch = (marker: string) =>
  fs.appendFileSync(path.join(workspace, 'lambda_function.py'), `\n# ${marker}\n`);

async function prodVersion(fn: string): Promise<string | undefined> {
  const alias = await lambda.send(new GetAliasCommand({ FunctionName: fn, Name: 'prod' }));
  return alias.FunctionVersion;
}

beforeAll(async () => {
  sandbox = loadSandbox();
  await assertSandboxUp(sandbox);
  lambda = new LambdaClient(awsConfig(sandbox));
  workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'lmd-e2e-cli-'));
  fs.cpSync(path.join(REPO_ROOT, 'examples', 'iris'), workspace, { recursive: true });
  // This test compares the two entries, not latencies: a generous budget, one case at a time, so
  // a busy machine does not fail the smoke tests of one side only.
  const spec = path.join(workspace, 'smoke-tests.yml');
  fs.writeFileSync(
    spec,
    fs
      .readFileSync(spec, 'utf8')
      .replace(/max-latency-ms: \d+/, 'max-latency-ms: 120000')
      .replace(/^defaults:/m, 'concurrency: 1\ndefaults:'),
  );
  touch(`workspace ${fnCli}`);
  // A web-identity token from the sandbox's OIDC issuer, as a CI system would hand one out.
  const url = new URL(sandbox.oidcRequestUrl);
  url.searchParams.set('audience', 'sts.amazonaws.com');
  const response = await fetch(url, {
    headers: { authorization: `bearer ${sandbox.oidcRequestToken}` },
  });
  const { value } = (await response.json()) as { value: string };
  tokenFile = path.join(workspace, '.token');
  fs.writeFileSync(tokenFile, value);
}, TIMEOUT);

afterAll(() => {
  lambda?.destroy();
  if (workspace) fs.rmSync(workspace, { recursive: true, force: true });
});

describe('lambda-ml-deploy on the command line', () => {
  /** One step through the action on fnAction and through the CLI on fnCli; outputs compared. */
  async function sideBySide(step: string, action: () => Promise<ActionRun>, argv: string[]) {
    const viaAction = await action();
    if (viaAction.exitCode !== 0) throw new Error(`action ${step}: ${explainAction(viaAction)}`);
    const viaCli = await cli(argv);
    if (viaCli.code !== 0) throw new Error(`cli ${step}: ${explainCli(viaCli)}`);
    expect(normalised(viaCli.outputs, fnCli)).toEqual(normalised(viaAction.outputs, fnAction));
    // The summary is on the terminal: the same report as the job summary.
    expect(viaCli.stdout).toContain('## lambda-ml-deploy');
    expect(viaCli.stderr).toContain(
      `Assuming ${sandbox.deployRoleArn} with the web-identity token in ${tokenFile}`,
    );
    return viaCli.outputs;
  }

  test(
    'deploy: the same outputs as the action',
    async () => {
      const outputs = await sideBySide('first deploy', actionDeploy, [
        'deploy',
        ...flags(deployInputs(fnCli)),
      ]);
      expect(outputs).toMatchObject({ mode: 'deploy', version: '1', 'smoke-result': 'passed' });
    },
    TIMEOUT,
  );

  test(
    'a second deploy: the same outputs as the action',
    async () => {
      touch('second deploy');
      const outputs = await sideBySide('second deploy', actionDeploy, [
        'deploy',
        ...flags(deployInputs(fnCli)),
      ]);
      expect(outputs).toMatchObject({ version: '2', 'previous-version': '1', changed: 'true' });
    },
    TIMEOUT,
  );

  test(
    'rollback to previous: the same outputs as the action, prod back on version 1',
    async () => {
      const outputs = await sideBySide('rollback', actionRollback, [
        'rollback',
        ...flags(rollbackInputs(fnCli)),
      ]);
      expect(outputs).toMatchObject({ mode: 'rollback', version: '1', 'previous-version': '2' });
      expect(await prodVersion(fnCli)).toBe('1');
      expect(await prodVersion(fnAction)).toBe('1');
    },
    TIMEOUT,
  );

  test(
    'SIGTERM in the middle of a canary: the CLI puts prod back before it exits (exit 143)',
    async () => {
      const before = await lambda.send(new GetAliasCommand({ FunctionName: fnCli, Name: 'prod' }));
      touch('interrupted deploy');
      let sent = false;
      const run = await cli(
        [
          'deploy',
          ...flags({ ...deployInputs(fnCli), strategy: 'canary', 'canary-interval': '10m' }),
        ],
        {},
        (log, signal) => {
          // Step 1 of the canary is live (10% on the new version) and its bake has begun.
          if (!sent && /Step 1\/2: /.test(log)) {
            sent = true;
            signal('SIGTERM');
          }
        },
      );
      expect(sent).toBe(true);
      expect({ code: run.code, tail: run.stderr.slice(-1500) }).toMatchObject({ code: 143 });
      expect(run.stderr).toMatch(/SIGTERM: stopping; undoing any traffic shift/);
      expect(run.stdout).toMatch(/Interrupted \(SIGTERM\)[\s\S]*restored/);
      const after = await lambda.send(new GetAliasCommand({ FunctionName: fnCli, Name: 'prod' }));
      expect(after.FunctionVersion).toBe(before.FunctionVersion);
      expect(after.RoutingConfig?.AdditionalVersionWeights ?? {}).toEqual({});
    },
    TIMEOUT,
  );

  test(
    'plan prints what would change and writes nothing (the recording proxy sees no write)',
    async () => {
      // Its own function, so it does not depend on the deploys above: a plan to create it.
      const fnPlan = uniqueName('e2e-cli-plan');
      const recorder = await startAwsRecorder(sandbox.endpoint);
      try {
        const run = await cli(['plan', ...flags(deployInputs(fnPlan))], {
          AWS_ENDPOINT_URL: recorder.url,
        });
        if (run.code !== 0) throw new Error(`cli plan: ${explainCli(run)}`);
        expect(recorder.calls.length).toBeGreaterThan(0);
        // Reads are GET/HEAD; STS (query API) is a POST to /. Anything else would be a write.
        const writes = recorder.calls.filter(
          (c) => !['GET', 'HEAD'].includes(c.method) && !(c.method === 'POST' && c.path === '/'),
        );
        expect(writes).toEqual([]);
        expect(run.stdout).toMatch(/dry run|would/i);
        expect(run.outputs.mode).toBe('deploy');
      } finally {
        await recorder.close();
      }
      await expect(
        lambda.send(new GetFunctionCommand({ FunctionName: fnPlan })),
      ).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    },
    TIMEOUT,
  );
});
