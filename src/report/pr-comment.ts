import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { SmokeRunResult } from '../release/smoke/smoke-run.js';
import type { Sleep } from '../retry.js';
import type { UrlAuth } from '../settings.js';
import {
  GitHubApiError,
  githubApi,
  listAll,
  type FetchLike,
  type GitHubApi,
} from './github-api.js';
import { escapeCell } from './job-report.js';

/**
 * One sticky comment per pull request and function: found by a hidden marker among the comments
 * the token's own identity wrote, created once and then edited in place on every push (and when
 * the PR closes), never a new comment per push. Another user's comment that quotes the marker is
 * never a candidate, so it is not edited with the bot's token.
 */

/** Who the workflow's GITHUB_TOKEN (an installation token) writes comments as. */
export const ACTIONS_BOT_LOGIN = 'github-actions[bot]';

/** The hidden line that identifies this function's preview comment on a PR. */
export function previewCommentMarker(functionName: string): string {
  const short = functionName.split(':').pop() ?? functionName;
  return `<!-- lambda-ml-deploy:preview:${short} -->`;
}

/** Hidden status line, so a second cleanup can leave the comment as the first one wrote it. */
export const STATUS_MARKER = (status: PreviewStatus) =>
  `<!-- lambda-ml-deploy:status:${status} -->`;

export type PreviewStatus = 'ready' | 'smoke-failed' | 'cleaned-up';

export interface PreviewCommentInfo {
  functionName: string;
  alias: string;
  status: PreviewStatus;
  /** The version the preview alias serves (ready) or the one that failed (smoke-failed). */
  version?: string;
  /** What the alias serves after a failed run ('none' when it does not exist). */
  aliasVersionAfter?: string;
  commit?: string;
  url?: string;
  urlAuth?: UrlAuth;
  /** True when nothing new was published: the alias already served this bundle. */
  unchanged?: boolean;
  smoke?: SmokeRunResult;
  /** Why the preview failed (smoke-failed). */
  reason?: string;
  runUrl?: string;
  /** What a cleanup removed. */
  removed?: { alias: boolean; url: boolean; versions: string[] };
}

/**
 * Text that came from the function (error messages, payloads) shown as plain text: no HTML, no
 * Markdown formatting or links, no @mentions or #references, on one line. Pure.
 */
