// Runs a JavaScript action (`node dist/index.js`) the way the GitHub runner does, against the
// local sandbox. Plain JS so that scripts (the demo) and the TypeScript e2e helpers share it;
// types are in action-runner.d.mts.
//
// What the runner does and this mirrors:
//  - inputs as INPUT_<NAME> (name upper-cased, spaces to '_', hyphens kept), with the defaults
//    of action.yml filled in (`${{ github.token }}` and other `github.*` expressions evaluated);
//  - per-step files for file commands: GITHUB_OUTPUT, GITHUB_STATE, GITHUB_STEP_SUMMARY,
//    GITHUB_ENV, GITHUB_PATH (empty files in RUNNER_TEMP/_runner_file_commands);
//  - the main step runs action.yml's `runs.main`, the post step its `runs.post`; the post step
//    gets STATE_<name> for what the main step saved with core.saveState, plus the variables the
//    main step exported through GITHUB_ENV;
//  - the event: GITHUB_EVENT_NAME and GITHUB_EVENT_PATH (a realistic webhook payload), GITHUB_REF,
//    GITHUB_SHA, GITHUB_HEAD_REF / GITHUB_BASE_REF for pull requests;
//  - GITHUB_ACTIONS=true, CI=true, GITHUB_REPOSITORY=org/app, GITHUB_RUN_ID, GITHUB_WORKSPACE,
//    RUNNER_TEMP, GITHUB_SERVER_URL, GITHUB_API_URL, ACTIONS_ID_TOKEN_REQUEST_URL/TOKEN.
// The host's own GITHUB_*, INPUT_*, STATE_*, ACTIONS_*, RUNNER_*, AWS_* and NODE_OPTIONS never
// leak into the action (when the tests themselves run in GitHub Actions, for instance).
import { spawn } from 'node:child_process';
import { randomUUID, createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');
export const SANDBOX_HINT = 'run `bash scripts/sandbox.sh up` first';

const REPOSITORY = 'org/app';
const DEFAULT_SHA = createHash('sha1').update('lambda-ml-deploy sandbox').digest('hex');
const HOST_PREFIXES = ['GITHUB_', 'INPUT_', 'STATE_', 'ACTIONS_', 'RUNNER_', 'AWS_'];
const HOST_DROP = new Set(['NODE_OPTIONS', 'CI']);

/** The sandbox's variables (.sandbox/env.json); throws with the fix when the sandbox is not up. */
export function readSandboxEnv(root = REPO_ROOT) {
  const file = path.join(root, '.sandbox', 'env.json');
  let text;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new Error(`The local sandbox is not up (no .sandbox/env.json): ${SANDBOX_HINT}.`);
  }
  const env = JSON.parse(text);
  for (const key of ['AWS_ENDPOINT_URL', 'ACTIONS_ID_TOKEN_REQUEST_URL', 'GITHUB_API_URL']) {
    if (!env[key]) throw new Error(`.sandbox/env.json has no ${key}: ${SANDBOX_HINT}.`);
  }
  return env;
}

/**
 * Parses the file-command format of GITHUB_OUTPUT / GITHUB_STATE / GITHUB_ENV as the runner does:
 * `name=value` lines and `name<<DELIMITER` ... `DELIMITER` blocks; later values win.
 */
export function parseFileCommands(text, file = 'file command') {
  const lines = text.split(/\r?\n/);
  const values = {};
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line === '') continue;
    const equals = line.indexOf('=');
    const heredoc = line.indexOf('<<');
    if (equals >= 0 && (heredoc < 0 || equals < heredoc)) {
      const name = line.slice(0, equals);
      if (!name) throw new Error(`${file}: line ${i + 1} has an empty name`);
      values[name] = line.slice(equals + 1);
      continue;
    }
    if (heredoc > 0) {
      const name = line.slice(0, heredoc);
      const delimiter = line.slice(heredoc + 2);
      if (!delimiter) throw new Error(`${file}: line ${i + 1} (${name}) has an empty delimiter`);
      const body = [];
      let closed = false;
      for (i++; i < lines.length; i++) {
        if (lines[i] === delimiter) {
          closed = true;
          break;
        }
        body.push(lines[i]);
      }
      if (!closed)
        throw new Error(`${file}: matching delimiter '${delimiter}' not found for '${name}'`);
      values[name] = body.join('\n');
      continue;
    }
    throw new Error(`${file}: line ${i + 1} is neither name=value nor name<<DELIMITER: ${line}`);
  }
  return values;
}

