import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { parseConfig } from '../../src/cli-args.js';
import { parseSmokeSpec } from '../../src/release/smoke/smoke-spec.js';

/**
 * The example workflows (and the README snippets in README.md) are valid YAML and use the
 * action only with inputs and outputs that action.yml declares, with the permissions, triggers and
 * concurrency each mode needs.
 */

interface ActionYml {
  inputs: Record<string, { required?: boolean; default?: string }>;
  outputs: Record<string, unknown>;
}
interface Step {
  id?: string;
  uses?: string;
  if?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
  run?: string;
}
interface Workflow {
  name?: string;
  on: Record<string, unknown>;
  permissions?: Record<string, string>;
  concurrency?: { group: string; 'cancel-in-progress': boolean; queue?: string };
  jobs: Record<string, { steps: Step[]; permissions?: Record<string, string>; if?: string }>;
}

const action = parse(fs.readFileSync('action.yml', 'utf8')) as ActionYml;
const DIR = 'workflows-examples';
const files = ['deploy.yml', 'pr-preview.yml', 'rollback.yml'];
const load = (file: string) => parse(fs.readFileSync(path.join(DIR, file), 'utf8')) as Workflow;
const isOurs = (step: Step) =>
  typeof step.uses === 'string' && /(^|\/)lambda-ml-deploy@/.test(step.uses);
const actionSteps = (wf: Workflow) =>
  Object.values(wf.jobs).flatMap((job) => job.steps.filter(isOurs));

/** Inputs each mode really needs (settings.ts reads them as required for that mode). */
const NEEDED: Record<string, string[]> = {
  deploy: ['aws-region', 'function-name', 's3-bucket'],
  preview: ['aws-region', 'function-name', 's3-bucket'],
  rollback: ['aws-region', 'function-name'],
};

/** Every `steps.<id>.outputs.<name>` in a workflow names a declared output of one of our steps. */
function outputReferences(text: string): Array<{ id: string; output: string }> {
  return [...text.matchAll(/steps\.([\w-]+)\.outputs\.([\w-]+)/g)].map((m) => ({
    id: m[1]!,
    output: m[2]!,
  }));
}

test('exactly the three example workflows exist', () => {
  expect(fs.readdirSync(DIR).sort()).toEqual([...files].sort());
});