export function escapeUntrusted(text: string): string {
  return text
    .replace(/\r?\n/g, ' ')
    .replace(/[&<>@#]/g, (c) => ENTITIES[c])
    .replace(/[\\`*_[\]()!~]/g, (c) => `\\${c}`);
}

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '@': '&#64;',
  '#': '&#35;',
};

function cell(text: string): string {
  return escapeCell(text);
}

function urlLine(url: string, auth: UrlAuth | undefined): string {
  if (auth === 'NONE') return `${url} (public)`;
  return `${url} (AWS_IAM: requests must be SigV4-signed for service \`lambda\`, e.g. with \`awscurl\`)`;
}

function smokeTable(smoke: SmokeRunResult): string[] {
  const failed = smoke.results.some((r) => !r.passed);
  const header = failed ? ['case', 'result', 'latency', 'why'] : ['case', 'result', 'latency'];
  const rows = smoke.results.map((r) => {
    const row = [
      r.name,
      r.passed ? '✅ passed' : '❌ failed',
      r.latencyMs === undefined ? '—' : `${Math.round(r.latencyMs)} ms`,
    ];
    if (failed) row.push(r.passed ? '' : escapeUntrusted([...r.reasons].join('; ').slice(0, 300)));
    return row;
  });
  const passed = smoke.results.filter((r) => r.passed).length;
  return [
    `**Smoke tests**: ${passed} of ${smoke.results.length} passed`,
    '',
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((row) => `| ${row.map(cell).join(' | ')} |`),
  ];
}

/** The comment's Markdown. Pure. */
export function renderPreviewComment(info: PreviewCommentInfo): string {
  const fn = info.functionName.split(':').pop() ?? info.functionName;
  const lines = [previewCommentMarker(info.functionName), STATUS_MARKER(info.status)];
  const details: Array<[string, string]> = [];
  switch (info.status) {
    case 'ready':
      lines.push(`### ✅ Preview of \`${fn}\` is ready`, '');
      details.push([
        'Alias',
        `\`${info.alias}\` → version ${info.version ?? '?'}${info.unchanged ? ' (unchanged: already served this bundle)' : ''}`,
      ]);
      break;
    case 'smoke-failed':
      lines.push(
        `### ❌ Preview of \`${fn}\`: smoke tests failed on version ${info.version ?? '?'}`,
        '',
      );
      lines.push(
        `The preview alias was not moved: \`${info.alias}\` ${info.aliasVersionAfter && info.aliasVersionAfter !== 'none' ? `still serves version ${info.aliasVersionAfter}` : 'does not exist yet'}.`,
        '',
      );
      if (info.reason) lines.push(`**Why:** ${escapeUntrusted(info.reason)}`, '');
      details.push(['Failed version', info.version ?? '?']);
      break;
    case 'cleaned-up': {
      lines.push(`### 🧹 Preview of \`${fn}\` cleaned up`, '');
      const removed = info.removed;
      const parts = [
        removed?.alias ? `alias \`${info.alias}\`` : undefined,
        removed?.url ? 'its function URL' : undefined,
        removed && removed.versions.length > 0
          ? `version${removed.versions.length > 1 ? 's' : ''} ${removed.versions.join(', ')}`
          : undefined,
      ].filter(Boolean);
      lines.push(
        parts.length > 0
          ? `The pull request was closed: ${parts.join(', ')} deleted.`
          : `The pull request was closed: nothing was left to delete (no alias \`${info.alias}\`).`,
        '',
      );
      break;
    }
  }
  if (info.commit) details.push(['Commit', `\`${info.commit.slice(0, 12)}\``]);
  if (info.url && info.status !== 'cleaned-up')
    details.push(['URL', urlLine(info.url, info.urlAuth)]);
  if (info.runUrl) details.push(['Run', `[workflow run](${info.runUrl})`]);
  if (details.length > 0) {
    lines.push('| | |', '| --- | --- |', ...details.map(([k, v]) => `| ${k} | ${cell(v)} |`), '');
  }
  if (info.smoke && info.status !== 'cleaned-up') lines.push(...smokeTable(info.smoke), '');
  lines.push(
    info.status === 'cleaned-up'
      ? '<sub>lambda-ml-deploy</sub>'
      : '<sub>lambda-ml-deploy updates this comment on every push and cleans the preview up when the pull request closes.</sub>',
  );
  return lines.join('\n');
}

interface IssueComment {
  id: number;
  body?: string;
  html_url?: string;
  user?: { login?: string } | null;
}

/**
 * The login comments made with this token carry. GET /user answers for a personal or OAuth
 * token; an installation token (the workflow's GITHUB_TOKEN) gets 403 "Resource not accessible
 * by integration" there, and its comments are authored by github-actions[bot].
 */
export async function tokenLogin(api: GitHubApi): Promise<string> {
  try {
    const { data } = await api.request<{ login?: unknown }>('GET', '/user');
    if (typeof data?.login === 'string' && data.login) return data.login;
  } catch (error) {
    if (error instanceof GitHubApiError && error.status === 403) return ACTIONS_BOT_LOGIN;
    throw error;
  }
  throw new GitHubApiError(200, 'GET', '/user', 'the answer names no login');
}

export interface StickyRequest {
  /** owner/repo */
  repository: string;
  issueNumber: number;
  marker: string;
  /** The login the token writes as (tokenLogin): only its comments are candidates. */
  author: string;
  body: string;
  /** false: only update an existing comment (e.g. on cleanup); default true. */
  createIfMissing?: boolean;
  /** Leave an existing comment alone when this says so (e.g. it already says "cleaned up"). */
  keep?: (existingBody: string) => boolean;
}

export interface StickyResult {
  action: 'created' | 'updated' | 'unchanged' | 'none';
  id?: number;
  htmlUrl?: string;
}

/** The first comment by `author` whose body contains `marker` (every page is read). */
export async function findStickyComment(
  api: GitHubApi,
  repository: string,
  issueNumber: number,
  marker: string,
  author: string,
): Promise<IssueComment | undefined> {
  const comments = await listAll<IssueComment>(
    api,
    `/repos/${repository}/issues/${issueNumber}/comments`,
  );
  const mine = (c: IssueComment) => c.user?.login?.toLowerCase() === author.toLowerCase();
  return comments.find((c) => typeof c.body === 'string' && c.body.includes(marker) && mine(c));
}

/** Creates the sticky comment, or edits the one carrying the marker in place. */
export async function upsertStickyComment(
  api: GitHubApi,
  request: StickyRequest,
): Promise<StickyResult> {
  const body = request.body.includes(request.marker)
    ? request.body
    : `${request.marker}\n${request.body}`;
  const existing = await findStickyComment(
    api,
    request.repository,
    request.issueNumber,
    request.marker,
    request.author,
  );
  if (existing) {
    const found = { id: existing.id, ...(existing.html_url ? { htmlUrl: existing.html_url } : {}) };
    if (existing.body === body || request.keep?.(existing.body ?? ''))
      return { action: 'unchanged', ...found };
    const { data } = await api.request<IssueComment>(
      'PATCH',
      `/repos/${request.repository}/issues/comments/${existing.id}`,
      { body },
    );
    return {
      action: 'updated',
      id: data?.id ?? existing.id,
      ...(data?.html_url
        ? { htmlUrl: data.html_url }
        : found.htmlUrl
          ? { htmlUrl: found.htmlUrl }
          : {}),
    };
  }
  if (request.createIfMissing === false) return { action: 'none' };
  const { data } = await api.request<IssueComment>(
    'POST',
    `/repos/${request.repository}/issues/${request.issueNumber}/comments`,
    { body },
  );
  return { action: 'created', id: data?.id, ...(data?.html_url ? { htmlUrl: data.html_url } : {}) };
}

export interface PreviewCommentOptions {
  token?: string;
  apiUrl: string;
  /** owner/repo (GITHUB_REPOSITORY). */
  repository: string;
  prNumber: number;
  info: PreviewCommentInfo;
  logger: Logger;
  createIfMissing?: boolean;
  fetch?: FetchLike;
  sleep?: Sleep;
}

/** What went wrong with a comment call, and what to do about it. Pure. */
export function commentFailureHint(error: unknown): string {
  if (error instanceof GitHubApiError) {
    if (error.status === 401)
      return 'the github-token input was rejected (HTTP 401); pass a valid token, e.g. `${{ github.token }}`';
    if (error.status === 403 || error.status === 404) {
      return (
        `HTTP ${error.status}${error.detail ? `: ${error.detail}` : ''}. The token needs \`pull-requests: write\`: add ` +
        '`permissions: { pull-requests: write }` to the job (pull requests from forks only get a read-only token)'
      );
    }
    return error.message;
  }
  return errorMessage(error);
}

/**
 * Creates or updates the preview comment. Never throws: a comment that cannot be written is a
 * warning, not a failed preview. No token (or no repository): skipped with a notice.
 */
export async function publishPreviewComment(
  options: PreviewCommentOptions,
): Promise<StickyResult | undefined> {
  const { logger, info } = options;
  if (!options.token) {
    logger.notice(
      'No github-token input: the preview PR comment is skipped (the default `${{ github.token }}` with `pull-requests: write` enables it).',
    );
    return undefined;
  }
  if (!/^[^/\s]+\/[^/\s]+$/.test(options.repository)) {
    logger.notice('GITHUB_REPOSITORY is not set: the preview PR comment is skipped.');
    return undefined;
  }
  const marker = previewCommentMarker(info.functionName);
  try {
    const api = githubApi({
      apiUrl: options.apiUrl,
      token: options.token,
      ...(options.fetch ? { fetch: options.fetch } : {}),
      ...(options.sleep ? { sleep: options.sleep } : {}),
    });
    const result = await upsertStickyComment(api, {
      repository: options.repository,
      issueNumber: options.prNumber,
      marker,
      author: await tokenLogin(api),
      body: renderPreviewComment(info),
      createIfMissing: options.createIfMissing ?? true,
      ...(info.status === 'cleaned-up'
        ? { keep: (body: string) => body.includes(STATUS_MARKER('cleaned-up')) }
        : {}),
    });
    const where = result.htmlUrl ? ` (${result.htmlUrl})` : '';
    if (result.action === 'none')
      logger.info(`No preview comment on PR #${options.prNumber} to update.`);
    else logger.info(`Preview comment on PR #${options.prNumber} ${result.action}${where}.`);
    return result;
  } catch (error) {
    logger.warning(
      `Could not write the preview comment on PR #${options.prNumber}: ${commentFailureHint(error)}. The preview itself is not affected.`,
    );
    return undefined;
  }
}
