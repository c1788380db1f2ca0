// GitHub's side of a workflow run, for the local sandbox:
//  - the runner's OIDC token endpoint (what @actions/core getIDToken calls):
//      GET <ACTIONS_ID_TOKEN_REQUEST_URL>&audience=<aud> with "Authorization: Bearer <ACTIONS_ID_TOKEN_REQUEST_TOKEN>"
//      -> {"value": "<RS256 JWT with GitHub's claims>"}; a wrong or missing bearer gets 401.
//  - the REST API subset used for PR comments (recorded in memory, with their author):
//      GET/POST   /repos/{owner}/{repo}/issues/{number}/comments
//      GET/PATCH/DELETE /repos/{owner}/{repo}/issues/comments/{id}
//      GET /user
//    As on GitHub, an installation token (ghs_...) writes as github-actions[bot] and gets 403
//    "Resource not accessible by integration" on GET /user; any other token is a user, named by
//    PUT /_sandbox/users ({"<token>": "<login>"}), else `octocat`.
//  - test hooks: GET /_sandbox/health, GET /_sandbox/comments, GET /_sandbox/requests,
//      GET /_sandbox/tokens, PUT /_sandbox/oidc (claim overrides), PUT /_sandbox/users,
//      POST /_sandbox/reset.
// Plain node:http, no dependencies. Listens on 127.0.0.1 only.
// Environment: SANDBOX_OIDC_REQUEST_TOKEN (required), SANDBOX_GITHUB_PORT (0 = any free port),
// SANDBOX_GITHUB_PORT_FILE (written once listening), SANDBOX_REPOSITORY [org/app],
// SANDBOX_REF [refs/heads/main], SANDBOX_SHA, SANDBOX_RUN_ID.
import { createServer } from 'node:http';
import { createHash, generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import { writeFileSync } from 'node:fs';

const requestToken = process.env.SANDBOX_OIDC_REQUEST_TOKEN ?? '';
if (!requestToken) {
  console.error('github-server: SANDBOX_OIDC_REQUEST_TOKEN is required');
  process.exit(2);
}
const base = {
  repository: process.env.SANDBOX_REPOSITORY || 'org/app',
  ref: process.env.SANDBOX_REF || 'refs/heads/main',
  sha:
    process.env.SANDBOX_SHA || createHash('sha1').update('lambda-ml-deploy sandbox').digest('hex'),
  runId: process.env.SANDBOX_RUN_ID || '4242424242',
  serverUrl: 'https://github.com',
};
const ISSUER = 'https://token.actions.githubusercontent.com';
const BOT = {
  login: 'github-actions[bot]',
  id: 41898282,
  node_id: 'MDM6Qm90NDE4OTgyODI=',
  type: 'Bot',
  site_admin: false,
  html_url: 'https://github.com/apps/github-actions',
};

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const kid = createHash('sha256')
  .update(publicKey.export({ type: 'spki', format: 'der' }))
  .digest('hex')
  .slice(0, 40);

const state = freshState();

function freshState() {
  return {
    comments: new Map(),
    nextId: 2000000001,
    requests: [],
    tokens: [],
    oidcOverrides: {},
    users: {},
  };
}

function b64url(data) {
  return Buffer.from(data).toString('base64url');
}

function oidcClaims(audience) {
  const now = Math.floor(Date.now() / 1000);
  const overrides = state.oidcOverrides;
  const repository = overrides.repository ?? base.repository;
  const ref = overrides.ref ?? base.ref;
  const [owner] = repository.split('/');
  const eventName =
    overrides.event_name ?? (ref.startsWith('refs/pull/') ? 'pull_request' : 'push');
  const sub =
    eventName === 'pull_request'
      ? `repo:${repository}:pull_request`
      : `repo:${repository}:ref:${ref}`;
  return {
    jti: randomUUID(),
    sub,
    aud: audience || `https://github.com/${owner}`,
    ref,
    sha: base.sha,
    repository,
    repository_owner: owner,
    repository_owner_id: '1000001',
    repository_id: '2000002',
    repository_visibility: 'private',
    run_id: base.runId,
    run_number: '7',
    run_attempt: '1',
    actor: 'octocat',
    actor_id: '583231',
    workflow: 'deploy',
    workflow_ref: `${repository}/.github/workflows/deploy.yml@${ref}`,
    workflow_sha: base.sha,
    job_workflow_ref: `${repository}/.github/workflows/deploy.yml@${ref}`,
    job_workflow_sha: base.sha,
    event_name: eventName,
    ref_type: 'branch',
    ref_protected: 'false',
    head_ref: '',
    base_ref: '',
    runner_environment: 'github-hosted',
    iss: ISSUER,
    nbf: now - 5,
    iat: now,
    exp: now + 300,
    ...overrides,
  };
}

function signJwt(claims) {
  const header = { typ: 'JWT', alg: 'RS256', x5t: kid, kid };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  const signature = sign('RSA-SHA256', Buffer.from(input), privateKey);
  return `${input}.${b64url(signature)}`;
}

function send(res, status, body, headers = {}) {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'x-github-media-type': 'github.v3; format=json',
    'x-ratelimit-limit': '5000',
    'x-ratelimit-remaining': '4999',
    ...headers,
  });
  res.end(text);
}

