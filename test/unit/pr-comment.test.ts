import { memoryLogger } from '../../src/log.js';
import type { SmokeRunResult } from '../../src/release/smoke/smoke-run.js';
import { githubApi, listAll, nextLink, type FetchLike } from '../../src/report/github-api.js';
import {
  findStickyComment,
  previewCommentMarker,
  publishPreviewComment,
  renderPreviewComment,
  STATUS_MARKER,
  upsertStickyComment,
  type PreviewCommentInfo,
} from '../../src/report/pr-comment.js';

const API = 'https://api.github.test';
const BOT = 'github-actions[bot]';
const TOKEN = 'ghs_secret_token_value';

interface Call {
  method: string;
  url: string;
  auth?: string;
  body?: unknown;
}

/** A fake of the GitHub REST subset: issue comments, with per_page/page pagination and Link headers. */
function fakeGithub(
  options: {
    perPageMax?: number;
    failWith?: { status: number; message: string; on?: string };
    /** Personal tokens and the login GET /user answers for them. */
    users?: Record<string, string>;
  } = {},
) {
  const comments: Array<{ id: number; issue: number; body: string; user?: string }> = [];
  const calls: Call[] = [];
  let nextId = 100;
  /** Installation tokens (ghs_) write as the Actions bot and get 403 on GET /user, as on GitHub. */
  const loginOf = (auth: string | undefined) => {
    const token = (auth ?? '').replace(/^Bearer /, '');
    return token.startsWith('ghs_') ? BOT : (options.users?.[token] ?? 'someone');
  };
  const respond = (status: number, body: unknown, headers: Record<string, string> = {}) => ({
    status,
    ok: status >= 200 && status < 300,
    headers: { get: (name: string) => headers[name.toLowerCase()] ?? null },
    text: async () => (body === undefined ? '' : JSON.stringify(body)),
  });
  const fetch: FetchLike = async (url, init) => {
    const body = init.body ? (JSON.parse(init.body) as unknown) : undefined;
    calls.push({
      method: init.method,
      url,
      auth: init.headers.Authorization,
      ...(body !== undefined ? { body } : {}),
    });
    if (options.failWith && (!options.failWith.on || options.failWith.on === init.method)) {
      return respond(options.failWith.status, { message: options.failWith.message });
    }
    const u = new URL(url);
    if (u.pathname === '/user' && init.method === 'GET') {
      const login = loginOf(init.headers.Authorization);
      return login === BOT
        ? respond(403, { message: 'Resource not accessible by integration' })
        : respond(200, { login, type: 'User' });
    }
    let m = /^\/repos\/org\/app\/issues\/(\d+)\/comments$/.exec(u.pathname);
    if (m && init.method === 'GET') {
      const issue = Number(m[1]);
      const perPage = Math.min(
        Number(u.searchParams.get('per_page') ?? 30),
        options.perPageMax ?? 100,
      );
      const page = Number(u.searchParams.get('page') ?? 1);
      const all = comments.filter((c) => c.issue === issue);
      const slice = all.slice((page - 1) * perPage, page * perPage).map((c) => ({
        id: c.id,
        body: c.body,
        user: { login: c.user ?? BOT },
        html_url: `https://github.test/org/app/pull/${issue}#issuecomment-${c.id}`,
      }));
      const headers: Record<string, string> = {};
      if (page * perPage < all.length)
        headers.link = `<${API}${u.pathname}?per_page=${perPage}&page=${page + 1}>; rel="next", <${API}${u.pathname}?page=99>; rel="last"`;
      return respond(200, slice, headers);
    }
    if (m && init.method === 'POST') {
      const comment = {
        id: nextId++,
        issue: Number(m[1]),
        body: (body as { body: string }).body,
        user: loginOf(init.headers.Authorization),
      };
      comments.push(comment);
      return respond(201, {
        id: comment.id,
        body: comment.body,
        html_url: `https://github.test/c/${comment.id}`,
      });
    }
    m = /^\/repos\/org\/app\/issues\/comments\/(\d+)$/.exec(u.pathname);
    if (m && init.method === 'PATCH') {
      const comment = comments.find((c) => c.id === Number(m![1]));
      if (!comment) return respond(404, { message: 'Not Found' });
      comment.body = (body as { body: string }).body;
      return respond(200, {
        id: comment.id,
        body: comment.body,
        html_url: `https://github.test/c/${comment.id}`,
      });
    }
    return respond(404, { message: 'Not Found' });
  };
  return { fetch, comments, calls };
}