/** Values the action registered as secrets (`::add-mask::` workflow commands). */
export function parseMasks(log) {
  const masks = [];
  for (const line of log.split(/\r?\n/)) {
    const match = /^::add-mask::(.+)$/.exec(line);
    if (match && match[1].trim() && !masks.includes(match[1])) masks.push(match[1]);
  }
  return masks;
}

/** The log as the runner shows it: add-mask commands dropped, registered secrets replaced by ***. */
export function maskLog(log, masks = parseMasks(log)) {
  const longestFirst = [...masks].sort((a, b) => b.length - a.length);
  return log
    .split(/\r?\n/)
    .filter((line) => !line.startsWith('::add-mask::'))
    .map((line) => longestFirst.reduce((text, secret) => text.split(secret).join('***'), line))
    .join('\n');
}

/** Annotations the action printed (`::error::`, `::warning::`, `::notice::` workflow commands). */
export function parseAnnotations(log) {
  const annotations = [];
  for (const line of log.split(/\r?\n/)) {
    const match = /^::(error|warning|notice)(?: [^:]*)?::(.*)$/.exec(line);
    if (match) {
      annotations.push({
        level: match[1],
        message: match[2].replace(/%0A/g, '\n').replace(/%0D/g, '\r').replace(/%25/g, '%'),
      });
    }
  }
  return annotations;
}

function repositoryPayload() {
  const [owner, name] = REPOSITORY.split('/');
  return {
    id: 2000002,
    node_id: 'R_kgDOAB6EZg',
    name,
    full_name: REPOSITORY,
    private: true,
    owner: { login: owner, id: 1000001, type: 'Organization' },
    html_url: `https://github.com/${REPOSITORY}`,
    default_branch: 'main',
  };
}

const SENDER = { login: 'octocat', id: 583231, type: 'User' };

/** GITHUB_EVENT_NAME, the event payload and the ref/sha variables for an event description. */
export function describeEvent(event = { name: 'push' }, sha = DEFAULT_SHA) {
  const repository = repositoryPayload();
  switch (event.name) {
    case 'push': {
      const ref = event.ref ?? 'refs/heads/main';
      return {
        name: 'push',
        ref,
        sha,
        payload: {
          ref,
          before: createHash('sha1').update(`${sha}^`).digest('hex'),
          after: sha,
          created: false,
          deleted: false,
          forced: false,
          compare: `https://github.com/${REPOSITORY}/compare/${sha.slice(0, 12)}`,
          head_commit: {
            id: sha,
            message: event.message ?? 'Retrain the iris model',
            timestamp: '2024-06-01T12:00:00Z',
            author: { name: 'Octo Cat', email: 'octocat@example.com', username: 'octocat' },
          },
          pusher: { name: 'octocat', email: 'octocat@example.com' },
          repository,
          sender: SENDER,
        },
      };
    }
    case 'pull_request': {
      const number = event.number;
      if (!Number.isInteger(number) || number <= 0)
        throw new Error('pull_request events need a positive `number`');
      const action = event.action ?? 'opened';
      const headRef = event.headRef ?? `feature/pr-${number}`;
      const baseRef = event.baseRef ?? 'main';
      const headSha = createHash('sha1').update(`head ${number} ${sha}`).digest('hex');
      const merged = action === 'closed' ? Boolean(event.merged) : false;
      return {
        name: 'pull_request',
        ref: `refs/pull/${number}/merge`,
        sha,
        headRef,
        baseRef,
        payload: {
          action,
          number,
          pull_request: {
            number,
            state: action === 'closed' ? 'closed' : 'open',
            merged,
            title: event.title ?? `Improve the model (#${number})`,
            html_url: `https://github.com/${REPOSITORY}/pull/${number}`,
            user: SENDER,
            head: { ref: headRef, sha: headSha, repo: repository },
            base: {
              ref: baseRef,
              sha: createHash('sha1').update(`base ${sha}`).digest('hex'),
              repo: repository,
            },
          },
          repository,
          sender: SENDER,
        },
      };
    }
    case 'workflow_dispatch': {
      const ref = event.ref ?? 'refs/heads/main';
      return {
        name: 'workflow_dispatch',
        ref,
        sha,
        payload: {
          inputs: event.inputs ?? {},
          ref,
          repository,
          sender: SENDER,
          workflow: '.github/workflows/rollback.yml',
        },
      };
    }
    default:
      throw new Error(`unsupported event '${event.name}' (push, pull_request, workflow_dispatch)`);
  }
}

