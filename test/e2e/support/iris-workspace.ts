import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { REPO_ROOT, type Sandbox } from '../helpers/sandbox.js';

export const IRIS = path.join(REPO_ROOT, 'examples', 'iris');

/** A private copy of examples/iris (wheelhouse included) to deploy and edit. */
export function irisWorkspace(): { root: string; app: string; handler: string; cleanup(): void } {
  const wheel = path.join(IRIS, 'wheels');
  if (!fs.existsSync(wheel) || fs.readdirSync(wheel).every((f) => !f.endsWith('.whl'))) {
    throw new Error(
      'examples/iris/wheels has no wheel: run `bash scripts/sandbox.sh up` (it builds the wheelhouse) first.',
    );
  }
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'iris-ws-'));
  const app = path.join(root, 'iris');
  fs.cpSync(IRIS, app, {
    recursive: true,
    filter: (src) => !src.includes(`${path.sep}__pycache__`),
  });
  return {
    root,
    app,
    handler: path.join(app, 'lambda_function.py'),
    cleanup: () => fs.rmSync(root, { recursive: true, force: true }),
  };
}

/**
 * The inputs of a normal deploy of the iris example to `functionName` in the sandbox. `dir` is the
 * example's folder in the workspace ('.' when the workspace is a copy of examples/iris itself).
 */
export function irisInputs(
  sandbox: Sandbox,
  functionName: string,
  extra: Record<string, string | undefined> = {},
  dir = 'iris',
): Record<string, string | undefined> {
  const at = (file: string) => (dir === '.' ? file : `${dir}/${file}`);
  return {
    'aws-region': sandbox.region,
    'role-to-assume': sandbox.deployRoleArn,
    'function-name': functionName,
    's3-bucket': sandbox.bucket,
    'source-dir': dir,
    include: 'lambda_function.py',
    model: at('model'),
    runtime: sandbox.runtime,
    'build-image': sandbox.buildImage,
    'create-function': 'true',
    'execution-role': sandbox.roleArn,
    'smoke-tests': at('smoke-tests.yml'),
    ...extra,
  };
}

/**
 * The layer (numpy, scipy, irisfeat: about 160 MB) that the suites deploying the example share:
 * the same requirements and wheelhouse give the same layer key, so only the first deploy of a
 * `npm test` run builds it in Docker and the others reuse it.
 */
export const SHARED_IRIS_LAYER = 'lmd-e2e-iris-deps';

/** Inputs for tests whose workspace is a copy of examples/iris; they share one cached layer. */
export function sharedIrisInputs(
  sandbox: Sandbox,
  functionName: string,
  extra: Record<string, string | undefined> = {},
): Record<string, string | undefined> {
  return irisInputs(
    sandbox,
    functionName,
    { 'layer-name': SHARED_IRIS_LAYER, timeout: '60', ...extra },
    '.',
  );
}

/** Appends a harmless line, so the bundle (and nothing else) changes. */
export function touchHandler(handler: string, marker: string): void {
  fs.appendFileSync(handler, `\n# ${marker}\n`);
}
