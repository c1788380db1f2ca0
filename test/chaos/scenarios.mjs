// One chaos run: a scenario (all-at-once, canary, rollback, preview, cleanup) with a good or a bad
// version, the action's main step through the fault proxy (SIGTERMed at a seeded moment in some
// runs), the post step, then the invariant checker. And one concurrent pair: two deploys of
// different versions started together on one function.
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  CloudWatchClient,
  PutMetricAlarmCommand,
  SetAlarmStateCommand,
} from '@aws-sdk/client-cloudwatch';
import {
  LambdaClient,
  ListAliasesCommand,
  ListVersionsByFunctionCommand,
  UpdateAliasCommand,
} from '@aws-sdk/client-lambda';
import {
  readSandboxEnv,
  runAction,
  runPost,
  startAction,
} from '../../scripts/sandbox/action-runner.mjs';
import { startFaultProxy } from './fault-proxy.mjs';
import { checkPair, checkRun, passedVersions } from './invariants.mjs';
import { seededUnit } from './random.mjs';
import { chaosInputs, chaosWorkspace } from './workspace.mjs';

export const SCENARIOS = ['all-at-once', 'canary', 'rollback', 'preview', 'cleanup'];
export const VARIANTS = ['good', 'bad'];

/**
 * How long the main step of each scenario usually runs after its first log line (lightly loaded
 * machine): a SIGTERM lands somewhere in it, or, in some runs, before the step printed anything.
 */
const KILL_WINDOW_MS = {
  'all-at-once': 5000,
  canary: 12000,
  rollback: 4000,
  preview: 6000,
  cleanup: 2500,
};
const CANARY = { strategy: 'canary', 'canary-percent': '20', 'canary-interval': '4s' };
const STEP_TIMEOUT_MS = 180_000;

/**
 * What a seed decides for a run besides the faults: whether and when a SIGTERM comes (`killAtMs`
 * after the step's first log line, or `killAtStart`: before it printed anything, as a job
 * cancelled while the action starts), and whether the canary's alarm flips to ALARM mid-bake.
 */
export function planRun(seed, scenario, variant, options = {}) {
  const unit = seededUnit(seed, 'plan');
  // Canary runs get more SIGTERMs: killed mid-bake is where the post step has work to do.
  const killRate = (options.killRate ?? 0.15) * (scenario === 'canary' ? 2 : 1);
  const kill = unit() < killRate;
  const atStart = unit() < 0.1 && options.startKills !== false;
  const killAtMs = Math.round(unit() * KILL_WINDOW_MS[scenario]);
  const flip = scenario === 'canary' && variant === 'good' && unit() < 0.5;
  const plan = { seed, scenario, variant, flip };
  if (kill && atStart) return { ...plan, killAtStart: true };
  return kill ? { ...plan, killAtMs } : plan;
}

/** A lane: its own functions and workspace; lanes can run side by side. */
export function createLane(options = {}) {
  const root = options.root;
  const env = readSandboxEnv(root);
  const aws = {
    region: env.AWS_REGION,
    endpoint: env.AWS_ENDPOINT_URL,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  };
  const stamp = `${Date.now().toString(36)}${options.lane ?? 0}`;
  return {
    root,
    env,
    stamp,
    lane: options.lane ?? 0,
    rate: options.rate ?? 0.1,
    lambda: new LambdaClient(aws),
    cloudwatch: new CloudWatchClient(aws),
    ws: chaosWorkspace(),
    fns: new Map(),
    runCount: 0,
    close() {
      this.lambda.destroy();
      this.cloudwatch.destroy();
      this.ws.cleanup();
    },
  };
}