const smoke: SmokeRunResult = {
  passed: true,
  results: [
    { name: 'virginica', passed: true, latencyMs: 123.4, reasons: [] },
    { name: 'bad | input', passed: true, latencyMs: 80, reasons: [] },
  ],
};
const failedSmoke: SmokeRunResult = {
  passed: false,
  results: [
    {
      name: 'virginica',
      passed: false,
      latencyMs: 90,
      reasons: ['payload.species: expected "virginica", got "setosa"'],
    },
    { name: 'setosa', passed: true, latencyMs: 70, reasons: [] },
  ],
};
const ready: PreviewCommentInfo = {
  functionName: 'iris',
  alias: 'pr-7',
  status: 'ready',
  version: '5',
  commit: '0123456789abcdef0123',
  url: 'https://abc.lambda-url.us-east-1.on.aws/',
  urlAuth: 'AWS_IAM',
  smoke,
  runUrl: 'https://github.com/org/app/actions/runs/1',
};

describe('renderPreviewComment', () => {
  test('ready: marker, version, commit, URL, smoke table with latency', () => {
    const body = renderPreviewComment(ready);
    expect(body.split('\n')[0]).toBe('<!-- lambda-ml-deploy:preview:iris -->');
    expect(body).toContain(STATUS_MARKER('ready'));
    expect(body).toContain('`pr-7` → version 5');
    expect(body).toContain('`0123456789ab`');
    expect(body).toContain('https://abc.lambda-url.us-east-1.on.aws/ (AWS_IAM');
    expect(body).toContain('| case | result | latency |');
    expect(body).toContain('| virginica | ✅ passed | 123 ms |');
    expect(body).toContain('| bad \\| input | ✅ passed | 80 ms |');
    expect(body).toContain('2 of 2 passed');
  });

  test('smoke failed: says the alias did not move and why, with a why column', () => {
    const body = renderPreviewComment({
      ...ready,
      status: 'smoke-failed',
      version: '6',
      aliasVersionAfter: '5',
      smoke: failedSmoke,
      reason: "1 of 2 smoke cases failed: 'virginica'",
    });
    expect(body).toContain('smoke tests failed on version 6');
    expect(body).toContain('`pr-7` still serves version 5');
    expect(body).toContain("**Why:** 1 of 2 smoke cases failed: 'virginica'");
    expect(body).toContain('| case | result | latency | why |');
    expect(body).toContain(
      '| virginica | ❌ failed | 90 ms | payload.species: expected "virginica", got "setosa" |',
    );
    expect(
      renderPreviewComment({ ...ready, status: 'smoke-failed', aliasVersionAfter: 'none' }),
    ).toContain('does not exist yet');
  });

  test('function output in the Why line and the why column is plain text (no HTML, links or mentions)', () => {
    const hostile =
      'got "<img src=x onerror=alert(1)>" **[click](https://evil.example)** @org/team #12\n### Approved';
    const body = renderPreviewComment({
      ...ready,
      status: 'smoke-failed',
      version: '6',
      aliasVersionAfter: '5',
      smoke: {
        passed: false,
        results: [{ name: 'virginica', passed: false, latencyMs: 9, reasons: [hostile] }],
      },
      reason: `1 of 1 smoke cases failed: 'virginica' (${hostile})`,
    });
    const why = body.split('\n').find((line) => line.startsWith('**Why:**'))!;
    expect(why).toContain('&lt;img src=x onerror=alert\\(1\\)&gt;');
    expect(why).toContain('\\*\\*\\[click\\]\\(https://evil.example\\)\\*\\*');
    expect(why).toContain('&#64;org/team &#35;12 &#35;&#35;&#35; Approved');
    for (const raw of ['<img', '@org', '\n### Approved']) expect(body).not.toContain(raw);
    const row = body.split('\n').find((line) => line.startsWith('| virginica |'))!;
    expect(row).toContain('&lt;img');
    for (const line of [why, row]) expect(line).not.toContain('](');
  });

  test('cleaned up: lists what was deleted; no URL or smoke table', () => {
    const body = renderPreviewComment({
      ...ready,
      status: 'cleaned-up',
      removed: { alias: true, url: true, versions: ['5', '6'] },
    });
    expect(body).toContain(STATUS_MARKER('cleaned-up'));
    expect(body).toContain('alias `pr-7`, its function URL, versions 5, 6 deleted');
    expect(body).not.toContain('lambda-url');
    expect(body).not.toContain('| case |');
    expect(
      renderPreviewComment({
        ...ready,
        status: 'cleaned-up',
        removed: { alias: false, url: false, versions: [] },
      }),
    ).toContain('nothing was left to delete');
  });

  test('marker uses the short name of a function ARN', () => {
    expect(previewCommentMarker('arn:aws:lambda:us-east-1:123456789012:function:iris')).toBe(
      '<!-- lambda-ml-deploy:preview:iris -->',
    );
  });
});