/** INPUT_<NAME> as the runner names it: spaces to '_', upper-cased, hyphens kept. */
export function inputVariable(name) {
  return `INPUT_${name.replace(/ /g, '_').toUpperCase()}`;
}

function evaluateDefault(value, context) {
  return String(value).replace(/\$\{\{\s*([^}]*?)\s*\}\}/g, (_, expression) => {
    const match = /^github\.(\w+)$/.exec(expression);
    return match && match[1] in context ? String(context[match[1]]) : '';
  });
}

/** The entries of action.yml's `runs` (main and post), as paths; {} when there is no action.yml. */
export function actionEntries(actionYml) {
  if (!actionYml || !fs.existsSync(actionYml)) return {};
  const runs = parseYaml(fs.readFileSync(actionYml, 'utf8'))?.runs ?? {};
  const dir = path.dirname(actionYml);
  const resolve = (entry) => (typeof entry === 'string' ? path.join(dir, entry) : undefined);
  return { main: resolve(runs.main), post: resolve(runs.post) };
}

/** The defaults of action.yml's inputs, expressions evaluated; {} when there is no action.yml. */
export function actionDefaults(actionYml, context) {
  if (!actionYml || !fs.existsSync(actionYml)) return {};
  const doc = parseYaml(fs.readFileSync(actionYml, 'utf8'));
  const defaults = {};
  for (const [name, spec] of Object.entries(doc?.inputs ?? {})) {
    if (spec && spec.default !== undefined && spec.default !== null)
      defaults[name] = evaluateDefault(spec.default, context);
  }
  return defaults;
}

function hostEnv() {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined || HOST_DROP.has(key) || HOST_PREFIXES.some((p) => key.startsWith(p)))
      continue;
    env[key] = value;
  }
  return env;
}

function stringify(value) {
  if (value === undefined || value === null) return undefined;
  if (Array.isArray(value)) return value.join('\n');
  return String(value);
}

