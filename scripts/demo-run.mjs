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
    exclude: [
      'deps',
      'wheels',
      'data',
      'train.py',
      'wheelhouse.txt',
      'smoke-tests.yml',
      'requirements.txt',
      '.gitignore',
    ],
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

  recap(run, seconds);

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
    const invoke = async (event) => {
      const response = await lambda.send(
        new InvokeCommand({
          FunctionName: FUNCTION,
          Qualifier: 'prod',
          Payload: Buffer.from(JSON.stringify(event)),
        }),
      );
      const payload = Buffer.from(response.Payload ?? new Uint8Array()).toString('utf8');
      if (response.FunctionError) {
        console.error(`  function error (${response.FunctionError}): ${payload}`);
        process.exit(1);
      }
      return { version: response.ExecutedVersion, answer: JSON.parse(payload) };
    };
    const { version, answer: prediction } = await invoke(SAMPLE);
    console.log(`  event:         ${JSON.stringify(SAMPLE)}`);
    if (version) console.log(`  version:       ${version}`);
    console.log(`  prediction:    ${prediction.species} (model ${prediction.model})`);
    const probabilities = Object.entries(prediction.probabilities ?? {});
    for (const [species, p] of probabilities) {
      const bar = '█'.repeat(Math.round(p * 30));
      console.log(`    ${species.padEnd(11)} ${(p * 100).toFixed(1).padStart(5)}% ${bar}`);
    }
    const { answer: health } = await invoke({ httpMethod: 'GET', path: '/health' });
    const body = JSON.parse(health.body ?? '{}');
    if (body.numpy && body.scipy) {
      console.log(
        `  runtime:       numpy ${body.numpy.version} from ${body.numpy.from}, ` +
          `scipy ${body.scipy.version} from ${body.scipy.from}`,
      );
    }
  } finally {
    lambda.destroy();
  }
}

const LIMIT_UNZIPPED = '250 MB unzipped (function and layers)';

/** The run in a few lines, from the action's log, outputs and summary. */
function recap(run, seconds) {
  heading('What happened');
  const log = run.log;
  const find = (pattern) => pattern.exec(log);
  const cached = find(/Layer (\S+) version (\d+) already has this key: reusing (\S+)/);
  const built = find(/Layer built in ([^:]+): (\d+) files, (.+?) unzipped, (.+?) zipped/);
  const slim = find(/Slimmed the layer from (.+?) to (.+?): removed (\d+) files/);
  const compiled = find(/Compiled (\d+) modules to hash-based \.pyc/);
  const bundle = find(/^\s*(\d+) files, (.+?) unzipped, (.+?) zipped, sha256/m);
  const share = /\*\*total\*\* \| \*\*(.+?)\*\* \| \*\*(.+?)\*\* of/.exec(run.summary);
  if (cached) {
    console.log(`  layer:     ♻️  unchanged: reused ${cached[3]} (no Docker build, no upload)`);
  } else if (built) {
    if (slim)
      console.log(
        `  layer:     pip installed ${slim[1]}; slimming removed ${slim[3]} files -> ${slim[2]}`,
      );
    if (compiled) console.log(`             ${compiled[1]} modules compiled to hash-based .pyc`);
    console.log(
      `             shipped ${built[3]} unzipped, ${built[4]} zipped, built in ${built[1]}`,
    );
  }
  if (bundle)
    console.log(`  bundle:    ${bundle[2]} unzipped, ${bundle[3]} zipped (${bundle[1]} files)`);
  if (share) console.log(`  limits:    ${share[1]} = ${share[2]} of Lambda's ${LIMIT_UNZIPPED}`);
  const smoke = /### Smoke tests on version \d+\n\n((?:\|.*\n?)+)/.exec(run.summary);
  if (smoke) {
    console.log('  smoke tests:');
    for (const line of smoke[1].trim().split('\n')) console.log(`    ${line}`);
  }
  if (run.outputs.changed === 'false') {
    console.log(
      `  result:    nothing rebuilt or republished: prod still serves version ${run.outputs.version} (changed=false)`,
    );
  } else {
    console.log(
      `  result:    prod -> version ${run.outputs.version} (smoke ${run.outputs['smoke-result']})`,
    );
  }
  console.log(`  time:      ${seconds}s`);
}

main().catch((error) => {
  console.error(`demo: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
