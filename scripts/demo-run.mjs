// The demo's deploy step: runs the built action (dist/index.js) on examples/iris the way a
// GitHub runner would (push to main, OIDC role), against the local sandbox, then calls the
// `prod` alias with a sample flower. Started by scripts/demo.sh after `sandbox.sh up`.
//
//   node scripts/demo-run.mjs            (needs dist/index.js and the sandbox up)
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { readSandboxEnv, runAction } from './sandbox/action-runner.mjs';

const FUNCTION = 'iris-classifier';
// Node 20 here, 24 on GitHub: the SDK's "node >=22 soon" notice would only clutter the demo.
const QUIET_SDK = { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
Object.assign(process.env, QUIET_SDK);
const SAMPLE = { sl: 6.3, sw: 2.9, pl: 5.6, pw: 1.8 };

function heading(text) {
  console.log(`\n==> ${text}`);
}

/** Prints the action's log as the runner shows it: groups, annotations, secrets masked, no debug. */
function runnerConsole() {
  const masks = [];
  let pending = '';
  const show = (line) => {
    if (line.startsWith('::add-mask::')) {
      const secret = line.slice('::add-mask::'.length);
      if (secret.trim()) masks.push(secret);
      return;
    }
    if (line.startsWith('::debug::') || line.startsWith('::endgroup::')) return;
    let text = masks.reduce((out, secret) => out.split(secret).join('***'), line);
    const command = /^::(group|warning|error|notice)(?: [^:]*)?::(.*)$/.exec(text);
    if (command) text = command[1] === 'group' ? `▸ ${command[2]}` : `${command[1]}: ${command[2]}`;
    else text = `    ${text}`;
    console.log(`  │ ${text}`);
  };
  return {
    onLog(chunk) {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      lines.forEach(show);
    },
    flush() {
      if (pending) show(pending);
      pending = '';
    },
  };
}

async function main() {
  const sandbox = readSandboxEnv();
  heading('Sandbox');
  console.log(`  AWS (moto):          ${sandbox.AWS_ENDPOINT_URL}`);
  console.log(`  GitHub (OIDC + API): ${sandbox.GITHUB_API_URL}`);
  console.log(`  bucket ${sandbox.SANDBOX_BUCKET}, execution role ${sandbox.SANDBOX_ROLE_ARN}`);

  const inputs = {
    'function-name': FUNCTION,
    'aws-region': sandbox.AWS_REGION,
    'role-to-assume': sandbox.SANDBOX_DEPLOY_ROLE_ARN,
    's3-bucket': sandbox.SANDBOX_BUCKET,
    'source-dir': 'examples/iris',
    model: 'examples/iris/model',
    requirements: 'examples/iris/requirements.txt',
    exclude: ['deps', 'wheels', 'train.py', 'smoke-tests.yml', 'requirements.txt', '.gitignore'],
    runtime: sandbox.SANDBOX_RUNTIME,
    'build-image': sandbox.SANDBOX_BUILD_IMAGE,
    'create-function': 'true',
    'execution-role': sandbox.SANDBOX_ROLE_ARN,
    'smoke-tests': 'examples/iris/smoke-tests.yml',
  };
  heading('Running lambda-ml-deploy (node dist/index.js) as the runner does, on a push to main');
  for (const [name, value] of Object.entries(inputs)) {
    console.log(`  ${name.padEnd(16)} ${Array.isArray(value) ? value.join(', ') : value}`);
  }
  const output = runnerConsole();
  const started = Date.now();
  const run = await runAction({
    inputs,
    event: { name: 'push' },
    env: QUIET_SDK,
    onLog: (chunk) => output.onLog(chunk),
  });
  output.flush();
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.log(`  └ exit code ${run.exitCode ?? run.signal} after ${seconds}s`);

  heading('Step outputs');
  const outputNames = Object.keys(run.outputs).sort();
  if (outputNames.length === 0) console.log('  (none)');
  for (const name of outputNames) console.log(`  ${name.padEnd(18)} ${run.outputs[name]}`);

  heading('Job summary (GITHUB_STEP_SUMMARY)');
  console.log(run.summary.trim() || '(empty)');

  if (run.exitCode !== 0) {
    console.error(`\nThe action failed (exit ${run.exitCode ?? run.signal}); see its log above.`);
    process.exit(1);
  }

  heading(`Calling ${FUNCTION}:prod with a sample flower`);
  const lambda = new LambdaClient({
    region: sandbox.AWS_REGION,
    endpoint: sandbox.AWS_ENDPOINT_URL,
    credentials: {
      accessKeyId: sandbox.AWS_ACCESS_KEY_ID,
      secretAccessKey: sandbox.AWS_SECRET_ACCESS_KEY,
    },
  });
  try {
    const response = await lambda.send(
      new InvokeCommand({
        FunctionName: FUNCTION,
        Qualifier: 'prod',
        Payload: Buffer.from(JSON.stringify(SAMPLE)),
      }),
    );
    const payload = Buffer.from(response.Payload ?? new Uint8Array()).toString('utf8');
    console.log(`  event:      ${JSON.stringify(SAMPLE)}`);
    if (response.ExecutedVersion) console.log(`  version:    ${response.ExecutedVersion}`);
    if (response.FunctionError) {
      console.error(`  function error (${response.FunctionError}): ${payload}`);
      process.exit(1);
    }
    const prediction = JSON.parse(payload);
    console.log(
      `  prediction: ${prediction.species} ${JSON.stringify(prediction.probabilities)} (model ${prediction.model})`,
    );
  } finally {
    lambda.destroy();
  }
}

main().catch((error) => {
  console.error(`demo: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