/** Logs of a run kept for a look (violations only, unless asked): .chaos/<name>/ (gitignored). */
function keepLogs(lane, name, { plan, main, post, proxy, before, after, violations }) {
  const dir = path.join(lane.root, '.chaos', name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'main.log'), main.log);
  if (post) fs.writeFileSync(path.join(dir, 'post.log'), post.log);
  const facts = {
    plan,
    violations,
    faults: proxy.faults,
    aliasWrites: proxy.aliasWrites,
    versionDeletes: proxy.versionDeletes,
    calls: proxy.calls.map((c) => `${c.seq} ${c.operation} ${c.status ?? ''} ${c.fault ?? ''}`),
    before,
    after,
    state: main.state,
    outputs: main.outputs,
  };
  fs.writeFileSync(path.join(dir, 'run.json'), JSON.stringify(facts, null, 2));
}

const errorOf = (run) => run.annotations.find((a) => a.level === 'error')?.message ?? '';

/** A run straight against moto (no faults), for setting a function up. */
async function direct(lane, inputs, event, expectOk = true) {
  const run = await runAction({
    root: lane.root,
    workspace: lane.ws.root,
    inputs,
    event,
    timeoutMs: STEP_TIMEOUT_MS,
  });
  if (expectOk && run.exitCode !== 0)
    throw new Error(`chaos setup run failed: ${errorOf(run)}\n${run.log.slice(-3000)}`);
  return run;
}

/** Aliases and versions of a function, read straight from moto. */
export async function readState(lambda, functionName) {
  const aliases = [];
  const versions = [];
  let marker;
  do {
    const page = await lambda.send(
      new ListAliasesCommand({ FunctionName: functionName, Marker: marker }),
    );
    for (const a of page.Aliases ?? [])
      aliases.push({
        name: a.Name,
        version: a.FunctionVersion,
        weights: a.RoutingConfig?.AdditionalVersionWeights ?? {},
        description: a.Description ?? '',
        revisionId: a.RevisionId,
      });
    marker = page.NextMarker;
  } while (marker);
  do {
    const page = await lambda.send(
      new ListVersionsByFunctionCommand({ FunctionName: functionName, Marker: marker }),
    );
    for (const v of page.Versions ?? []) if (v.Version !== '$LATEST') versions.push(v.Version);
    marker = page.NextMarker;
  } while (marker);
  return { aliases, versions };
}

/** Creates the scenario's function once per lane: prod on a good version (and more per scenario). */
async function setUp(lane, scenario) {
  if (lane.fns.has(scenario)) return lane.fns.get(scenario);
  const fn = `chaos-${lane.stamp}-${scenario}`;
  const info = { fn, alarm: `${fn}-errors`, goods: [], bad: undefined };
  lane.ws.write('good', `${fn} base`);
  const first = await direct(lane, chaosInputs(lane.env, fn));
  info.goods.push(first.outputs.version);
  if (scenario === 'canary') {
    await lane.cloudwatch.send(
      new PutMetricAlarmCommand({
        AlarmName: info.alarm,
        MetricName: 'Errors',
        Namespace: 'AWS/Lambda',
        Statistic: 'Sum',
        Period: 60,
        EvaluationPeriods: 1,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        Dimensions: [{ Name: 'FunctionName', Value: fn }],
      }),
    );
  }
  if (scenario === 'rollback') {
    lane.ws.write('good', `${fn} second`);
    info.goods.push((await direct(lane, chaosInputs(lane.env, fn))).outputs.version);
    lane.ws.write('bad', `${fn} bad`);
    const bad = await direct(lane, chaosInputs(lane.env, fn), undefined, false);
    if (bad.outputs['smoke-result'] !== 'failed')
      throw new Error(`chaos setup: the bad version passed its smoke tests\n${bad.log}`);
    info.bad = bad.outputs.version;
  }
  lane.fns.set(scenario, info);
  return info;
}

/**
 * Puts `prod` back on whole routing before a run, so one run's leftovers (only possible after a
 * violation, which is reported) do not change the next run's scenario.
 */
