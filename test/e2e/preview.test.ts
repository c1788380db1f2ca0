/**
 * PR previews end to end: dist/index.js run as the runner runs it, with real pull_request event
 * payloads (opened, synchronize, closed), against the sandbox's moto (Lambda invokes in Docker)
 * and its GitHub REST emulation (PR comments).
 *
 * PR 7 gets `pr-7` on a new version with a function URL and one comment; a push whose smoke tests
 * fail leaves it where it was; the next push moves it and edits the same comment; `prod` never
 * moves; the cleanup on close removes the URL, the alias and the preview-only versions, and a
 * second cleanup succeeds and changes nothing.
 *
 * The order matters with moto 5.2: it numbers a new version len(versions) + 1, so publishing after
 * a version below the newest was deleted reuses a live number (Lambda never reuses one). Here a
 * version is only ever deleted when it is the newest, or right before the PR ends.
 *
 * Needs `bash scripts/sandbox.sh up` and `npm run build`. Note: moto keeps one function URL per
 * function (it ignores the Qualifier), so the URL checks here cannot tell `pr-7`'s URL from another
 * alias's; the unit tests check that every URL call names the preview alias.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  GetAliasCommand,
  GetFunctionUrlConfigCommand,
  LambdaClient,
  ListVersionsByFunctionCommand,
  type GetAliasCommandOutput,
} from '@aws-sdk/client-lambda';
import { runAction, type ActionRun, type EventSpec } from './helpers/run-action.js';
import { sharedIrisInputs } from './support/iris-workspace.js';
import {
  assertSandboxUp,
  awsConfig,
  githubComments,
  loadSandbox,
  REPO_ROOT,
  uniqueName,
  type Sandbox,
} from './helpers/sandbox.js';

const TIMEOUT = 300_000;
const PR = 7;

let sandbox: Sandbox;
let lambda: LambdaClient;
let workspace: string;
const fn = uniqueName('e2e-preview');
const marker = `<!-- lambda-ml-deploy:preview:${fn} -->`;

function inputs(extra: Record<string, string> = {}) {
  return sharedIrisInputs(sandbox, fn, extra);
}

const pullRequest = (action: 'opened' | 'synchronize' | 'closed'): EventSpec => ({
  name: 'pull_request',
  number: PR,
  action,
});

async function run(event: EventSpec, extra: Record<string, string> = {}): Promise<ActionRun> {
  return runAction({ workspace, inputs: inputs(extra), event });
}

function explain(result: ActionRun): string {
  return `exit ${result.exitCode}\n${result.log.slice(-6000)}`;
}

/** Appends a line to the handler: a new bundle, so a new version. */
function changeHandler(tag: string): void {
  fs.appendFileSync(path.join(workspace, 'lambda_function.py'), `\n# ${tag}\n`);
}

async function alias(name: string): Promise<GetAliasCommandOutput | undefined> {
  try {
    return await lambda.send(new GetAliasCommand({ FunctionName: fn, Name: name }));
  } catch (error) {
    if ((error as { name?: string }).name === 'ResourceNotFoundException') return undefined;
    throw error;
  }
}

async function versions(): Promise<string[]> {
  const out = await lambda.send(new ListVersionsByFunctionCommand({ FunctionName: fn }));
  return (out.Versions ?? [])
    .map((v) => v.Version!)
    .filter((v) => v !== '$LATEST')
    .sort((a, b) => Number(a) - Number(b));
}

async function previewUrl(): Promise<string | undefined> {
  try {
    return (
      await lambda.send(
        new GetFunctionUrlConfigCommand({ FunctionName: fn, Qualifier: `pr-${PR}` }),
      )
    ).FunctionUrl;
  } catch (error) {
    if ((error as { name?: string }).name === 'ResourceNotFoundException') return undefined;
    throw error;
  }
}

async function ourComments() {
  return (await githubComments(sandbox)).filter(
    (c) =>
      c.issue_number === PR && c.body.includes(marker) && c.user.login === 'github-actions[bot]',
  );
}