function notFound(res) {
  send(res, 404, {
    message: 'Not Found',
    documentation_url: 'https://docs.github.com/rest',
    status: '404',
  });
}

function bearer(req) {
  const match = /^(bearer|token)\s+(.+)$/i.exec(req.headers.authorization ?? '');
  return match ? match[2].trim() : '';
}

async function readJson(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text) return {};
  return JSON.parse(text);
}

/** Who a token acts as: the Actions bot for installation tokens, else a user. */
function identity(token) {
  if (token.startsWith('ghs_')) return BOT;
  const login = state.users[token] ?? 'octocat';
  return {
    login,
    id: 1000 + [...login].reduce((sum, c) => sum + c.charCodeAt(0), 0),
    type: 'User',
    site_admin: false,
    html_url: `https://github.com/${login}`,
  };
}

function commentView(comment) {
  const { owner, repo, issue } = comment;
  const api = `https://api.github.com/repos/${owner}/${repo}`;
  return {
    id: comment.id,
    node_id: `IC_kwDO${Buffer.from(String(comment.id)).toString('base64url')}`,
    url: `${api}/issues/comments/${comment.id}`,
    html_url: `${base.serverUrl}/${owner}/${repo}/pull/${issue}#issuecomment-${comment.id}`,
    issue_url: `${api}/issues/${issue}`,
    body: comment.body,
    user: comment.user,
    created_at: comment.created_at,
    updated_at: comment.updated_at,
    author_association: 'NONE',
    performed_via_github_app: null,
  };
}

function requireAuth(req, res) {
  if (bearer(req)) return true;
  send(res, 401, {
    message: 'Requires authentication',
    documentation_url: 'https://docs.github.com/rest',
    status: '401',
  });
  return false;
}

function paginate(req, res, url, items) {
  const perPage = Math.min(Math.max(Number(url.searchParams.get('per_page') ?? 30) || 30, 1), 100);
  const page = Math.max(Number(url.searchParams.get('page') ?? 1) || 1, 1);
  const last = Math.max(Math.ceil(items.length / perPage), 1);
  const links = [];
  const link = (p, rel) => {
    const next = new URL(url);
    next.searchParams.set('per_page', String(perPage));
    next.searchParams.set('page', String(p));
    links.push(`<http://${req.headers.host}${next.pathname}${next.search}>; rel="${rel}"`);
  };
  if (page < last) {
    link(page + 1, 'next');
    link(last, 'last');
  }
  if (page > 1) {
    link(1, 'first');
    link(page - 1, 'prev');
  }
  const slice = items.slice((page - 1) * perPage, page * perPage);
  send(res, 200, slice, links.length ? { link: links.join(', ') } : {});
}

async function issueComments(req, res, url, owner, repo, issue) {
  if (req.method === 'GET') {
    const items = [...state.comments.values()]
      .filter((c) => c.owner === owner && c.repo === repo && c.issue === issue)
      .map(commentView);
    return paginate(req, res, url, items);
  }
  if (req.method === 'POST') {
    if (!requireAuth(req, res)) return;
    const body = await readJson(req);
    if (typeof body.body !== 'string' || body.body === '') {
      return send(res, 422, {
        message: 'Invalid request.\n\n"body" wasn\'t supplied.',
        status: '422',
      });
    }
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const comment = {
      id: state.nextId++,
      owner,
      repo,
      issue,
      body: body.body,
      user: identity(bearer(req)),
      created_at: now,
      updated_at: now,
    };
    state.comments.set(comment.id, comment);
    return send(res, 201, commentView(comment), { location: commentView(comment).url });
  }
  return send(res, 405, { message: 'Method Not Allowed' });
}

async function singleComment(req, res, owner, repo, id) {
  const comment = state.comments.get(id);
  if (!comment || comment.owner !== owner || comment.repo !== repo) return notFound(res);
  if (req.method === 'GET') return send(res, 200, commentView(comment));
  if (req.method === 'PATCH') {
    if (!requireAuth(req, res)) return;
    const body = await readJson(req);
    if (typeof body.body !== 'string' || body.body === '') {
      return send(res, 422, {
        message: 'Invalid request.\n\n"body" wasn\'t supplied.',
        status: '422',
      });
    }
    comment.body = body.body;
    comment.updated_at = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    return send(res, 200, commentView(comment));
  }
  if (req.method === 'DELETE') {
    if (!requireAuth(req, res)) return;
    state.comments.delete(id);
    res.writeHead(204);
    return res.end();
  }
  return send(res, 405, { message: 'Method Not Allowed' });
}

