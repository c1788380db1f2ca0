// The application the chaos runs deploy: a tiny handler with no dependency layer (so a run costs
// a zip, a publish and one smoke invocation), in a good and a bad variant. The bad variant answers
// the smoke case wrongly, so its version must never take traffic.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const SPEC = `cases:
  - name: virginica
    event: {sl: 6.9, sw: 3.1, pl: 5.4, pw: 2.1}
    expect:
      payload: {species: virginica}
`;

function handlerSource(variant, marker) {
  const species = variant === 'good' ? 'virginica' : 'setosa';
  return [
    `# chaos run ${marker}`,
    `VARIANT = ${JSON.stringify(variant)}`,
    '',
    '',
    'def lambda_handler(event, context):',
    `    return {"species": ${JSON.stringify(species)}, "variant": VARIANT}`,
    '',
  ].join('\n');
}

/** A fresh workspace; `write(variant, marker)` puts a handler whose bundle is unique to marker. */
export function chaosWorkspace() {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lmd-chaos-'));
  fs.writeFileSync(path.join(root, 'smoke-tests.yml'), SPEC);
  const write = (variant, marker) =>
    fs.writeFileSync(path.join(root, 'lambda_function.py'), handlerSource(variant, marker));
  write('good', 'initial');
  return { root, write, cleanup: () => fs.rmSync(root, { recursive: true, force: true }) };
}

/** Inputs of a deploy of the chaos handler to `functionName` (no layer, short bake). */
export function chaosInputs(env, functionName, extra = {}) {
  return {
    'aws-region': env.AWS_REGION,
    'role-to-assume': env.SANDBOX_DEPLOY_ROLE_ARN,
    'function-name': functionName,
    's3-bucket': env.SANDBOX_BUCKET,
    'source-dir': '.',
    include: 'lambda_function.py',
    requirements: '',
    runtime: env.SANDBOX_RUNTIME,
    'create-function': 'true',
    'execution-role': env.SANDBOX_ROLE_ARN,
    'smoke-tests': 'smoke-tests.yml',
    timeout: '30',
    ...extra,
  };
}