describe.each(files)('%s', (file) => {
  const text = fs.readFileSync(path.join(DIR, file), 'utf8');

  test('is one valid YAML document without errors or warnings', () => {
    const docs = parseAllDocuments(text);
    expect(docs).toHaveLength(1);
    expect(docs[0]!.errors).toEqual([]);
    expect(docs[0]!.warnings).toEqual([]);
  });

  test('uses the action with declared inputs only, and with the inputs its mode needs', () => {
    const wf = load(file);
    const steps = actionSteps(wf);
    expect(steps.length).toBeGreaterThan(0);
    for (const step of steps) {
      const inputs = Object.keys(step.with ?? {});
      expect(inputs.filter((name) => !(name in action.inputs))).toEqual([]);
      const mode = String(step.with?.mode ?? 'deploy');
      expect(['deploy', 'auto', 'rollback']).toContain(mode);
      const needed = NEEDED[mode === 'auto' ? 'preview' : mode]!;
      expect(needed.filter((name) => !inputs.includes(name))).toEqual([]);
      for (const [name, value] of Object.entries(step.with ?? {})) {
        // The runner passes inputs as strings; YAML numbers/booleans would be coerced silently.
        expect([name, typeof value]).toEqual([name, 'string']);
      }
    }
  });

  test('reads only declared outputs of its own steps', () => {
    const wf = load(file);
    const ids = new Set(
      actionSteps(wf)
        .map((s) => s.id)
        .filter(Boolean),
    );
    for (const ref of outputReferences(text)) {
      expect(ids.has(ref.id)).toBe(true);
      expect(Object.keys(action.outputs)).toContain(ref.output);
    }
  });

  test('asks for an OIDC token and no more than it needs; one run per function / PR', () => {
    const wf = load(file);
    expect(wf.permissions).toMatchObject({ 'id-token': 'write', contents: 'read' });
    expect(
      Object.values(wf.permissions ?? {}).filter((v) => v === 'write').length,
    ).toBeLessThanOrEqual(2);
    expect(wf.concurrency?.['cancel-in-progress']).toBe(false);
    expect(wf.concurrency?.group).toBeTruthy();
  });

  test('one queue per function: the group of deploy.yml, and queue: max so no waiting run is dropped', () => {
    const wf = load(file);
    expect(wf.concurrency).toEqual({
      group: load('deploy.yml').concurrency?.group,
      'cancel-in-progress': false,
      queue: 'max',
    });
    expect(wf.concurrency?.group).not.toContain('${{');
  });

  test('every other action is pinned to a full commit SHA with its version in a comment', () => {
    const uses = [...text.matchAll(/uses:\s*(\S+)(.*)$/gm)]
      .map((m) => ({ ref: m[1]!, comment: m[2]! }))
      .filter((u) => !/(^|\/)lambda-ml-deploy@/.test(u.ref));
    expect(uses.length).toBeGreaterThan(0);
    for (const u of uses) {
      expect(u.ref).toMatch(/^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/);
      expect(u.comment).toMatch(/# v\d+\.\d+\.\d+/);
    }
  });

  test('user-facing values are passed to `run` through env, never spliced into the script', () => {
    for (const step of Object.values(load(file).jobs).flatMap((job) => job.steps)) {
      if (step.run) expect(step.run).not.toMatch(/\$\{\{/);
    }
  });
});

test('deploy.yml: push to main', () => {
  const wf = load('deploy.yml');
  expect(wf.on).toEqual({ push: { branches: ['main'] } });
  expect(actionSteps(wf)[0]!.with?.mode ?? 'deploy').toBe('deploy');
});

test('pr-preview.yml: pull_request with close, mode auto, pull-requests: write, a group per PR', () => {
  const wf = load('pr-preview.yml');
  expect((wf.on.pull_request as { types: string[] }).types.sort()).toEqual([
    'closed',
    'opened',
    'reopened',
    'synchronize',
  ]);
  expect(actionSteps(wf)[0]!.with?.mode).toBe('auto');
  expect(wf.permissions?.['pull-requests']).toBe('write');
  expect(['AWS_IAM', 'NONE']).toContain(actionSteps(wf)[0]!.with?.['preview-url-auth']);
});

test('rollback.yml: workflow_dispatch with a version input defaulting to previous, passed as rollback-to', () => {
  const wf = load('rollback.yml');
  const dispatch = wf.on.workflow_dispatch as {
    inputs: Record<string, { default?: string; required?: boolean }>;
  };
  expect(dispatch.inputs.version).toMatchObject({ default: 'previous', required: true });
  const step = actionSteps(wf)[0]!;
  expect(step.with).toMatchObject({ mode: 'rollback', 'rollback-to': '${{ inputs.version }}' });
  // The same concurrency group as deploy.yml: a rollback never races a deploy.
  expect(wf.concurrency?.group).toBe(load('deploy.yml').concurrency?.group);
});

test('README.md: every YAML snippet parses; workflows use only declared inputs, smoke specs are valid', () => {
  const markdown = fs.readFileSync('README.md', 'utf8');
  const snippets = [...markdown.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
  expect(snippets.length).toBeGreaterThanOrEqual(3);
  for (const snippet of snippets) {
    const doc = parseAllDocuments(snippet)[0]!;
    expect(doc.errors).toEqual([]);
    const wf = doc.toJS() as Workflow & { cases?: unknown };
    if (wf.cases) {
      // The smoke-test example is a valid spec.
      expect(parseSmokeSpec(snippet, 'README.md').cases.length).toBeGreaterThan(0);
      continue;
    }
    if (!wf.jobs) {
      // A command-line config file: every key is an input.
      expect(Object.keys(parseConfig(snippet, 'README.md')).length).toBeGreaterThan(0);
      continue;
    }
    for (const step of actionSteps(wf)) {
      expect(Object.keys(step.with ?? {}).filter((name) => !(name in action.inputs))).toEqual([]);
    }
  }
  // The JSON policies parse too.
  const policies = [...markdown.matchAll(/```json\n([\s\S]*?)```/g)].map(
    (m) => JSON.parse(m[1]!) as { Statement: unknown[] },
  );
  expect(policies.length).toBeGreaterThanOrEqual(2);
  for (const policy of policies) expect(policy.Statement.length).toBeGreaterThan(0);
});

test('the permissions policy in docs names every Lambda API the action calls', () => {
  const markdown = fs.readFileSync('README.md', 'utf8');
  const source = fs
    .readdirSync('src', { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => fs.readFileSync(path.join('src', f), 'utf8'))
    .join('\n');
  const commands = new Set([...source.matchAll(/new (\w+)Command\(/g)].map((m) => m[1]!));
  const iamAction: Record<string, string> = {
    Invoke: 'lambda:InvokeFunction',
    ListVersionsByFunction: 'lambda:ListVersionsByFunction',
    HeadObject: 's3:GetObject',
    GetObject: 's3:GetObject',
    ListObjectsV2: 's3:ListBucket',
    DeleteObjects: 's3:DeleteObject',
    DescribeAlarms: 'cloudwatch:DescribeAlarms',
    DescribeRepositories: 'ecr:DescribeRepositories',
    CreateRepository: 'ecr:CreateRepository',
    GetAuthorizationToken: 'ecr:GetAuthorizationToken',
  };
  const skip = new Set(['GetCallerIdentity', 'AssumeRoleWithWebIdentity']);
  for (const command of commands) {
    if (skip.has(command)) continue;
    const name = iamAction[command] ?? `lambda:${command}`;
    expect([command, markdown.includes(`"${name}"`)]).toEqual([command, true]);
  }
  // The waiters poll GetFunction.
  expect(markdown).toContain('"lambda:GetFunction"');
});