describe('sticky comment', () => {
  const marker = previewCommentMarker('iris');

  test('creates once, then finds it on a later page and edits it in place', async () => {
    const gh = fakeGithub({ perPageMax: 2 });
    // Other people's comments first, so ours ends up past the first page.
    for (let i = 0; i < 3; i++) gh.comments.push({ id: i + 1, issue: 7, body: `review ${i}` });
    gh.comments.push({ id: 50, issue: 8, body: `${marker}\nanother PR` });
    const api = githubApi({ apiUrl: API, token: TOKEN, fetch: gh.fetch });

    const first = await upsertStickyComment(api, {
      repository: 'org/app',
      issueNumber: 7,
      marker,
      author: BOT,
      body: `${marker}\none`,
    });
    expect(first.action).toBe('created');
    gh.comments.push({ id: 60, issue: 7, body: 'later review' });
    const second = await upsertStickyComment(api, {
      repository: 'org/app',
      issueNumber: 7,
      marker,
      author: BOT,
      body: `${marker}\ntwo`,
    });
    expect(second).toMatchObject({ action: 'updated', id: first.id });
    expect(gh.comments.filter((c) => c.issue === 7 && c.body.includes(marker))).toEqual([
      { id: first.id, issue: 7, body: `${marker}\ntwo`, user: BOT },
    ]);
    expect(gh.calls.filter((c) => c.method === 'PATCH').map((c) => c.url)).toEqual([
      `${API}/repos/org/app/issues/comments/${first.id}`,
    ]);
    expect(gh.calls.every((c) => c.auth === `Bearer ${TOKEN}`)).toBe(true);
    // Pagination was followed: more than one GET for the second lookup.
    expect(
      gh.calls.filter((c) => c.method === 'GET' && c.url.includes('page=2')).length,
    ).toBeGreaterThan(0);
  });

  test('the same body again: no PATCH', async () => {
    const gh = fakeGithub();
    gh.comments.push({ id: 9, issue: 7, body: `${marker}\nsame` });
    const api = githubApi({ apiUrl: API, token: TOKEN, fetch: gh.fetch });
    expect(
      (
        await upsertStickyComment(api, {
          repository: 'org/app',
          issueNumber: 7,
          marker,
          author: BOT,
          body: `${marker}\nsame`,
        })
      ).action,
    ).toBe('unchanged');
    expect(gh.calls.some((c) => c.method === 'PATCH')).toBe(false);
  });

  test('createIfMissing false: nothing is posted', async () => {
    const gh = fakeGithub();
    const api = githubApi({ apiUrl: API, token: TOKEN, fetch: gh.fetch });
    expect(
      (
        await upsertStickyComment(api, {
          repository: 'org/app',
          issueNumber: 7,
          marker,
          author: BOT,
          body: 'x',
          createIfMissing: false,
        })
      ).action,
    ).toBe('none');
    expect(gh.comments).toEqual([]);
  });

  test('findStickyComment ignores comments without the marker', async () => {
    const gh = fakeGithub();
    gh.comments.push({ id: 1, issue: 7, body: 'lambda-ml-deploy preview mentioned in prose' });
    const api = githubApi({ apiUrl: API, token: TOKEN, fetch: gh.fetch });
    expect(await findStickyComment(api, 'org/app', 7, marker, BOT)).toBeUndefined();
  });

  test("another user's comment quoting the marker is never a candidate: the bot's own is edited", async () => {
    const gh = fakeGithub();
    const quoted = `> ${marker}\n> the preview is broken, see above`;
    gh.comments.push({ id: 1, issue: 7, body: quoted, user: 'mallory' });
    gh.comments.push({ id: 2, issue: 7, body: `${marker}\nold`, user: BOT });
    const api = githubApi({ apiUrl: API, token: TOKEN, fetch: gh.fetch });
    const result = await upsertStickyComment(api, {
      repository: 'org/app',
      issueNumber: 7,
      marker,
      author: BOT,
      body: `${marker}\nnew`,
    });
    expect(result).toMatchObject({ action: 'updated', id: 2 });
    expect(gh.comments.find((c) => c.id === 1)!.body).toBe(quoted);
    expect(gh.comments.find((c) => c.id === 2)!.body).toBe(`${marker}\nnew`);
  });
});

