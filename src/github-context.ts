import * as fs from 'node:fs';
import type { EventContext } from './settings.js';

/** What the runner tells us about this run, read once from the environment. */
export interface GithubContext extends EventContext {
  sha: string;
  repository: string;
  serverUrl: string;
  apiUrl: string;
  runId: string;
  runUrl: string;
  workspace: string;
  tempDir: string;
}

export function readGithubContext(env: NodeJS.ProcessEnv): GithubContext {
  const eventName = env.GITHUB_EVENT_NAME ?? '';
  let payload: Record<string, unknown> = {};
  const eventPath = env.GITHUB_EVENT_PATH;
  if (eventPath && fs.existsSync(eventPath)) {
    try {
      payload = JSON.parse(fs.readFileSync(eventPath, 'utf8')) as Record<string, unknown>;
    } catch {
      payload = {};
    }
  }
  const serverUrl = env.GITHUB_SERVER_URL ?? 'https://github.com';
  const repository = env.GITHUB_REPOSITORY ?? '';
  const runId = env.GITHUB_RUN_ID ?? '';
  return {
    eventName,
    payload,
    sha: env.GITHUB_SHA ?? '',
    repository,
    serverUrl,
    apiUrl: env.GITHUB_API_URL ?? 'https://api.github.com',
    runId,
    runUrl: repository && runId ? `${serverUrl}/${repository}/actions/runs/${runId}` : '',
    workspace: env.GITHUB_WORKSPACE ?? process.cwd(),
    tempDir: env.RUNNER_TEMP ?? (env.TMPDIR || '/tmp'),
  };
}
