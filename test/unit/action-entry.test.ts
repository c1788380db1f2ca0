import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from 'yaml';

// Runs the committed bundle the way the Actions runner does: INPUT_* variables, hyphens kept.
function runDist(
  inputs: Record<string, string>,
  extraEnv: NodeJS.ProcessEnv = {},
  entry = 'dist/index.js',
) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'entry-'));
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    GITHUB_WORKSPACE: dir,
    RUNNER_TEMP: dir,
    GITHUB_OUTPUT: path.join(dir, 'output'),
    GITHUB_STATE: path.join(dir, 'state'),
    GITHUB_STEP_SUMMARY: path.join(dir, 'summary'),
    ...extraEnv,
  };
  for (const [name, value] of Object.entries(inputs)) env[`INPUT_${name.toUpperCase()}`] = value;
  for (const f of ['output', 'state', 'summary']) fs.writeFileSync(path.join(dir, f), '');
  const result = spawnSync(process.execPath, [entry], { env, encoding: 'utf8' });
  const summary = fs.readFileSync(path.join(dir, 'summary'), 'utf8');
  fs.rmSync(dir, { recursive: true, force: true });
  return { ...result, summary };
}

describe('dist/index.js as the runner runs it', () => {
  it('exits 1 with ::error:: naming function-name when it is missing', () => {
    const r = runDist({ 'aws-region': 'us-east-1', 's3-bucket': 'artifacts' });
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^::error::Input 'function-name': is required/m);
    expect(r.summary).toContain("Input 'function-name'");
  });

  it('with debug logging on, prints the stack mapped to the TypeScript sources', () => {
    const r = runDist({ 'aws-region': 'us-east-1' }, { RUNNER_DEBUG: '1' });
    expect(r.status).toBe(1);
    const debug = r.stdout.split('\n').filter((l) => l.startsWith('::debug::'));
    // A frame of the settings reader, with a line number in src/, not in the 3 MB bundle.
    expect(debug.join('\n')).toMatch(/src\/settings\.ts:\d+:\d+/);
  });

  it('lists several bad inputs in one error', () => {
    const r = runDist({
      'aws-region': 'mars-1',
      'function-name': 'fn',
      's3-bucket': 'artifacts',
      timeout: '2000',
    });
    expect(r.status).toBe(1);
    const error = r.stdout.split('\n').find((l) => l.startsWith('::error::')) ?? '';
    expect(error).toContain("Input 'aws-region'");
    expect(error).toContain("Input 'timeout'");
  });
});

describe('dist/post.js as the runner runs it (the post step)', () => {
  it('with no saved state (main killed before it saved any): does nothing, reads no input', () => {
    // The inputs a deploy needs: were this run as the main step, it would start deploying.
    const r = runDist(
      { 'aws-region': 'us-east-1', 'function-name': 'fn', 's3-bucket': 'artifacts' },
      {},
      'dist/post.js',
    );
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
    expect(r.stdout).toMatch(/Nothing to undo/);
    expect(r.stdout).not.toMatch(/::error::|Assum|credential/i);
  });

  it('with a corrupt saved state: fails, naming it', () => {
    const r = runDist(
      { 'aws-region': 'us-east-1' },
      { 'STATE_alias-shift': '{"x' },
      'dist/post.js',
    );
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^::error::The saved traffic-shift state is unreadable/m);
  });
});

describe('action.yml', () => {
  const action = parse(fs.readFileSync('action.yml', 'utf8')) as {
    inputs: Record<string, { description?: string; required?: boolean; default?: string }>;
    outputs: Record<string, { description?: string }>;
  };
  const settingsSource = ['src/settings.ts', 'src/settings-function.ts', 'src/settings-endpoint.ts']
    .map((file) => fs.readFileSync(file, 'utf8'))
    .join('\n');

  it('describes every input, and every input is read by a settings module', () => {
    for (const [name, spec] of Object.entries(action.inputs)) {
      expect(spec.description?.length ?? 0).toBeGreaterThan(10);
      expect(settingsSource.includes(`'${name}'`) ? name : `${name} is never read`).toBe(name);
    }
  });

  it('declares the outputs of the contract', () => {
    expect(Object.keys(action.outputs).sort()).toEqual(
      [
        'alias-arn',
        'changed',
        'code-sha256',
        'cold-start-ms',
        'function-arn',
        'image-uri',
        'max-memory-mb',
        'layer-version-arn',
        'mode',
        'preview-url',
        'previous-version',
        'rolled-back',
        's3-key',
        'smoke-result',
        'url',
        'version',
      ].sort(),
    );
  });
});