/** A reviewer's comment on the PR that quotes the preview comment, marker included. */
async function quoteAsReviewer(body: string): Promise<number> {
  const response = await fetch(`${sandbox.githubUrl}/repos/org/app/issues/${PR}/comments`, {
    method: 'POST',
    headers: { authorization: 'token ghp_reviewer', 'content-type': 'application/json' },
    body: JSON.stringify({ body }),
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as { id: number }).id;
}

let prod: GetAliasCommandOutput;
const prodUnchanged = async () => {
  const now = await alias('prod');
  expect({ version: now?.FunctionVersion, revision: now?.RevisionId }).toEqual({
    version: prod.FunctionVersion,
    revision: prod.RevisionId,
  });
};

beforeAll(async () => {
  sandbox = loadSandbox();
  await assertSandboxUp(sandbox);
  lambda = new LambdaClient(awsConfig(sandbox));
  workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'lmd-e2e-preview-'));
  fs.cpSync(path.join(REPO_ROOT, 'examples', 'iris'), workspace, { recursive: true });
  // main is deployed first: prod exists and must never move while the PR is previewed.
  const deployed = await run({ name: 'push' });
  if (deployed.exitCode !== 0) throw new Error(`the first deploy failed: ${explain(deployed)}`);
  prod = (await alias('prod'))!;
  expect(prod.FunctionVersion).toBe('1');
}, TIMEOUT);

afterAll(() => {
  lambda?.destroy();
  if (workspace) fs.rmSync(workspace, { recursive: true, force: true });
});