describe('publishPreviewComment', () => {
  const base = { apiUrl: API, repository: 'org/app', prNumber: 7, info: ready };

  test('no token: skipped with a notice, no call', async () => {
    const gh = fakeGithub();
    const logger = memoryLogger();
    expect(await publishPreviewComment({ ...base, logger, fetch: gh.fetch })).toBeUndefined();
    expect(gh.calls).toEqual([]);
    expect(logger.lines.join('\n')).toMatch(/notice: No github-token input/);
  });

  test('403: a warning that names pull-requests: write, not an error; the token is not logged', async () => {
    const gh = fakeGithub({
      failWith: { status: 403, message: 'Resource not accessible by integration', on: 'POST' },
    });
    const logger = memoryLogger();
    expect(
      await publishPreviewComment({ ...base, token: TOKEN, logger, fetch: gh.fetch }),
    ).toBeUndefined();
    const log = logger.lines.join('\n');
    expect(log).toContain('warning: Could not write the preview comment on PR #7');
    expect(log).toContain('Resource not accessible by integration');
    expect(log).toContain('pull-requests: write');
    expect(log).not.toContain(TOKEN);
  });

  test('5xx is retried, then succeeds', async () => {
    const gh = fakeGithub();
    let failures = 1;
    const flaky: FetchLike = async (url, init) => {
      if (failures-- > 0)
        return {
          status: 502,
          ok: false,
          headers: { get: () => null },
          text: async () => '{"message":"Bad Gateway"}',
        };
      return gh.fetch(url, init);
    };
    const sleeps: number[] = [];
    const result = await publishPreviewComment({
      ...base,
      token: TOKEN,
      logger: memoryLogger(),
      fetch: flaky,
      sleep: async (ms) => void sleeps.push(ms),
    });
    expect(result?.action).toBe('created');
    expect(sleeps).toHaveLength(1);
  });

  test('a second cleanup leaves the cleaned-up comment as it is', async () => {
    const gh = fakeGithub();
    const logger = memoryLogger();
    const cleaned = { ...base, token: TOKEN, logger, fetch: gh.fetch, createIfMissing: false };
    await publishPreviewComment({ ...base, token: TOKEN, logger, fetch: gh.fetch });
    const first = await publishPreviewComment({
      ...cleaned,
      info: {
        ...ready,
        status: 'cleaned-up',
        removed: { alias: true, url: true, versions: ['5'] },
      },
    });
    expect(first?.action).toBe('updated');
    const second = await publishPreviewComment({
      ...cleaned,
      info: { ...ready, status: 'cleaned-up', removed: { alias: false, url: false, versions: [] } },
    });
    expect(second?.action).toBe('unchanged');
    expect(gh.comments).toHaveLength(1);
    expect(gh.comments[0]!.body).toContain('version 5 deleted');
  });
});

describe('publishPreviewComment: whose comments are candidates', () => {
  const base = { apiUrl: API, repository: 'org/app', prNumber: 7, info: ready };
  const marker = previewCommentMarker('iris');

  test('GITHUB_TOKEN (403 on GET /user): only github-actions[bot] comments; a quoted marker is left alone', async () => {
    const gh = fakeGithub();
    gh.comments.push({ id: 1, issue: 7, body: `${marker}\nfake preview`, user: 'mallory' });
    const result = await publishPreviewComment({
      ...base,
      token: TOKEN,
      logger: memoryLogger(),
      fetch: gh.fetch,
    });
    expect(result?.action).toBe('created');
    expect(gh.comments.find((c) => c.id === 1)!.body).toBe(`${marker}\nfake preview`);
    expect(gh.comments.filter((c) => c.user === BOT)).toHaveLength(1);
    expect(gh.calls.some((c) => c.method === 'PATCH')).toBe(false);
  });

  test("a personal token: the login GET /user names is the author; the bot's comments are not its own", async () => {
    const gh = fakeGithub({ users: { ghp_deploy: 'deploy-bot' } });
    gh.comments.push({ id: 1, issue: 7, body: `${marker}\nby the Actions bot`, user: BOT });
    gh.comments.push({ id: 2, issue: 7, body: `${marker}\nold`, user: 'Deploy-Bot' });
    const result = await publishPreviewComment({
      ...base,
      token: 'ghp_deploy',
      logger: memoryLogger(),
      fetch: gh.fetch,
    });
    expect(result).toMatchObject({ action: 'updated', id: 2 });
    expect(gh.comments.find((c) => c.id === 1)!.body).toBe(`${marker}\nby the Actions bot`);
  });
});

describe('github api', () => {
  test('nextLink reads rel="next" only', () => {
    expect(nextLink('<https://x/a?page=2>; rel="next", <https://x/a?page=5>; rel="last"')).toBe(
      'https://x/a?page=2',
    );
    expect(nextLink('<https://x/a?page=1>; rel="prev"')).toBeUndefined();
    expect(nextLink(null)).toBeUndefined();
  });

  test('never follows a pagination link to another origin with the token', async () => {
    const calls: string[] = [];
    const fetch: FetchLike = async (url) => {
      calls.push(url);
      return {
        status: 200,
        ok: true,
        headers: {
          get: (n) => (n === 'link' ? '<https://evil.test/steal?page=2>; rel="next"' : null),
        },
        text: async () => '[]',
      };
    };
    const api = githubApi({ apiUrl: API, token: TOKEN, fetch });
    await expect(listAll(api, '/repos/org/app/issues/7/comments')).rejects.toThrow(
      /refusing to send the token/,
    );
    expect(calls).toEqual([`${API}/repos/org/app/issues/7/comments?per_page=100`]);
  });
});
