import type { AwsClients } from '../aws/clients.js';
import { runCommand, type CommandRunner } from '../exec.js';
import type { GithubContext } from '../github-context.js';
import { systemClock, type Clock, type Logger } from '../log.js';
import type { FetchLike } from '../report/github-api.js';
import type { JobReport } from '../report/job-report.js';
import type { RunResult } from '../report/outputs.js';
import type { Settings } from '../settings.js';

/** Saved for the post step (core.saveState), which runs even when the job is cancelled. */
export interface StateStore {
  save(name: string, value: string): void;
}

/** Everything a pipeline may use; main.ts builds it, tests build their own. */
export interface RunContext<S extends Settings = Settings> {
  settings: S;
  clients: AwsClients;
  logger: Logger;
  clock: Clock;
  run: CommandRunner;
  github: GithubContext;
  report: JobReport;
  /** Filled in as the run learns; written as the action's outputs when it ends. */
  result: RunResult;
  state: StateStore;
  /** HTTP for the GitHub REST API (PR comments); the global fetch outside tests. */
  fetch: FetchLike;
  /** A private folder for this run's build output, removed by main at the end. */
  workDir: string;
  /**
   * Image mode: where the ECR registry is reached when not at the host ECR names
   * (LAMBDA_ML_DEPLOY_ECR_ENDPOINT, e.g. a local registry standing in for ECR).
   */
  registryEndpoint?: string;
  /**
   * The custom AWS endpoint (AWS_ENDPOINT_URL, a local emulator), when set: function URL requests
   * go there too, with the URL's host in the Host header.
   */
  awsEndpoint?: string;
}

/** What an entry supplies; the rest of a RunContext is the same for the action and the CLI. */
export type RunContextParts<S extends Settings = Settings> = Omit<
  RunContext<S>,
  'clock' | 'run' | 'fetch' | 'registryEndpoint' | 'awsEndpoint'
>;

/**
 * The RunContext main.ts and cli.ts build: the system clock, the command runner, the global
 * fetch, and the endpoints a local emulator sets in the environment.
 */
export function runContext<S extends Settings>(
  parts: RunContextParts<S>,
  env: NodeJS.ProcessEnv,
): RunContext<S> {
  return {
    ...parts,
    clock: systemClock,
    run: runCommand,
    fetch: (url, init) => fetch(url, init),
    registryEndpoint: env.LAMBDA_ML_DEPLOY_ECR_ENDPOINT || undefined,
    ...(env.AWS_ENDPOINT_URL ? { awsEndpoint: env.AWS_ENDPOINT_URL } : {}),
  };
}
