/**
 * keep-versions end to end: five deploys of a changing handler with `keep-versions: 2` leave the
 * newest two unaliased versions plus every version an alias uses (`prod`, and a preview alias
 * pinned to the first version). Needs `bash scripts/sandbox.sh up` and `npm run build`.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  CreateAliasCommand,
  GetAliasCommand,
  LambdaClient,
  ListVersionsByFunctionCommand,
} from '@aws-sdk/client-lambda';
import { runAction, type ActionRun } from './helpers/run-action.js';
import { sharedIrisInputs } from './support/iris-workspace.js';
import {
  assertSandboxUp,
  awsConfig,
  loadSandbox,
  REPO_ROOT,
  uniqueName,
  type Sandbox,
} from './helpers/sandbox.js';

const TIMEOUT = 600_000;

let sandbox: Sandbox;
let lambda: LambdaClient;
let workspace: string;
const fn = uniqueName('e2e-retention');

async function deploy(n: number): Promise<ActionRun> {
  fs.appendFileSync(path.join(workspace, 'lambda_function.py'), `\n# deploy ${n}\n`);
  return runAction({
    workspace,
    event: { name: 'push' },
    inputs: sharedIrisInputs(sandbox, fn, { 'keep-versions': '2' }),
  });
}

async function versions(): Promise<string[]> {
  const out = await lambda.send(new ListVersionsByFunctionCommand({ FunctionName: fn }));
  return (out.Versions ?? [])
    .map((v) => v.Version!)
    .filter((v) => v !== '$LATEST')
    .sort((a, b) => Number(a) - Number(b));
}

beforeAll(async () => {
  sandbox = loadSandbox();
  await assertSandboxUp(sandbox);
  lambda = new LambdaClient(awsConfig(sandbox));
  workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'lmd-e2e-retention-'));
  fs.cpSync(path.join(REPO_ROOT, 'examples', 'iris'), workspace, { recursive: true });
});

afterAll(() => {
  lambda?.destroy();
  if (workspace) fs.rmSync(workspace, { recursive: true, force: true });
});

test(
  'keep-versions 2 after five deploys: the newest two unaliased versions plus every aliased one',
  async () => {
    const published: string[] = [];
    for (let n = 1; n <= 5; n++) {
      const result = await deploy(n);
      if (result.exitCode !== 0)
        throw new Error(`deploy ${n} failed: exit ${result.exitCode}\n${result.log.slice(-6000)}`);
      published.push(result.outputs.version!);
      if (n < 5) expect(result.summary).not.toContain('Deleted ');
      if (n === 5) {
        expect(result.summary).toContain(`Deleted 1 unaliased version(s): ${published[0]}.`);
      }
    }
    expect(new Set(published).size).toBe(5);
    const [, v2, v3, v4, v5] = published as [string, string, string, string, string];
    const prod = await lambda.send(new GetAliasCommand({ FunctionName: fn, Name: 'prod' }));
    expect(prod.FunctionVersion).toBe(v5);
    // v5: served by prod; v4: prod's recorded previous version (the rollback target), kept like an
    // aliased one; v2, v3: the newest two that no alias uses; v1 deleted.
    expect(prod.Description).toContain(`previous=${v4}`);
    expect(await versions()).toEqual([v2, v3, v4, v5].sort((a, b) => Number(a) - Number(b)));

    // A preview alias on an old version survives retention too.
    await lambda.send(
      new CreateAliasCommand({ FunctionName: fn, Name: 'pr-3', FunctionVersion: v2 }),
    );
    const sixth = await deploy(6);
    if (sixth.exitCode !== 0)
      throw new Error(`deploy 6 failed: exit ${sixth.exitCode}\n${sixth.log.slice(-6000)}`);
    const v6 = sixth.outputs.version!;
    // Protected: v6 (prod), v5 (previous), v2 (pr-3); unaliased v3, v4: the newest two, kept.
    expect(await versions()).toEqual([v2, v3, v4, v5, v6].sort((a, b) => Number(a) - Number(b)));
  },
  TIMEOUT,
);
