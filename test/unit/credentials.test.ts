import { jest } from '@jest/globals';
import {
  AssumeRoleWithWebIdentityCommand,
  STSClient,
  STSServiceException,
} from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { describeClaims, resolveCredentials } from '../../src/aws/credentials.js';
import { memoryLogger } from '../../src/log.js';
import type { AuthSettings } from '../../src/settings.js';

const sts = mockClient(STSClient);
const client = new STSClient({ region: 'us-east-1' });

const jwt = [
  Buffer.from('{"alg":"RS256"}').toString('base64url'),
  Buffer.from(
    JSON.stringify({ sub: 'repo:org/app:ref:refs/heads/main', aud: 'sts.amazonaws.com' }),
  ).toString('base64url'),
  'signature',
].join('.');

const auth: AuthSettings = {
  region: 'us-east-1',
  roleToAssume: 'arn:aws:iam::123456789012:role/github-deploy',
  audience: 'sts.amazonaws.com',
  roleSessionName: 'deploy-session',
  roleDurationSeconds: 1800,
};
const oidcEnv = {
  ACTIONS_ID_TOKEN_REQUEST_URL: 'http://127.0.0.1/token',
  ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'req-token',
};
const credentials = {
  AccessKeyId: 'ASIAEXAMPLE',
  SecretAccessKey: 'secret-key',
  SessionToken: 'session-token',
  Expiration: new Date('2030-01-01'),
};

function throttled(): Error {
  return new STSServiceException({
    name: 'Throttling',
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
    message: 'Rate exceeded',
  });
}
function denied(): Error {
  return new STSServiceException({
    name: 'AccessDenied',
    $fault: 'client',
    $metadata: { httpStatusCode: 403 },
    message: 'Not authorized to perform sts:AssumeRoleWithWebIdentity',
  });
}

function deps(overrides: Partial<Parameters<typeof resolveCredentials>[1]> = {}) {
  const masked: string[] = [];
  const sleeps: number[] = [];
  const getIDToken = jest.fn(async () => jwt);
  const logger = memoryLogger();
  return {
    masked,
    sleeps,
    getIDToken,
    logger,
    deps: {
      getIDToken,
      setSecret: (value: string) => void masked.push(value),
      sts: client,
      env: oidcEnv,
      logger,
      sleep: async (ms: number) => void sleeps.push(ms),
      ...overrides,
    },
  };
}

beforeEach(() => sts.reset());

describe('resolveCredentials with role-to-assume (GitHub OIDC)', () => {
  it('sends the token, role, session name and duration, and masks all three secrets', async () => {
    sts.on(AssumeRoleWithWebIdentityCommand).resolves({
      Credentials: credentials,
      AssumedRoleUser: {
        Arn: 'arn:aws:sts::123456789012:assumed-role/github-deploy/deploy-session',
        AssumedRoleId: 'x',
      },
    });
    const t = deps();
    const resolved = await resolveCredentials(auth, t.deps);

    expect(t.getIDToken).toHaveBeenCalledWith('sts.amazonaws.com');
    const calls = sts.commandCalls(AssumeRoleWithWebIdentityCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.args[0].input).toEqual({
      RoleArn: auth.roleToAssume,
      RoleSessionName: 'deploy-session',
      WebIdentityToken: jwt,
      DurationSeconds: 1800,
    });
    expect(t.masked).toEqual(
      expect.arrayContaining(['ASIAEXAMPLE', 'secret-key', 'session-token']),
    );
    expect(resolved).toMatchObject({
      source: 'oidc',
      credentials: {
        accessKeyId: 'ASIAEXAMPLE',
        secretAccessKey: 'secret-key',
        sessionToken: 'session-token',
        expiration: credentials.Expiration,
      },
    });
    const log = t.logger.lines.join('\n');
    for (const secret of ['secret-key', 'session-token', jwt]) expect(log).not.toContain(secret);
    expect(log).toContain("sub 'repo:org/app:ref:refs/heads/main'");
  });

  it('masks the secrets before anything is logged after the call', async () => {
    sts.on(AssumeRoleWithWebIdentityCommand).resolves({ Credentials: credentials });
    const order: string[] = [];
    const t = deps();
    await resolveCredentials(auth, {
      ...t.deps,
      setSecret: (v) => void order.push(`mask:${v}`),
      logger: { ...t.logger, info: (m) => void order.push(`log:${m}`) },
    });
    const firstLogAfterCall = order.findIndex((e) => e.startsWith('log:Assumed'));
    const lastMask = Math.max(
      ...['ASIAEXAMPLE', 'secret-key', 'session-token'].map((s) => order.indexOf(`mask:${s}`)),
    );
    expect(lastMask).toBeGreaterThanOrEqual(0);
    expect(lastMask).toBeLessThan(firstLogAfterCall);
  });

  it('retries a throttled call with backoff (no real waiting)', async () => {
    sts
      .on(AssumeRoleWithWebIdentityCommand)
      .rejectsOnce(throttled())
      .rejectsOnce(throttled())
      .resolves({ Credentials: credentials });
    const t = deps();
    const resolved = await resolveCredentials(auth, t.deps);
    expect(resolved.source).toBe('oidc');
    expect(sts.commandCalls(AssumeRoleWithWebIdentityCommand)).toHaveLength(3);
    expect(t.sleeps).toHaveLength(2);
    expect(t.sleeps[1]!).toBeGreaterThanOrEqual(t.sleeps[0]! / 2);
  });

  it('does not retry AccessDenied and explains the trust policy', async () => {
    sts.on(AssumeRoleWithWebIdentityCommand).rejects(denied());
    const t = deps();
    const error = await resolveCredentials(auth, t.deps).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.message).toMatch(/sub 'repo:org\/app:ref:refs\/heads\/main'/);
    expect(error?.message).toMatch(/trust policy/);
    expect(error?.message).toMatch(
      /token\.actions\.githubusercontent\.com:aud' must equal 'sts\.amazonaws\.com'/,
    );
    expect(error?.message).toMatch(/token\.actions\.githubusercontent\.com:sub' must match/);
    expect(error?.message).toMatch(/id-token: write/);
    expect(sts.commandCalls(AssumeRoleWithWebIdentityCommand)).toHaveLength(1);
    expect(t.sleeps).toHaveLength(0);
  });

  it('explains a missing OIDC token endpoint (permissions, forks)', async () => {
    const t = deps({ env: {} });
    await expect(resolveCredentials(auth, t.deps)).rejects.toThrow(
      /permissions: id-token: write[\s\S]*forks/,
    );
    expect(t.getIDToken).not.toHaveBeenCalled();
    expect(sts.calls()).toHaveLength(0);
  });

  it('gives up after the attempts run out on persistent throttling', async () => {
    sts.on(AssumeRoleWithWebIdentityCommand).rejects(throttled());
    const t = deps();
    await expect(resolveCredentials(auth, t.deps)).rejects.toThrow(
      /Could not assume .*Rate exceeded/,
    );
    expect(sts.commandCalls(AssumeRoleWithWebIdentityCommand)).toHaveLength(5);
  });
});