async function normalize(lane, fn) {
  const { aliases } = await readState(lane.lambda, fn);
  const prod = aliases.find((a) => a.name === 'prod');
  if (prod && Object.keys(prod.weights).length > 0)
    await lane.lambda.send(
      new UpdateAliasCommand({
        FunctionName: fn,
        Name: 'prod',
        FunctionVersion: prod.version,
        RoutingConfig: { AdditionalVersionWeights: {} },
      }),
    );
}

async function setAlarm(lane, alarm, state) {
  await lane.cloudwatch.send(
    new SetAlarmStateCommand({
      AlarmName: alarm,
      StateValue: state,
      StateReason: state === 'ALARM' ? 'Errors >= 1 on the canary (chaos)' : 'healthy',
    }),
  );
}

/** Inputs and event of the faulted step of a run, after the run's own setup. */
async function prepareRun(lane, plan, info) {
  const { scenario, variant, seed } = plan;
  const { env } = lane;
  const marker = `seed ${seed} lane ${lane.lane} run ${++lane.runCount}`;
  const base = { inputs: chaosInputs(env, info.fn), event: { name: 'push' }, bad: [] };
  switch (scenario) {
    case 'all-at-once':
      lane.ws.write(variant, marker);
      return base;
    case 'canary':
      lane.ws.write(variant, marker);
      await setAlarm(lane, info.alarm, 'OK');
      return { ...base, inputs: { ...base.inputs, ...CANARY, alarms: info.alarm } };
    case 'rollback': {
      const { aliases } = await readState(lane.lambda, info.fn);
      const serving = aliases.find((a) => a.name === 'prod')?.version;
      const target =
        variant === 'bad' ? info.bad : (info.goods.find((v) => v !== serving) ?? info.goods[0]);
      return {
        inputs: {
          'aws-region': env.AWS_REGION,
          'role-to-assume': env.SANDBOX_DEPLOY_ROLE_ARN,
          'function-name': info.fn,
          mode: 'rollback',
          'rollback-to': target,
          'smoke-tests': 'smoke-tests.yml',
        },
        event: { name: 'workflow_dispatch', inputs: { version: target } },
        bad: variant === 'bad' ? [info.bad] : [],
      };
    }
    case 'preview':
      lane.ws.write(variant, marker);
      return {
        inputs: { ...base.inputs, mode: 'preview' },
        event: { name: 'pull_request', number: 40 + lane.lane, action: 'synchronize' },
        bad: [],
      };
    case 'cleanup': {
      // The preview this cleanup removes, made without faults (a bad one is never created).
      const number = 1000 + lane.lane * 1000 + lane.runCount;
      lane.ws.write(variant, marker);
      await direct(
        lane,
        { ...base.inputs, mode: 'preview' },
        { name: 'pull_request', number, action: 'opened' },
        variant === 'good',
      );
      return {
        inputs: {
          'aws-region': env.AWS_REGION,
          'role-to-assume': env.SANDBOX_DEPLOY_ROLE_ARN,
          'function-name': info.fn,
          mode: 'preview-cleanup',
        },
        event: { name: 'pull_request', number, action: 'closed', merged: true },
        bad: [],
      };
    }
    default:
      throw new Error(`unknown scenario ${scenario}`);
  }
}