function idToken(req, res, url) {
  if (req.method !== 'GET') return send(res, 405, { message: 'Method Not Allowed' });
  if (bearer(req) !== requestToken) {
    return send(res, 401, {
      message: 'Unauthorized: the bearer token does not match ACTIONS_ID_TOKEN_REQUEST_TOKEN',
    });
  }
  const audience = url.searchParams.get('audience') ?? '';
  const claims = oidcClaims(audience);
  state.tokens.push({ audience, sub: claims.sub, at: new Date().toISOString() });
  return send(res, 200, { count: 1, value: signJwt(claims) });
}

function sandboxHooks(req, res, url) {
  const path = url.pathname;
  if (path === '/_sandbox/health') return send(res, 200, { ok: true });
  if (path === '/_sandbox/comments' && req.method === 'GET') {
    return send(
      res,
      200,
      [...state.comments.values()].map((c) => ({
        ...commentView(c),
        repository: `${c.owner}/${c.repo}`,
        issue_number: c.issue,
      })),
    );
  }
  if (path === '/_sandbox/requests' && req.method === 'GET') return send(res, 200, state.requests);
  if (path === '/_sandbox/tokens' && req.method === 'GET') return send(res, 200, state.tokens);
  if (path === '/_sandbox/oidc' && req.method === 'PUT') {
    return readJson(req).then((overrides) => {
      state.oidcOverrides = overrides;
      send(res, 200, oidcClaims(''));
    });
  }
  if (path === '/_sandbox/users' && req.method === 'PUT') {
    return readJson(req).then((users) => {
      state.users = { ...state.users, ...users };
      send(res, 200, state.users);
    });
  }
  if (path === '/_sandbox/reset' && req.method === 'POST') {
    Object.assign(state, freshState());
    return send(res, 200, { ok: true });
  }
  return notFound(res);
}

async function route(req, res) {
  const url = new URL(req.url ?? '/', `http://${req.headers.host ?? '127.0.0.1'}`);
  const path = url.pathname.replace(/\/+$/, '') || '/';
  if (!path.startsWith('/_sandbox/'))
    state.requests.push({ method: req.method, path, at: new Date().toISOString() });

  if (path === '/_services/token/idtoken') return idToken(req, res, url);
  if (path === '/.well-known/openid-configuration') {
    return send(res, 200, {
      issuer: ISSUER,
      jwks_uri: `http://${req.headers.host}/.well-known/jwks`,
      id_token_signing_alg_values_supported: ['RS256'],
    });
  }
  if (path === '/.well-known/jwks') {
    return send(res, 200, {
      keys: [{ ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' }],
    });
  }
  if (path.startsWith('/_sandbox/')) return sandboxHooks(req, res, url);

  if (path === '/user' && req.method === 'GET') {
    if (!requireAuth(req, res)) return;
    const user = identity(bearer(req));
    if (user === BOT) {
      return send(res, 403, {
        message: 'Resource not accessible by integration',
        documentation_url: 'https://docs.github.com/rest/users/users#get-the-authenticated-user',
        status: '403',
      });
    }
    return send(res, 200, user);
  }
  let m = /^\/repos\/([^/]+)\/([^/]+)\/issues\/(\d+)\/comments$/.exec(path);
  if (m) return issueComments(req, res, url, m[1], m[2], Number(m[3]));
  m = /^\/repos\/([^/]+)\/([^/]+)\/issues\/comments\/(\d+)$/.exec(path);
  if (m) return singleComment(req, res, m[1], m[2], Number(m[3]));
  return notFound(res);
}

const server = createServer((req, res) => {
  route(req, res).catch((error) => {
    if (error instanceof SyntaxError) return send(res, 400, { message: 'Problems parsing JSON' });
    console.error(error);
    send(res, 500, { message: String(error) });
  });
});

server.listen(Number(process.env.SANDBOX_GITHUB_PORT ?? 0), '127.0.0.1', () => {
  const { port } = server.address();
  if (process.env.SANDBOX_GITHUB_PORT_FILE)
    writeFileSync(process.env.SANDBOX_GITHUB_PORT_FILE, `${port}\n`);
  console.log(`github-server listening on http://127.0.0.1:${port}`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
    setTimeout(() => process.exit(0), 1000).unref();
  });
}