describe('resolveCredentials without role-to-assume', () => {
  it('makes no STS call and asks for no token', async () => {
    const t = deps();
    const resolved = await resolveCredentials({ ...auth, roleToAssume: undefined }, t.deps);
    expect(resolved).toEqual({ source: 'ambient' });
    expect(sts.calls()).toHaveLength(0);
    expect(t.getIDToken).not.toHaveBeenCalled();
  });
});

describe('describeClaims', () => {
  it('reads sub and aud and never fails on garbage', () => {
    expect(describeClaims(jwt)).toBe(
      "sub 'repo:org/app:ref:refs/heads/main', aud 'sts.amazonaws.com'",
    );
    expect(describeClaims('not-a-jwt')).toBe('claims unreadable');
  });
});

describe('credentials refreshed from OIDC before they expire (long bakes)', () => {
  const T0 = Date.parse('2030-01-01T10:00:00Z');
  const issued = (n: number, expiresAt: number) => ({
    Credentials: {
      AccessKeyId: `ASIA${n}`,
      SecretAccessKey: `secret-${n}`,
      SessionToken: `session-${n}`,
      Expiration: new Date(expiresAt),
    },
  });

  it('the provider re-assumes the role with a fresh ID token shortly before expiry, and masks the new secrets', async () => {
    sts
      .on(AssumeRoleWithWebIdentityCommand)
      .resolvesOnce(issued(1, T0 + 3_600_000))
      .resolvesOnce(issued(2, T0 + 7_200_000));
    let now = T0;
    const t = deps({ now: () => now });
    const resolved = await resolveCredentials({ ...auth, roleDurationSeconds: 3600 }, t.deps);
    const provider = resolved.provider!;

    now = T0 + 30 * 60_000; // half-way: the first credentials
    expect((await provider()).accessKeyId).toBe('ASIA1');
    expect(t.getIDToken).toHaveBeenCalledTimes(1);

    now = T0 + 3_600_000 - 4 * 60_000; // four minutes before expiry: refreshed, once
    const [a, b] = await Promise.all([provider(), provider()]);
    expect([a.accessKeyId, b.accessKeyId]).toEqual(['ASIA2', 'ASIA2']);
    expect(t.getIDToken).toHaveBeenCalledTimes(2);
    expect(sts.commandCalls(AssumeRoleWithWebIdentityCommand)).toHaveLength(2);
    expect(t.masked).toEqual(expect.arrayContaining(['secret-2', 'session-2']));

    now = T0 + 90 * 60_000; // past the first expiry: the second ones serve
    expect((await provider()).accessKeyId).toBe('ASIA2');
    expect(sts.commandCalls(AssumeRoleWithWebIdentityCommand)).toHaveLength(2);
  });
});
