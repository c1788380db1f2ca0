// Types of action-runner.mjs (the runner emulation shared by the e2e helpers and the demo).
import type { ChildProcess } from 'node:child_process';

export declare const REPO_ROOT: string;
export declare const SANDBOX_HINT: string;

/** .sandbox/env.json: flat string variables (AWS_ENDPOINT_URL, SANDBOX_BUCKET, ...). */
export type SandboxEnv = Record<string, string>;

export type EventSpec =
  | { name: 'push'; ref?: string; message?: string }
  | {
      name: 'pull_request';
      number: number;
      action?: 'opened' | 'synchronize' | 'reopened' | 'closed';
      merged?: boolean;
      headRef?: string;
      baseRef?: string;
      title?: string;
    }
  | { name: 'workflow_dispatch'; ref?: string; inputs?: Record<string, string> };

export interface DescribedEvent {
  name: EventSpec['name'];
  ref: string;
  sha: string;
  headRef?: string;
  baseRef?: string;
  payload: Record<string, unknown>;
}

export type InputValue = string | number | boolean | string[] | undefined | null;

export interface JobOptions {
  /** Action inputs by their action.yml names (kebab-case); lists become newline-separated; undefined/null: unset. */
  inputs?: Record<string, InputValue>;
  /** Default: push to refs/heads/main. */
  event?: EventSpec;
  /** Sandbox variables; default: read .sandbox/env.json (throws when the sandbox is not up); null: none. */
  sandbox?: SandboxEnv | null;
  /** Extra variables for the step, applied last (undefined removes one). */
  env?: Record<string, string | undefined>;
  /** The main step's script; default: action.yml's `runs.main` (dist/index.js). */
  entry?: string;
  /** The post step's script; default: action.yml's `runs.post` (dist/post.js). */
  postEntry?: string;
  /** Default: the repository root. */
  workspace?: string;
  /** Default: the repository root (where action.yml and dist/ are). */
  root?: string;
  /** Default: <root>/action.yml (its input defaults are applied like the runner does). */
  actionYml?: string;
  /** Default: a fresh temp folder. */
  runnerTemp?: string;
  sha?: string;
  runId?: string | number;
  /** The value of `${{ github.token }}`. */
  githubToken?: string;
  /** The step is SIGKILLed after this long (default 15 min); the run then has timedOut: true. */
  timeoutMs?: number;
  /** Kill the step with `signal` (default SIGTERM) once the log matches `pattern`. */
  killOn?: { pattern: string | RegExp; signal?: NodeJS.Signals };
  /** Live log chunks (stdout and stderr). */
  onLog?: (chunk: string) => void;
}

export interface PreparedJob {
  root: string;
  entry: string;
  /** undefined when action.yml declares no post step. */
  postEntry: string | undefined;
  runnerTemp: string;
  event: DescribedEvent;
  /** Effective inputs (action.yml defaults + given). */
  inputs: Record<string, string>;
  /** Environment of the steps, without the per-step file-command variables. */
  env: Record<string, string>;
  timeoutMs: number;
}

export interface Annotation {
  level: 'error' | 'warning' | 'notice';
  message: string;
}

export interface ActionRun {
  /** The script the step ran (dist/index.js for the main step, dist/post.js for the post). */
  entry: string;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** kill() was called (or killOn matched). */
  killed: boolean;
  timedOut: boolean;
  /** GITHUB_OUTPUT, parsed. */
  outputs: Record<string, string>;
  /** GITHUB_STATE, parsed (what core.saveState wrote). */
  state: Record<string, string>;
  /** GITHUB_ENV, parsed (what core.exportVariable wrote). */
  exportedEnv: Record<string, string>;
  /** GITHUB_STEP_SUMMARY content (markdown/HTML). */
  summary: string;
  /** stdout + stderr, interleaved as received (raw: secrets appear in ::add-mask:: lines). */
  log: string;
  /** Values registered with ::add-mask:: (core.setSecret). */
  masks: string[];
  /** The log as the runner displays it: add-mask lines dropped, masked values replaced by ***. */
  visibleLog: string;
  annotations: Annotation[];
  job: PreparedJob;
  files: Record<
    'GITHUB_OUTPUT' | 'GITHUB_STATE' | 'GITHUB_STEP_SUMMARY' | 'GITHUB_ENV' | 'GITHUB_PATH',
    string
  >;
}

export interface RunningStep {
  child: ChildProcess;
  done: Promise<ActionRun>;
  readonly log: string;
  /** Resolves once the log so far matches; rejects if the step ends first or after timeoutMs. */
  waitForLog(pattern: string | RegExp, timeoutMs?: number): Promise<void>;
  kill(signal?: NodeJS.Signals): boolean;
}

export interface StepOptions {
  post?: boolean;
  state?: Record<string, string>;
  exportedEnv?: Record<string, string>;
  env?: Record<string, string | undefined>;
  killOn?: { pattern: string | RegExp; signal?: NodeJS.Signals };
  onLog?: (chunk: string) => void;
}

export declare function readSandboxEnv(root?: string): SandboxEnv;
export declare function parseFileCommands(text: string, file?: string): Record<string, string>;
export declare function parseAnnotations(log: string): Annotation[];
export declare function parseMasks(log: string): string[];
export declare function maskLog(log: string, masks?: string[]): string;
export declare function describeEvent(event?: EventSpec, sha?: string): DescribedEvent;
export declare function inputVariable(name: string): string;
export declare function actionEntries(actionYml: string | undefined): {
  main?: string;
  post?: string;
};
export declare function actionDefaults(
  actionYml: string | undefined,
  context: Record<string, string>,
): Record<string, string>;
export declare function prepareJob(options?: JobOptions): PreparedJob;
export declare function startStep(job: PreparedJob, step?: StepOptions): RunningStep;
export declare function runAction(options?: JobOptions): Promise<ActionRun>;
export declare function startAction(options?: JobOptions): RunningStep;
export declare function runPost(
  main: ActionRun,
  options?: Pick<StepOptions, 'env' | 'onLog' | 'killOn'>,
): Promise<ActionRun>;
export declare function runActionWithPost(
  options?: JobOptions,
): Promise<{ main: ActionRun; post: ActionRun }>;