/** Runs one seeded scenario and checks it. Returns the run's result (violations included). */
export async function runScenario(lane, plan) {
  const started = Date.now();
  const info = await setUp(lane, plan.scenario);
  await normalize(lane, info.fn);
  const prepared = await prepareRun(lane, plan, info);
  const before = await readState(lane.lambda, info.fn);
  const proxy = await startFaultProxy({
    target: lane.env.AWS_ENDPOINT_URL,
    seed: plan.seed,
    rate: lane.rate,
  });
  try {
    let timer;
    const step = startAction({
      root: lane.root,
      workspace: lane.ws.root,
      inputs: prepared.inputs,
      event: prepared.event,
      env: { AWS_ENDPOINT_URL: proxy.url },
      timeoutMs: STEP_TIMEOUT_MS,
      onLog: () => {
        if (plan.killAtMs !== undefined && timer === undefined)
          timer = setTimeout(() => step.kill('SIGTERM'), plan.killAtMs);
      },
    });
    if (plan.killAtStart) step.kill('SIGTERM');
    // The flip counts when it landed before the last step of the shift began.
    let flipped = false;
    if (plan.flip)
      step.waitForLog(/Step 1\/2: prod -> /, STEP_TIMEOUT_MS).then(
        () =>
          setAlarm(lane, info.alarm, 'ALARM').then(
            () => (flipped = !/Step 2\/2|rolled back|Rollback/.test(step.log)),
          ),
        () => undefined,
      );
    const main = await step.done;
    clearTimeout(timer);
    const killed = main.killed && main.signal === 'SIGTERM';
    const post = await runPost(main);
    const after = await readState(lane.lambda, info.fn);
    const published = proxy.published.map((p) => p.version);
    const passed = passedVersions(main);
    const bad = [
      ...prepared.bad,
      ...(plan.variant === 'bad' && plan.scenario !== 'cleanup' ? published : []),
    ];
    const expectRed =
      plan.scenario !== 'cleanup' && plan.variant === 'bad'
        ? 'a bad version'
        : flipped
          ? 'an alarm in ALARM during the bake'
          : undefined;
    const secrets = [
      ...proxy.secrets,
      lane.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN,
      main.job.inputs['github-token'],
    ];
    const violations = checkRun({
      before,
      after,
      proxy,
      main,
      post,
      passed,
      bad,
      killed,
      expectRed,
      secrets,
    });
    if (violations.length > 0 || lane.keepLogs)
      keepLogs(lane, `seed-${plan.seed}`, { plan, main, post, proxy, before, after, violations });
    return {
      ...plan,
      flipped,
      killed,
      green: main.exitCode === 0,
      expectGreen: !killed && !expectRed,
      restored: killed
        ? !violations.some((v) => v.invariant === 'restore') && post.exitCode === 0
        : undefined,
      faults: proxy.faults.map((f) => f.kind),
      calls: proxy.calls.length,
      violations,
      error: main.exitCode === 0 ? undefined : errorOf(main),
      ms: Date.now() - started,
    };
  } finally {
    await proxy.close();
  }
}

/** Two deploys of different good versions started together on one function. */
export async function runPair(lane, seed, laneB) {
  const info = await setUp(lane, 'pair');
  await normalize(lane, info.fn);
  lane.ws.write('good', `pair ${seed} A`);
  laneB.ws.write('good', `pair ${seed} B`);
  const before = await readState(lane.lambda, info.fn);
  const proxies = await Promise.all(
    [0, 1].map((i) =>
      startFaultProxy({ target: lane.env.AWS_ENDPOINT_URL, seed: `${seed}/${i}`, rate: 0 }),
    ),
  );
  try {
    const runs = await Promise.all(
      [lane, laneB].map(async (l, i) => {
        const main = await runAction({
          root: l.root,
          workspace: l.ws.root,
          inputs: chaosInputs(lane.env, info.fn),
          env: { AWS_ENDPOINT_URL: proxies[i].url },
          timeoutMs: STEP_TIMEOUT_MS,
        });
        const post = await runPost(main);
        return { main, post };
      }),
    );
    const after = await readState(lane.lambda, info.fn);
    const records = runs.map((r, i) => ({
      main: r.main,
      post: r.post,
      passed: passedVersions(r.main),
      published: proxies[i].published,
      aliasWrites: proxies[i].aliasWrites,
    }));
    const secrets = [
      ...proxies.flatMap((p) => [...p.secrets]),
      lane.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN,
    ];
    const violations = checkPair({ alias: 'prod', before, after, runs: records, secrets });
    return {
      seed,
      outcomes: runs.map((r) => (r.main.exitCode === 0 ? 'live' : 'conflict')),
      violations,
      errors: runs.map((r) => errorOf(r.main)).filter(Boolean),
    };
  } finally {
    await Promise.all(proxies.map((p) => p.close()));
  }
}