describe('PR preview', () => {
  let firstVersion: string;
  let commentId: number;

  test(
    'opened: pr-7 on a new version, a function URL, one comment; prod untouched',
    async () => {
      changeHandler('PR 7, first push');
      // Someone quoted a preview comment (marker included) before the first preview ran.
      const quoted = `> ${marker}\n> is this preview up yet?`;
      const quoteId = await quoteAsReviewer(quoted);
      const result = await run(pullRequest('opened'), { mode: 'auto' });
      expect(result.exitCode).toBe(0);
      firstVersion = result.outputs.version!;
      expect(Number(firstVersion)).toBeGreaterThan(Number(prod.FunctionVersion));
      expect(result.outputs).toMatchObject({
        mode: 'preview', // what `auto` picked
        'smoke-result': 'passed',
        changed: 'true',
        'rolled-back': 'false',
      });
      expect((await alias('pr-7'))?.FunctionVersion).toBe(firstVersion);
      expect(result.outputs['alias-arn']).toMatch(new RegExp(`:function:${fn}:pr-7$`));
      expect(result.outputs['preview-url']).toMatch(
        /^https:\/\/.+\.lambda-url\.us-east-1\.on\.aws/,
      );
      expect(await previewUrl()).toBe(result.outputs['preview-url']);

      const comments = await ourComments();
      expect(comments).toHaveLength(1);
      commentId = comments[0]!.id;
      expect(comments[0]!.body).toContain(`\`pr-7\` → version ${firstVersion}`);
      expect(comments[0]!.body).toContain(result.outputs['preview-url']!);
      expect(comments[0]!.body).toMatch(/\| virginica \| ✅ passed \| \d+ ms \|/);
      // The reviewer's comment was not edited with the bot's token.
      const reviewer = (await githubComments(sandbox)).find((c) => c.id === quoteId);
      expect(reviewer).toMatchObject({ body: quoted, user: { login: 'octocat' } });
      expect(result.summary).toContain('`prod` was not touched');
      await prodUnchanged();
    },
    TIMEOUT,
  );

  test(
    'a push whose smoke tests fail: pr-7 stays, the comment says why, the step fails',
    async () => {
      const served = (await alias('pr-7'))!;
      const handler = path.join(workspace, 'lambda_function.py');
      const good = fs.readFileSync(handler, 'utf8');
      const broken = good.replace(
        '"species": MODEL["classes"][int(np.argmax(probabilities))],',
        '"species": "broken",',
      );
      expect(broken).not.toBe(good);
      fs.writeFileSync(handler, broken);
      try {
        const result = await run(pullRequest('synchronize'), { mode: 'auto' });
        expect(result.exitCode).toBe(1);
        expect(result.outputs['smoke-result']).toBe('failed');
        expect(result.annotations.find((a) => a.level === 'error')?.message).toMatch(
          /failed its smoke tests, so preview alias 'pr-7' still serves pr-7 -> \d+/,
        );
        const now = (await alias('pr-7'))!;
        expect({ version: now.FunctionVersion, revision: now.RevisionId }).toEqual({
          version: served.FunctionVersion,
          revision: served.RevisionId,
        });
        // The failed version serves nobody: deleted, so the PR still has one version.
        expect(await versions()).toEqual([prod.FunctionVersion, served.FunctionVersion]);
        const comments = await ourComments();
        expect(comments.map((c) => c.id)).toEqual([commentId]);
        expect(comments[0]!.body).toContain('smoke tests failed');
        expect(comments[0]!.body).toContain(
          `\`pr-7\` still serves version ${served.FunctionVersion}`,
        );
        expect(comments[0]!.body).toMatch(/\| virginica \| ❌ failed \| \d+ ms \|/);
        await prodUnchanged();
      } finally {
        fs.writeFileSync(handler, good);
      }
    },
    TIMEOUT,
  );

  test(
    'synchronize: pr-7 moves to the next version, the same comment is edited',
    async () => {
      changeHandler('PR 7, second push');
      const result = await run(pullRequest('synchronize'), { mode: 'auto' });
      expect(result.exitCode).toBe(0);
      const secondVersion = result.outputs.version!;
      expect(secondVersion).not.toBe(firstVersion);
      expect(result.outputs['previous-version']).toBe(firstVersion);
      expect((await alias('pr-7'))?.FunctionVersion).toBe(secondVersion);
      // The superseded preview version served nobody else: gone.
      expect(await versions()).toEqual([prod.FunctionVersion, secondVersion]);

      const comments = await ourComments();
      expect(comments.map((c) => c.id)).toEqual([commentId]);
      expect(comments[0]!.body).toContain(`\`pr-7\` → version ${secondVersion}`);
      expect(comments[0]!.body).not.toContain(`version ${firstVersion} `);
      await prodUnchanged();
    },
    TIMEOUT,
  );

  test(
    'closed: URL, alias and the preview-only versions are removed; the comment says so',
    async () => {
      const served = (await alias('pr-7'))!.FunctionVersion!;
      const result = await run(pullRequest('closed'), { mode: 'auto' });
      expect(result.outputs.mode).toBe('preview-cleanup');
      expect(result.exitCode).toBe(0);
      expect(result.outputs).toMatchObject({ changed: 'true', 'previous-version': served });
      expect(await alias('pr-7')).toBeUndefined();
      expect(await previewUrl()).toBeUndefined();
      expect(await versions()).toEqual([prod.FunctionVersion]);
      const comments = await ourComments();
      expect(comments.map((c) => c.id)).toEqual([commentId]);
      expect(comments[0]!.body).toContain('cleaned up');
      expect(comments[0]!.body).toContain(`version ${served} deleted`);
      await prodUnchanged();
    },
    TIMEOUT,
  );

  test(
    'closed again: succeeds and changes nothing',
    async () => {
      const before = { versions: await versions(), comments: await ourComments() };
      const result = await run(pullRequest('closed'), { mode: 'auto' });
      expect(result.exitCode).toBe(0);
      expect(result.outputs.changed).toBe('false');
      expect(result.summary).toContain('Nothing to clean up');
      expect(await versions()).toEqual(before.versions);
      expect(await ourComments()).toEqual(before.comments);
      await prodUnchanged();
    },
    TIMEOUT,
  );
});
