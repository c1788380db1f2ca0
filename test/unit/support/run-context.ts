import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { ECRClient } from '@aws-sdk/client-ecr';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { STSClient } from '@aws-sdk/client-sts';
import type { AwsClients } from '../../../src/aws/clients.js';
import type { CommandRunner } from '../../../src/exec.js';
import type { GithubContext } from '../../../src/github-context.js';
import { memoryLogger, type Clock } from '../../../src/log.js';
import type { RunContext } from '../../../src/pipelines/context.js';
import type { FetchLike } from '../../../src/report/github-api.js';
import { JobReport } from '../../../src/report/job-report.js';
import { outputsOf, type RunResult } from '../../../src/report/outputs.js';
import type { Settings } from '../../../src/settings.js';

export interface FakeRunOptions<S extends Settings> {
  settings: S;
  /** Workspace and temp folder of the fake runner (a test's temp directory). */
  workspace: string;
  /** The run's private build folder (default: the workspace). */
  workDir?: string;
  /** Fields of the GitHub context that differ from a workflow_dispatch run on org/app. */
  github?: Partial<GithubContext>;
  /** HTTP for the GitHub API (default: any call fails the test). */
  fetch?: FetchLike;
  /** Commands (default: every program is missing, exit 127). */
  run?: CommandRunner;
}

/** No waiting in unit tests: retries and bakes run at once on a clock stuck at 0. */
export const instantClock: Clock = { now: () => 0, sleep: async () => undefined };

/**
 * The RunContext main.ts builds, with in-memory logger, outputs, report and saved state, and real
 * SDK clients (aws-sdk-client-mock intercepts them at the SDK boundary).
 */
export function fakeRunContext<S extends Settings>(options: FakeRunOptions<S>) {
  const logger = memoryLogger();
  const result: RunResult = {};
  /** The outputs main.ts would write from the result, read at the time of the assertion. */
  const outputs = {
    get values() {
      return outputsOf(result);
    },
  };
  const report = new JobReport('lambda-ml-deploy');
  const saved: Record<string, string> = {};
  const region = options.settings.auth.region;
  const github: GithubContext = {
    eventName: 'workflow_dispatch',
    payload: {},
    sha: 'f'.repeat(40),
    repository: 'org/app',
    serverUrl: 'https://github.com',
    apiUrl: 'https://api.github.com',
    runId: '1',
    runUrl: 'https://github.com/org/app/actions/runs/1',
    workspace: options.workspace,
    tempDir: options.workspace,
    ...options.github,
  };
  const clients: AwsClients = {
    lambda: new LambdaClient({ region }),
    s3: new S3Client({ region }),
    sts: new STSClient({ region }),
    cloudwatch: new CloudWatchClient({ region }),
    ecr: new ECRClient({ region }),
  };
  const ctx: RunContext<S> = {
    settings: options.settings,
    clients,
    logger,
    clock: instantClock,
    run: options.run ?? (async () => ({ exitCode: 127, stdout: '', stderr: 'not found' })),
    github,
    report,
    result,
    state: { save: (name, value) => void (saved[name] = value) },
    fetch:
      options.fetch ??
      (async (url) => {
        throw new Error(`unexpected GitHub call in this test: ${url}`);
      }),
    workDir: options.workDir ?? options.workspace,
  };
  return { ctx, logger, outputs, report, saved };
}
