import { errorMessage } from '../errors.js';
import { realSleep, withRetry, type Sleep } from '../retry.js';

/** The part of the Fetch API the client uses; tests pass their own. */
export type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string },
) => Promise<{
  status: number;
  ok: boolean;
  headers: { get(name: string): string | null };
  text(): Promise<string>;
}>;

/** A GitHub REST call that answered with an error status (or could not be made: status 0). */
export class GitHubApiError extends Error {
  override name = 'GitHubApiError';
  constructor(
    readonly status: number,
    readonly method: string,
    readonly path: string,
    readonly detail: string,
  ) {
    super(
      `${method} ${path}: ${status ? `HTTP ${status}` : 'no answer'}${detail ? ` (${detail})` : ''}`,
    );
  }
}

export interface GitHubApiOptions {
  /** GITHUB_API_URL, e.g. https://api.github.com or https://ghe.example.com/api/v3. */
  apiUrl: string;
  token: string;
  fetch?: FetchLike;
  /** Attempts in total for 5xx / 429 / network errors (default 3). */
  attempts?: number;
  sleep?: Sleep;
}

export interface GitHubResponse<T> {
  data: T;
  /** The rel="next" page, when the answer is paginated and there is one. */
  next?: string;
}

export interface GitHubApi {
  /** `pathOrUrl`: a path under apiUrl (/repos/...) or an absolute URL on the same origin (pagination). */
  request<T>(method: string, pathOrUrl: string, body?: unknown): Promise<GitHubResponse<T>>;
}

/** The rel="next" URL of a Link header. Pure. */
export function nextLink(link: string | null | undefined): string | undefined {
  if (!link) return undefined;
  for (const part of link.split(',')) {
    const match = /<([^>]+)>\s*;\s*rel="?([^";]+)"?/.exec(part.trim());
    if (match && match[2].split(/\s+/).includes('next')) return match[1];
  }
  return undefined;
}

const retryable = (error: unknown) =>
  error instanceof GitHubApiError &&
  (error.status === 0 || error.status === 429 || error.status >= 500);

/**
 * A small GitHub REST client over fetch: bearer token, JSON in and out, retries on 5xx / 429 /
 * network errors, and pagination links followed only on the API's own origin (the token is never
 * sent anywhere else).
 */
export function githubApi(options: GitHubApiOptions): GitHubApi {
  const base = options.apiUrl.replace(/\/+$/, '');
  const origin = new URL(base).origin;
  const doFetch: FetchLike = options.fetch ?? ((url, init) => fetch(url, init));
  const headers = {
    Accept: 'application/vnd.github+json',
    Authorization: `Bearer ${options.token}`,
    'X-GitHub-Api-Version': '2022-11-28',
    'User-Agent': 'lambda-ml-deploy',
  };
  return {
    async request<T>(
      method: string,
      pathOrUrl: string,
      body?: unknown,
    ): Promise<GitHubResponse<T>> {
      const url = /^https?:\/\//.test(pathOrUrl) ? pathOrUrl : `${base}${pathOrUrl}`;
      if (new URL(url).origin !== origin)
        throw new GitHubApiError(
          0,
          method,
          pathOrUrl,
          `refusing to send the token to ${new URL(url).origin}`,
        );
      const path = url.slice(origin.length);
      return withRetry(
        async () => {
          let response: Awaited<ReturnType<FetchLike>>;
          try {
            response = await doFetch(url, {
              method,
              headers:
                body === undefined ? headers : { ...headers, 'Content-Type': 'application/json' },
              ...(body === undefined ? {} : { body: JSON.stringify(body) }),
            });
          } catch (error) {
            throw new GitHubApiError(0, method, path, errorMessage(error));
          }
          const text = await response.text();
          if (!response.ok)
            throw new GitHubApiError(response.status, method, path, apiMessage(text));
          const data = (text ? JSON.parse(text) : undefined) as T;
          const next = nextLink(response.headers.get('link'));
          return next ? { data, next } : { data };
        },
        {
          attempts: options.attempts ?? 3,
          baseDelayMs: 1000,
          isRetryable: retryable,
          sleep: options.sleep ?? realSleep,
        },
      );
    },
  };
}

/** Every item of a paginated list (per_page 100, following rel="next"). */
export async function listAll<T>(api: GitHubApi, path: string, maxPages = 50): Promise<T[]> {
  const items: T[] = [];
  let next: string | undefined = `${path}${path.includes('?') ? '&' : '?'}per_page=100`;
  for (let page = 0; next && page < maxPages; page++) {
    const response: GitHubResponse<T[]> = await api.request<T[]>('GET', next);
    items.push(...(response.data ?? []));
    next = response.next;
  }
  return items;
}

function apiMessage(text: string): string {
  try {
    const parsed = JSON.parse(text) as { message?: unknown };
    if (typeof parsed.message === 'string') return parsed.message.split('\n')[0].slice(0, 200);
  } catch {
    // not JSON
  }
  return text.slice(0, 200);
}