/** Resolves the options of one job (shared by its main and post steps). */
export function prepareJob(options = {}) {
  const sandbox =
    options.sandbox === null ? {} : (options.sandbox ?? readSandboxEnv(options.root ?? REPO_ROOT));
  const root = options.root ?? REPO_ROOT;
  const runnerTemp = options.runnerTemp ?? fs.mkdtempSync(path.join(os.tmpdir(), 'lmd-runner-'));
  const event = describeEvent(options.event, options.sha ?? DEFAULT_SHA);
  const workflowDir = path.join(runnerTemp, '_github_workflow');
  fs.mkdirSync(workflowDir, { recursive: true });
  const eventPath = path.join(workflowDir, 'event.json');
  fs.writeFileSync(eventPath, JSON.stringify(event.payload, null, 2));
  const runId = String(options.runId ?? 4242424242);
  const githubToken = options.githubToken ?? 'ghs_sandboxGitHubToken0000000000000000';
  const workspace = options.workspace ?? root;
  const refName = event.ref.replace(/^refs\/(heads|tags)\//, '');
  const context = {
    token: githubToken,
    repository: REPOSITORY,
    repository_owner: REPOSITORY.split('/')[0],
    sha: event.sha,
    ref: event.ref,
    ref_name: refName,
    event_name: event.name,
    run_id: runId,
    workspace,
    server_url: 'https://github.com',
    api_url: sandbox.GITHUB_API_URL ?? 'https://api.github.com',
    actor: 'octocat',
  };
  const actionYml = options.actionYml ?? path.join(root, 'action.yml');
  const entries = actionEntries(actionYml);
  const inputs = { ...actionDefaults(actionYml, context) };
  for (const [name, value] of Object.entries(options.inputs ?? {})) {
    const text = stringify(value);
    if (text === undefined) delete inputs[name];
    else inputs[name] = text;
  }
  const env = {
    ...hostEnv(),
    ...sandbox,
    CI: 'true',
    GITHUB_ACTIONS: 'true',
    GITHUB_ACTION: '__org_lambda-ml-deploy',
    GITHUB_ACTION_PATH: root,
    GITHUB_ACTION_REPOSITORY: 'org/lambda-ml-deploy',
    GITHUB_ACTOR: 'octocat',
    GITHUB_ACTOR_ID: '583231',
    GITHUB_TRIGGERING_ACTOR: 'octocat',
    GITHUB_EVENT_NAME: event.name,
    GITHUB_EVENT_PATH: eventPath,
    GITHUB_JOB: 'deploy',
    GITHUB_REF: event.ref,
    GITHUB_REF_NAME: event.name === 'pull_request' ? `${event.payload.number}/merge` : refName,
    GITHUB_REF_TYPE: 'branch',
    GITHUB_HEAD_REF: event.headRef ?? '',
    GITHUB_BASE_REF: event.baseRef ?? '',
    GITHUB_REPOSITORY: REPOSITORY,
    GITHUB_REPOSITORY_OWNER: REPOSITORY.split('/')[0],
    GITHUB_REPOSITORY_ID: '2000002',
    GITHUB_RETENTION_DAYS: '90',
    GITHUB_RUN_ID: runId,
    GITHUB_RUN_NUMBER: '7',
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_API_URL: sandbox.GITHUB_API_URL ?? 'https://api.github.com',
    GITHUB_GRAPHQL_URL: `${sandbox.GITHUB_API_URL ?? 'https://api.github.com'}/graphql`,
    GITHUB_SHA: event.sha,
    GITHUB_WORKFLOW: 'deploy',
    GITHUB_WORKFLOW_REF: `${REPOSITORY}/.github/workflows/deploy.yml@${event.ref}`,
    GITHUB_WORKSPACE: workspace,
    RUNNER_TEMP: runnerTemp,
    RUNNER_TOOL_CACHE: path.join(runnerTemp, '_tool'),
    RUNNER_OS: 'Linux',
    RUNNER_ARCH: 'X64',
    RUNNER_NAME: 'sandbox-runner',
    RUNNER_ENVIRONMENT: 'github-hosted',
    ...(options.env ?? {}),
  };
  for (const [name, value] of Object.entries(inputs)) env[inputVariable(name)] = value;
  for (const [key, value] of Object.entries(env)) if (value === undefined) delete env[key];
  return {
    root,
    entry: options.entry ?? entries.main ?? path.join(root, 'dist', 'index.js'),
    postEntry: options.postEntry ?? entries.post,
    runnerTemp,
    event,
    inputs,
    env,
    timeoutMs: options.timeoutMs ?? 15 * 60_000,
  };
}

function stepFiles(runnerTemp) {
  const dir = path.join(runnerTemp, '_runner_file_commands');
  fs.mkdirSync(dir, { recursive: true });
  const id = randomUUID();
  const files = {
    GITHUB_OUTPUT: path.join(dir, `set_output_${id}`),
    GITHUB_STATE: path.join(dir, `save_state_${id}`),
    GITHUB_STEP_SUMMARY: path.join(dir, `step_summary_${id}`),
    GITHUB_ENV: path.join(dir, `set_env_${id}`),
    GITHUB_PATH: path.join(dir, `add_path_${id}`),
  };
  for (const file of Object.values(files)) fs.writeFileSync(file, '');
  return files;
}

function matches(pattern, text) {
  return typeof pattern === 'string' ? text.includes(pattern) : pattern.test(text);
}

/**
 * Starts one step (`node <entry>`) of a prepared job. `step.post` makes it the post step: it runs
 * the post entry, `step.state` becomes STATE_* and `step.exportedEnv` (the main step's GITHUB_ENV)
 * is applied.
 * Returns a handle: `waitForLog(pattern)`, `kill(signal)`, and `done` (the ActionRun).
 */
export function startStep(job, step = {}) {
  const files = stepFiles(job.runnerTemp);
  const env = { ...job.env, ...(step.exportedEnv ?? {}), ...files };
  for (const [name, value] of Object.entries(step.state ?? {})) env[`STATE_${name}`] = value;
  for (const [key, value] of Object.entries(step.env ?? {})) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  const entry = step.post ? job.postEntry : job.entry;
  if (!entry) throw new Error('action.yml declares no `runs.post` entry, so there is no post step');
  if (!fs.existsSync(entry)) {
    throw new Error(
      `${path.relative(job.root, entry)} does not exist: run \`npm run build\` first.`,
    );
  }
  const child = spawn(process.execPath, [entry], {
    cwd: env.GITHUB_WORKSPACE,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  let killed = false;
  let timedOut = false;
  const watchers = [];
  const onLog = step.onLog;
  const check = () => {
    for (const watcher of [...watchers]) {
      if (matches(watcher.pattern, log)) {
        watchers.splice(watchers.indexOf(watcher), 1);
        watcher.resolve();
      }
    }
  };
  const append = (chunk) => {
    const text = chunk.toString('utf8');
    log += text;
    if (onLog) onLog(text);
    check();
  };
  child.stdout.on('data', append);
  child.stderr.on('data', append);
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, job.timeoutMs);

  const done = new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (exitCode, signal) => {
      clearTimeout(timer);
      for (const watcher of watchers.splice(0)) {
        watcher.reject(
          new Error(
            `the step ended (exit ${exitCode ?? signal}) before its log matched ${watcher.pattern}`,
          ),
        );
      }
      try {
        const read = (file) => fs.readFileSync(file, 'utf8');
        resolve({
          entry,
          exitCode,
          signal,
          killed,
          timedOut,
          outputs: parseFileCommands(read(files.GITHUB_OUTPUT), 'GITHUB_OUTPUT'),
          state: parseFileCommands(read(files.GITHUB_STATE), 'GITHUB_STATE'),
          exportedEnv: parseFileCommands(read(files.GITHUB_ENV), 'GITHUB_ENV'),
          summary: read(files.GITHUB_STEP_SUMMARY),
          log,
          masks: parseMasks(log),
          visibleLog: maskLog(log),
          annotations: parseAnnotations(log),
          job,
          files,
        });
      } catch (error) {
        reject(error);
      }
    });
  });

  const handle = {
    child,
    done,
    get log() {
      return log;
    },
    waitForLog(pattern, timeoutMs = job.timeoutMs) {
      if (matches(pattern, log)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const watcher = {
          pattern,
          resolve: () => (clearTimeout(t), resolve()),
          reject: (e) => (clearTimeout(t), reject(e)),
        };
        const t = setTimeout(() => {
          watchers.splice(watchers.indexOf(watcher), 1);
          reject(new Error(`no log line matched ${pattern} within ${timeoutMs} ms`));
        }, timeoutMs);
        watchers.push(watcher);
      });
    },
    kill(signal = 'SIGTERM') {
      killed = true;
      return child.kill(signal);
    },
  };
  if (step.killOn) {
    handle.waitForLog(step.killOn.pattern).then(
      () => handle.kill(step.killOn.signal ?? 'SIGTERM'),
      () => undefined,
    );
  }
  // `done` rejects only on spawn errors; keep an unobserved watcher from crashing the process.
  done.catch(() => undefined);
  return handle;
}

/** Runs the main step of a new job to the end. */
export function runAction(options = {}) {
  const job = prepareJob(options);
  return startStep(job, { killOn: options.killOn, onLog: options.onLog }).done;
}

/** Starts the main step of a new job (for killing it mid-way); `.done` gives the ActionRun. */
export function startAction(options = {}) {
  const job = prepareJob(options);
  return startStep(job, { killOn: options.killOn, onLog: options.onLog });
}

/** Runs the post step after `main`, in the same job: STATE_* from main's GITHUB_STATE. */
export function runPost(main, options = {}) {
  return startStep(main.job, {
    post: true,
    state: main.state,
    exportedEnv: main.exportedEnv,
    env: options.env,
    onLog: options.onLog,
    killOn: options.killOn,
  }).done;
}

/** Main then post, as the runner does at the end of a job (post runs even when main failed). */
export async function runActionWithPost(options = {}) {
  const main = await runAction(options);
  const post = await runPost(main, { onLog: options.onLog });
  return { main, post };
}
