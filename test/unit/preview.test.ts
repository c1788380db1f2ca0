import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  AddPermissionCommand,
  CreateAliasCommand,
  CreateFunctionUrlConfigCommand,
  DeleteAliasCommand,
  DeleteFunctionCommand,
  DeleteFunctionUrlConfigCommand,
  GetAliasCommand,
  GetFunctionCommand,
  GetFunctionConfigurationCommand,
  GetFunctionUrlConfigCommand,
  GetPolicyCommand,
  InvokeCommand,
  LambdaClient,
  ListAliasesCommand,
  ListVersionsByFunctionCommand,
  PreconditionFailedException,
  PublishVersionCommand,
  RemovePermissionCommand,
  ResourceConflictException,
  ResourceNotFoundException,
  UpdateAliasCommand,
  UpdateFunctionCodeCommand,
  UpdateFunctionConfigurationCommand,
  UpdateFunctionUrlConfigCommand,
  type AliasConfiguration,
  type InvokeCommandOutput,
} from '@aws-sdk/client-lambda';
import { HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { runPipeline } from '../../src/pipelines/index.js';
import {
  planVersionCleanup,
  previewAliasName,
  previewCandidates,
} from '../../src/pipelines/preview-cleanup.js';
import { protectedVersions } from '../../src/release/function/versions.js';
import { previewCommit } from '../../src/pipelines/preview.js';
import type { AliasState } from '../../src/release/traffic/alias-plan.js';
import type { FetchLike } from '../../src/report/github-api.js';
import { fakeRunContext } from './support/run-context.js';
import {
  DEFAULT_EXCLUDES,
  type PreviewCleanupSettings,
  type PreviewModeSettings,
  type Settings,
} from '../../src/settings.js';

// ---- pure decisions ---------------------------------------------------------------------------

const state = (over: Partial<AliasState> = {}): AliasState => ({
  functionName: 'iris',
  alias: 'pr-7',
  exists: true,
  functionVersion: '9',
  weights: {},
  ...over,
});
const cfg = (
  Name: string,
  FunctionVersion: string,
  extra: Partial<AliasConfiguration> = {},
): AliasConfiguration => ({ Name, FunctionVersion, ...extra });

describe('preview decisions', () => {
  test('previewAliasName and previewCommit (PR head, else GITHUB_SHA)', () => {
    expect(previewAliasName({ aliasPrefix: 'pr-', prNumber: 7 })).toBe('pr-7');
    expect(
      previewCommit({ sha: 'merge', payload: { pull_request: { head: { sha: 'head' } } } }),
    ).toBe('head');
    expect(previewCommit({ sha: 'merge', payload: {} })).toBe('merge');
  });

  test('previewCandidates: served version, weighted versions, recorded previous', () => {
    expect(
      previewCandidates(
        state({ weights: { '10': 0.1 }, description: 'x | lambda-ml-deploy: previous=8' }),
      ),
    ).toEqual(['9', '10', '8']);
    expect(previewCandidates(state({ exists: false, functionVersion: undefined }))).toEqual([]);
  });

  test('protectedVersions: served, weighted and recorded-previous versions of other aliases', () => {
    const reasons = protectedVersions(
      [
        cfg('prod', '5', {
          RoutingConfig: { AdditionalVersionWeights: { '6': 0.1 } },
          Description: 'lambda-ml-deploy: previous=3',
        }),
        cfg('pr-7', '9', { Description: 'lambda-ml-deploy: previous=8' }),
      ],
      'pr-7',
    );
    expect([...reasons.keys()].sort()).toEqual(['3', '5', '6']);
    expect(reasons.get('3')).toMatch(/previous version/);
  });

  test('planVersionCleanup never deletes what another alias needs, nor what no longer exists', () => {
    const plan = planVersionCleanup(
      ['9', '8', '5', '7'],
      ['5', '7', '9'],
      [cfg('prod', '5'), cfg('pr-8', '7'), cfg('pr-7', '9')],
      'pr-7',
    );
    expect(plan.delete).toEqual(['9']);
    expect(plan.keep).toEqual([
      { version: '5', reason: 'served by alias prod' },
      { version: '7', reason: 'served by alias pr-8' },
    ]);
  });
});

// ---- a fake Lambda + S3 + GitHub, and the pipelines end to end ----------------------------

const lambdaMock = mockClient(LambdaClient);
const s3Mock = mockClient(S3Client);
const ARN = 'arn:aws:lambda:us-east-1:123456789012:function:iris';
const notFound = (message = 'The resource you requested does not exist.') =>
  new ResourceNotFoundException({ message, $metadata: { httpStatusCode: 404 } });
const encode = (value: unknown) =>
  new TextEncoder().encode(JSON.stringify(value)) as unknown as InvokeCommandOutput['Payload'];

interface World {
  latest: { codeSha256: string; dirty: boolean };
  versions: Map<
    string,
    { codeSha256: string; species: string; description: string; layers?: string[] }
  >;
  /** Layers $LATEST has when a version is published (another run's change, for a race). */
  latestLayers?: string[];
  aliases: Map<
    string,
    { version: string; weights: Record<string, number>; revision: number; description: string }
  >;
  urls: Map<string, { url: string; auth: string }>;
  policies: Map<string, Set<string>>;
  lastVersion: number;
  /** What the next published version answers to the smoke case. */
  species: string;
}

function fakeAws(): World {
  const world: World = {
    latest: { codeSha256: 'initial', dirty: false },
    versions: new Map([
      ['1', { codeSha256: 'initial', species: 'virginica', description: 'first' }],
    ]),
    aliases: new Map([
      [
        'prod',
        { version: '1', weights: {}, revision: 1, description: 'lambda-ml-deploy: previous=none' },
      ],
    ]),
    urls: new Map(),
    policies: new Map(),
    lastVersion: 1,
    species: 'virginica',
  };
  const config = (qualifier?: string) => {
    const v = qualifier && qualifier !== '$LATEST' ? world.versions.get(qualifier) : undefined;
    if (qualifier && qualifier !== '$LATEST' && !v)
      throw notFound(`Function not found: ${ARN}:${qualifier}`);
    return {
      FunctionName: 'iris',
      FunctionArn: qualifier ? `${ARN}:${qualifier}` : ARN,
      Version: qualifier ?? '$LATEST',
      CodeSha256: v ? v.codeSha256 : world.latest.codeSha256,
      Runtime: 'python3.12' as const,
      Handler: 'lambda_function.lambda_handler',
      Architectures: ['x86_64' as const],
      Layers: (v?.layers ?? []).map((Arn) => ({ Arn })),
      Environment: { Variables: {} },
      State: 'Active' as const,
      LastUpdateStatus: 'Successful' as const,
      RevisionId: 'fn-rev',
    };
  };
  const aliasOut = (name: string) => {
    const a = world.aliases.get(name)!;
    return {
      Name: name,
      AliasArn: `${ARN}:${name}`,
      FunctionVersion: a.version,
      RevisionId: `rev-${a.revision}`,
      Description: a.description,
      RoutingConfig: { AdditionalVersionWeights: a.weights },
    };
  };
  lambdaMock
    .on(GetFunctionConfigurationCommand)
    .callsFake(async (input) => config(input.Qualifier));
  lambdaMock
    .on(GetFunctionCommand)
    .callsFake(async (input) => ({ Configuration: config(input.Qualifier) }));
  lambdaMock.on(UpdateFunctionCodeCommand).callsFake(async (input) => {
    const hex = /([0-9a-f]{64})\.zip$/.exec(input.S3Key ?? '')![1]!;
    world.latest = { codeSha256: Buffer.from(hex, 'hex').toString('base64'), dirty: true };
    return { ...config(), LastUpdateStatus: 'InProgress' };
  });
  lambdaMock.on(UpdateFunctionConfigurationCommand).callsFake(async () => {
    world.latest.dirty = true;
    return config();
  });
  lambdaMock.on(PublishVersionCommand).callsFake(async (input) => {
    if (input.CodeSha256 && input.CodeSha256 !== world.latest.codeSha256)
      throw new Error('CodeSha256 mismatch');
    if (!world.latest.dirty) return { ...config(String(world.lastVersion)) };
    const version = String(++world.lastVersion);
    world.versions.set(version, {
      codeSha256: world.latest.codeSha256,
      species: world.species,
      description: input.Description ?? '',
      ...(world.latestLayers ? { layers: world.latestLayers } : {}),
    });
    world.latest.dirty = false;
    return config(version);
  });
  lambdaMock.on(GetAliasCommand).callsFake(async (input) => {
    if (!world.aliases.has(input.Name!)) throw notFound(`Alias not found: ${ARN}:${input.Name}`);
    return aliasOut(input.Name!);
  });
  lambdaMock.on(CreateAliasCommand).callsFake(async (input) => {
    if (world.aliases.has(input.Name!))
      throw new ResourceConflictException({ message: 'Alias already exists', $metadata: {} });
    world.aliases.set(input.Name!, {
      version: input.FunctionVersion!,
      weights: {},
      revision: 1,
      description: input.Description ?? '',
    });
    return aliasOut(input.Name!);
  });
  lambdaMock.on(UpdateAliasCommand).callsFake(async (input) => {
    const a = world.aliases.get(input.Name!);
    if (!a) throw notFound();
    if (input.RevisionId && input.RevisionId !== `rev-${a.revision}`)
      throw new PreconditionFailedException({ message: 'RevisionId mismatch', $metadata: {} });
    world.aliases.set(input.Name!, {
      version: input.FunctionVersion ?? a.version,
      weights: input.RoutingConfig?.AdditionalVersionWeights ?? {},
      revision: a.revision + 1,
      description: input.Description ?? a.description,
    });
    return aliasOut(input.Name!);
  });
  lambdaMock.on(DeleteAliasCommand).callsFake(async (input) => {
    world.aliases.delete(input.Name!);
    world.urls.delete(input.Name!);
    world.policies.delete(input.Name!);
    return {};
  });
  lambdaMock
    .on(ListAliasesCommand)
    .callsFake(async () => ({ Aliases: [...world.aliases.keys()].map(aliasOut) }));
  lambdaMock.on(ListVersionsByFunctionCommand).callsFake(async () => ({
    Versions: [
      { Version: '$LATEST' },
      ...[...world.versions.entries()].map(([Version, v]) => ({
        Version,
        CodeSha256: v.codeSha256,
        Description: v.description,
      })),
    ],
  }));
  lambdaMock.on(DeleteFunctionCommand).callsFake(async (input) => {
    const q = input.Qualifier!;
    if ([...world.aliases.values()].some((a) => a.version === q || q in a.weights)) {
      throw new ResourceConflictException({
        message: `Unable to delete version because the following aliases reference it: ${q}`,
        $metadata: {},
      });
    }
    if (!world.versions.delete(q)) throw notFound();
    return {};
  });
  lambdaMock.on(InvokeCommand).callsFake(async (input) => ({
    StatusCode: 200,
    ExecutedVersion: input.Qualifier,
    Payload: encode({ species: world.versions.get(input.Qualifier!)?.species ?? 'none' }),
  }));
  lambdaMock.on(GetFunctionUrlConfigCommand).callsFake(async (input) => {
    const u = world.urls.get(input.Qualifier!);
    if (!u) throw notFound();
    return { FunctionUrl: u.url, AuthType: u.auth as 'AWS_IAM' };
  });
  lambdaMock.on(CreateFunctionUrlConfigCommand).callsFake(async (input) => {
    if (!world.aliases.has(input.Qualifier!)) throw notFound();
    const u = {
      url: `https://${input.Qualifier}-url.lambda-url.us-east-1.on.aws/`,
      auth: input.AuthType!,
    };
    world.urls.set(input.Qualifier!, u);
    return { FunctionUrl: u.url, AuthType: u.auth as 'AWS_IAM' };
  });
  lambdaMock.on(UpdateFunctionUrlConfigCommand).callsFake(async (input) => {
    const u = world.urls.get(input.Qualifier!)!;
    u.auth = input.AuthType!;
    return { FunctionUrl: u.url, AuthType: u.auth as 'AWS_IAM' };
  });
  lambdaMock.on(DeleteFunctionUrlConfigCommand).callsFake(async (input) => {
    if (!world.urls.delete(input.Qualifier!)) throw notFound();
    return {};
  });
  lambdaMock.on(GetPolicyCommand).callsFake(async (input) => {
    const sids = world.policies.get(input.Qualifier!);
    if (!sids || sids.size === 0)
      throw notFound('No policy is associated with the given resource.');
    return { Policy: JSON.stringify({ Statement: [...sids].map((Sid) => ({ Sid })) }) };
  });
  lambdaMock.on(AddPermissionCommand).callsFake(async (input) => {
    const sids = world.policies.get(input.Qualifier!) ?? new Set<string>();
    sids.add(input.StatementId!);
    world.policies.set(input.Qualifier!, sids);
    return {};
  });
  lambdaMock.on(RemovePermissionCommand).callsFake(async (input) => {
    if (!world.policies.get(input.Qualifier!)?.delete(input.StatementId!)) throw notFound();
    return {};
  });
  s3Mock.on(HeadObjectCommand).rejects(
    Object.assign(new Error('NotFound'), {
      name: 'NotFound',
      $metadata: { httpStatusCode: 404 },
    }),
  );
  s3Mock.on(PutObjectCommand).resolves({});
  return world;
}

/** Issue comments of org/app, as the REST API keeps them. */
function fakeGithub() {
  const comments: Array<{ id: number; issue: number; body: string; user: { login: string } }> = [];
  const respond = (status: number, body: unknown) => ({
    status,
    ok: status < 300,
    headers: { get: () => null },
    text: async () => JSON.stringify(body),
  });
  const fetch: FetchLike = async (url, init) => {
    const u = new URL(url);
    const body = init.body ? (JSON.parse(init.body) as { body: string }) : undefined;
    // The workflow's installation token: no GET /user, comments by the Actions bot.
    if (u.pathname === '/user')
      return respond(403, { message: 'Resource not accessible by integration' });
    let m = /\/issues\/(\d+)\/comments$/.exec(u.pathname);
    if (m && init.method === 'GET')
      return respond(
        200,
        comments.filter((c) => c.issue === Number(m![1])),
      );
    if (m && init.method === 'POST') {
      const c = {
        id: 1000 + comments.length,
        issue: Number(m[1]),
        body: body!.body,
        user: { login: 'github-actions[bot]' },
      };
      comments.push(c);
      return respond(201, c);
    }
    m = /\/issues\/comments\/(\d+)$/.exec(u.pathname);
    const c = m && comments.find((x) => x.id === Number(m![1]));
    if (c && init.method === 'PATCH') {
      c.body = body!.body;
      return respond(200, c);
    }
    return respond(404, { message: 'Not Found' });
  };
  return { comments, fetch };
}

let tmp: string;
let gh: ReturnType<typeof fakeGithub>;
let fetchImpl: FetchLike;
beforeEach(() => {
  lambdaMock.reset();
  s3Mock.reset();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'preview-'));
  fs.mkdirSync(path.join(tmp, 'src'));
  writeHandler('v1');
  fs.writeFileSync(
    path.join(tmp, 'smoke.yml'),
    'cases:\n  - name: virginica\n    event: {sl: 6.9}\n    expect:\n      payload: {species: virginica}\n',
  );
  gh = fakeGithub();
  fetchImpl = (url, init) => gh.fetch(url, init);
});
afterEach(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

function writeHandler(tag: string) {
  fs.writeFileSync(
    path.join(tmp, 'src', 'lambda_function.py'),
    `# ${tag}\ndef lambda_handler(event, context):\n    return {}\n`,
  );
}

const preview = { aliasPrefix: 'pr-', url: true, urlAuth: 'AWS_IAM' as const, prNumber: 7 };

function context<S extends Settings>(settings: S) {
  return fakeRunContext({
    settings,
    workspace: tmp,
    workDir: fs.mkdtempSync(path.join(tmp, 'work-')),
    github: {
      eventName: 'pull_request',
      payload: {
        action: 'synchronize',
        number: 7,
        pull_request: { number: 7, head: { sha: 'abcdef0123456789abcdef0123456789abcdef01' } },
      },
      sha: 'm'.repeat(40),
      apiUrl: 'https://api.github.test',
    },
    fetch: (url, init) => fetchImpl(url, init),
  });
}

const base = {
  auth: {
    region: 'us-east-1',
    audience: 'sts.amazonaws.com',
    roleSessionName: 's',
    roleDurationSeconds: 3600,
  },
  functionName: 'iris',
  alias: 'prod',
  githubToken: 'ghs_token',
  dryRun: false,
};

function previewSettings(over: Partial<PreviewModeSettings> = {}): PreviewModeSettings {
  return {
    ...base,
    workspace: tmp,
    mode: 'preview',
    build: {
      sourceDir: path.join(tmp, 'src'),
      model: [],
      modelDest: 'model',
      modelStore: 'bundle',
      include: [],
      exclude: [...DEFAULT_EXCLUDES],
      runtime: 'python3.12',
      architecture: 'x86_64',
      build: 'pip',
      buildImage: 'unused',
      pipArgs: [],
      slim: true,
      layerName: 'iris-deps',
      s3Bucket: 'artifacts',
      s3Prefix: 'lambda-ml-deploy/iris',
    },
    fn: { createFunction: false, handler: 'lambda_function.lambda_handler' },
    release: {
      smokeTests: path.join(tmp, 'smoke.yml'),
      strategy: 'all-at-once',
      canaryPercent: 10,
      canaryIntervalMs: 1000,
      linearSteps: 4,
      alarms: [],
      keepVersions: 0,
    },
    coldStart: { provisionedConcurrency: 0 },
    preview,
    ...over,
  };
}

const cleanupSettings = (over: Partial<PreviewCleanupSettings> = {}): PreviewCleanupSettings => ({
  ...base,
  workspace: tmp,
  mode: 'preview-cleanup',
  preview,
  ...over,
});

const prodUntouched = (world: World) => {
  expect(world.aliases.get('prod')).toEqual({
    version: '1',
    weights: {},
    revision: 1,
    description: 'lambda-ml-deploy: previous=none',
  });
  const touched = [
    ...lambdaMock.commandCalls(UpdateAliasCommand),
    ...lambdaMock.commandCalls(CreateAliasCommand),
    ...lambdaMock.commandCalls(DeleteAliasCommand),
  ].map((c) => c.args[0].input.Name);
  expect(touched).not.toContain('prod');
};

describe('preview pipeline', () => {
  test('first push: new version, pr-7 created on it with a URL, one comment, prod untouched', async () => {
    const world = fakeAws();
    const { ctx, outputs, report } = context(previewSettings());
    await runPipeline(ctx);
    expect(world.aliases.get('pr-7')).toMatchObject({ version: '2', weights: {} });
    expect(world.aliases.get('pr-7')!.description).toBe(
      'Preview of PR #7 | lambda-ml-deploy: previous=none sha=abcdef012345 pr=7',
    );
    expect(world.urls.get('pr-7')).toEqual({
      url: 'https://pr-7-url.lambda-url.us-east-1.on.aws/',
      auth: 'AWS_IAM',
    });
    expect(lambdaMock.commandCalls(InvokeCommand).map((c) => c.args[0].input.Qualifier)).toEqual([
      '2',
    ]);
    expect(outputs.values).toMatchObject({
      version: '2',
      'alias-arn': `${ARN}:pr-7`,
      'smoke-result': 'passed',
      changed: 'true',
      'rolled-back': 'false',
      'preview-url': 'https://pr-7-url.lambda-url.us-east-1.on.aws/',
    });
    expect(gh.comments).toHaveLength(1);
    expect(gh.comments[0]).toMatchObject({ issue: 7 });
    expect(gh.comments[0]!.body).toContain('<!-- lambda-ml-deploy:preview:iris -->');
    expect(gh.comments[0]!.body).toContain('`pr-7` → version 2');
    expect(gh.comments[0]!.body).toContain('`abcdef012345`');
    expect(gh.comments[0]!.body).toContain('| virginica | ✅ passed |');
    expect(report.toMarkdown()).toContain('Preview `pr-7` now serves version 2');
    prodUntouched(world);
  });

  test('second push: pr-7 moves (RevisionId-guarded), the superseded version goes, the same comment is edited', async () => {
    const world = fakeAws();
    await runPipeline(context(previewSettings()).ctx);
    const commentId = gh.comments[0]!.id;
    writeHandler('v2');
    const { ctx, outputs } = context(previewSettings());
    await runPipeline(ctx);
    expect(world.aliases.get('pr-7')!.version).toBe('3');
    expect(lambdaMock.commandCalls(UpdateAliasCommand).at(-1)!.args[0].input).toMatchObject({
      Name: 'pr-7',
      FunctionVersion: '3',
      RevisionId: 'rev-1',
    });
    expect(world.aliases.get('pr-7')!.description).toContain('previous=2');
    expect([...world.versions.keys()]).toEqual(['1', '3']);
    expect(outputs.values).toMatchObject({ version: '3', 'previous-version': '2' });
    expect(gh.comments).toHaveLength(1);
    expect(gh.comments[0]!.id).toBe(commentId);
    expect(gh.comments[0]!.body).toContain('`pr-7` → version 3');
    prodUntouched(world);
  });

  test('re-run with the same code: nothing published, URL ensured, comment kept', async () => {
    const world = fakeAws();
    await runPipeline(context(previewSettings()).ctx);
    lambdaMock.resetHistory();
    const { ctx, outputs } = context(previewSettings());
    await runPipeline(ctx);
    expect(lambdaMock.commandCalls(PublishVersionCommand)).toHaveLength(0);
    expect(lambdaMock.commandCalls(GetFunctionUrlConfigCommand).length).toBeGreaterThan(0);
    expect(outputs.values).toMatchObject({
      changed: 'false',
      'smoke-result': 'skipped',
      version: '2',
      'preview-url': 'https://pr-7-url.lambda-url.us-east-1.on.aws/',
    });
    expect(world.aliases.get('pr-7')!.revision).toBe(1);
    expect(gh.comments).toHaveLength(1);
    expect(gh.comments[0]!.body).toContain('unchanged');
  });

  test('smoke failure: pr-7 stays, the comment says why, the step fails', async () => {
    const world = fakeAws();
    await runPipeline(context(previewSettings()).ctx);
    writeHandler('broken');
    world.species = 'setosa';
    const { ctx, outputs } = context(previewSettings());
    await expect(runPipeline(ctx)).rejects.toThrow(
      /Version 3 failed its smoke tests, so preview alias 'pr-7' still serves pr-7 -> 2/,
    );
    expect(world.aliases.get('pr-7')!.version).toBe('2');
    expect([...world.versions.keys()]).toEqual(['1', '2']); // the failed version 3 serves nobody: deleted
    expect(outputs.values).toMatchObject({ 'smoke-result': 'failed', 'rolled-back': 'false' });
    expect(gh.comments).toHaveLength(1);
    expect(gh.comments[0]!.body).toContain('smoke tests failed on version 3');
    expect(gh.comments[0]!.body).toContain('`pr-7` still serves version 2');
    expect(gh.comments[0]!.body).toMatch(/\*\*Why:\*\* 1 of 1 smoke cases failed: 'virginica'/);
    prodUntouched(world);
  });

  test('a failed version that an alias serves (an unchanged publish returns it) is never deleted', async () => {
    const world = fakeAws();
    await runPipeline(context(previewSettings()).ctx);
    // prod now serves version 2 too, the preview alias is gone, and version 2 stops answering.
    world.aliases.set('prod', {
      version: '2',
      weights: {},
      revision: 2,
      description: 'lambda-ml-deploy: previous=1',
    });
    world.aliases.delete('pr-7');
    world.versions.get('2')!.species = 'setosa';
    const { ctx, logger } = context(previewSettings());
    await expect(runPipeline(ctx)).rejects.toThrow(/Version 2 failed its smoke tests/);
    expect(lambdaMock.commandCalls(PublishVersionCommand).at(-1)!.args[0].input.FunctionName).toBe(
      'iris',
    );
    expect(world.versions.has('2')).toBe(true);
    expect(logger.lines).toContain('Keeping version 2: served by alias prod.');
    expect(lambdaMock.commandCalls(DeleteFunctionCommand)).toHaveLength(0);
  });

  test('a comment that cannot be written is a warning; the preview still succeeds', async () => {
    fakeAws();
    fetchImpl = async () =>
      ({
        status: 403,
        ok: false,
        headers: { get: () => null },
        text: async () => '{"message":"Resource not accessible by integration"}',
      }) as unknown as Awaited<ReturnType<FetchLike>>;
    const { ctx, logger, outputs } = context(previewSettings());
    await runPipeline(ctx);
    expect(outputs.values.version).toBe('2');
    expect(
      logger.lines.some(
        (l) =>
          l.startsWith('warning: Could not write the preview comment') &&
          l.includes('pull-requests: write'),
      ),
    ).toBe(true);
  });

  test('preview-url false: no URL; NONE: public URL with both permissions', async () => {
    const world = fakeAws();
    await runPipeline(context(previewSettings({ preview: { ...preview, url: false } })).ctx);
    expect(world.urls.size).toBe(0);
    writeHandler('v2');
    const { ctx, outputs } = context(previewSettings({ preview: { ...preview, urlAuth: 'NONE' } }));
    await runPipeline(ctx);
    expect(world.urls.get('pr-7')!.auth).toBe('NONE');
    expect(world.policies.get('pr-7')).toEqual(
      new Set(['lambda-ml-deploy-url-public', 'lambda-ml-deploy-url-invoke']),
    );
    expect(outputs.values['preview-url']).toBe('https://pr-7-url.lambda-url.us-east-1.on.aws/');
  });

  test('a prefix that would make the preview alias `alias` is refused before anything is built', async () => {
    fakeAws();
    const { ctx } = context(previewSettings({ alias: 'pr-7' }));
    await expect(runPipeline(ctx)).rejects.toThrow(
      /Input 'preview-alias-prefix': makes the preview alias 'pr-7' the same as alias 'pr-7'/,
    );
    expect(s3Mock.commandCalls(PutObjectCommand)).toHaveLength(0);
  });

  test('an existing alias named like the preview but not created by it is not taken over', async () => {
    const world = fakeAws();
    world.aliases.set('pr-7', { version: '1', weights: {}, revision: 3, description: 'manual' });
    const { ctx } = context(previewSettings());
    await expect(runPipeline(ctx)).rejects.toThrow(
      /Alias 'pr-7' exists but was not created by this action as the preview of PR #7/,
    );
    expect(world.aliases.get('pr-7')).toMatchObject({ version: '1', revision: 3 });
    expect(lambdaMock.commandCalls(UpdateAliasCommand)).toHaveLength(0);
  });

  test("a version published with another run's configuration is refused before smoke tests; the alias is untouched", async () => {
    const world = fakeAws();
    // Another run swapped the layers on $LATEST between this run's update and its publish.
    world.latestLayers = ['arn:aws:lambda:us-east-1:123456789012:layer:other-run-deps:7'];
    const { ctx } = context(previewSettings());
    await expect(runPipeline(ctx)).rejects.toThrow(
      /Published version 2 of 'iris' is not what this run asked for .*layers: expected "\(none\)", got "other-run-deps:7".*alias 'pr-7' was not touched/,
    );
    expect(world.aliases.has('pr-7')).toBe(false);
    expect(lambdaMock.commandCalls(InvokeCommand)).toHaveLength(0);
  });

  test('every write to $LATEST carries the RevisionId of the previous read or answer', async () => {
    fakeAws();
    await runPipeline(context(previewSettings()).ctx);
    const code = lambdaMock.commandCalls(UpdateFunctionCodeCommand)[0]!.args[0].input;
    const publish = lambdaMock.commandCalls(PublishVersionCommand)[0]!.args[0].input;
    expect(code.RevisionId).toBe('fn-rev');
    expect(publish.RevisionId).toBe('fn-rev');
  });

  test('keep-versions applies after a preview too', async () => {
    const world = fakeAws();
    for (const v of ['2', '3', '4'])
      world.versions.set(v, { codeSha256: 'old', species: 'virginica', description: 'old' });
    world.lastVersion = 4;
    const { ctx, report } = context(
      previewSettings({ release: { ...previewSettings().release, keepVersions: 1 } }),
    );
    await runPipeline(ctx);
    // 1: prod, 5: pr-7; of the unaliased 2, 3, 4 the newest one stays.
    expect([...world.versions.keys()].sort()).toEqual(['1', '4', '5']);
    expect(report.toMarkdown()).toContain('Deleted 2 unaliased version(s): 2, 3.');
  });

  test('a retention error after a successful release is a warning, not a failed job', async () => {
    const world = fakeAws();
    for (const v of ['2', '3', '4'])
      world.versions.set(v, { codeSha256: 'old', species: 'virginica', description: 'old' });
    world.lastVersion = 4;
    lambdaMock.on(DeleteFunctionCommand).rejects(
      Object.assign(new Error('not authorized to perform: lambda:DeleteFunction'), {
        name: 'AccessDeniedException',
        $metadata: { httpStatusCode: 403 },
      }),
    );
    const { ctx, logger, report } = context(
      previewSettings({ release: { ...previewSettings().release, keepVersions: 1 } }),
    );
    await expect(runPipeline(ctx)).resolves.toBeUndefined();
    expect(world.aliases.get('pr-7')!.version).toBe('5');
    expect(logger.lines.join('\n')).toMatch(
      /warning: keep-versions 1: deleting old versions failed after a successful release/,
    );
    expect(report.toMarkdown()).toContain('Not applied');
  });
});

describe('preview-cleanup pipeline', () => {
  test('removes URL, alias and the preview-only version; prod and its versions stay; the comment says cleaned up', async () => {
    const world = fakeAws();
    await runPipeline(context(previewSettings()).ctx);
    writeHandler('v2');
    await runPipeline(context(previewSettings()).ctx);
    expect(world.aliases.get('pr-7')!.version).toBe('3');

    const { ctx, outputs, report } = context(cleanupSettings());
    await runPipeline(ctx);
    expect(world.aliases.has('pr-7')).toBe(false);
    expect(world.urls.has('pr-7')).toBe(false);
    expect([...world.versions.keys()]).toEqual(['1']);
    expect(outputs.values).toMatchObject({
      changed: 'true',
      'previous-version': '3',
      'rolled-back': 'false',
    });
    expect(report.toMarkdown()).toContain('Preview `pr-7` cleaned up');
    expect(gh.comments).toHaveLength(1);
    expect(gh.comments[0]!.body).toContain('alias `pr-7`, its function URL, version 3 deleted');
    prodUntouched(world);
  });

  test('a second cleanup succeeds and changes nothing (the comment included)', async () => {
    const world = fakeAws();
    await runPipeline(context(previewSettings()).ctx);
    await runPipeline(context(cleanupSettings()).ctx);
    const body = gh.comments[0]!.body;
    lambdaMock.resetHistory();
    const { ctx, outputs, report } = context(cleanupSettings());
    await runPipeline(ctx);
    expect(outputs.values.changed).toBe('false');
    expect(report.toMarkdown()).toContain('Nothing to clean up');
    const writes = [
      DeleteAliasCommand,
      DeleteFunctionCommand,
      DeleteFunctionUrlConfigCommand,
      UpdateAliasCommand,
      RemovePermissionCommand,
    ];
    const sent = lambdaMock.calls().map((c) => c.args[0]);
    expect(sent.filter((command) => writes.some((type) => command instanceof type))).toEqual([]);
    expect(gh.comments[0]!.body).toBe(body);
    expect([...world.versions.keys()]).toEqual(['1']);
  });

  test('a version prod serves (or records as previous) is never deleted', async () => {
    const world = fakeAws();
    // The preview serves version 1, which prod serves too (an unchanged publish returns it).
    world.aliases.set('pr-7', {
      version: '1',
      weights: {},
      revision: 1,
      description: 'lambda-ml-deploy: previous=none pr=7',
    });
    await runPipeline(context(cleanupSettings()).ctx);
    expect(world.aliases.has('pr-7')).toBe(false);
    expect(world.versions.has('1')).toBe(true);
  });

  test('no comment yet: none is created on a closed PR', async () => {
    const world = fakeAws();
    world.aliases.set('pr-7', {
      version: '1',
      weights: {},
      revision: 1,
      description: 'lambda-ml-deploy: previous=none pr=7',
    });
    await runPipeline(context(cleanupSettings()).ctx);
    expect(gh.comments).toEqual([]);
  });

  test('an alias named like a preview but not created by this action is never deleted', async () => {
    const world = fakeAws();
    world.versions.set('2', { codeSha256: 'x', species: 'setosa', description: 'v2' });
    // A serving alias that happens to match prefix + PR number (e.g. prefix `v`, alias `v2`).
    world.aliases.set('pr-7', { version: '2', weights: {}, revision: 4, description: 'team B' });
    const { ctx, logger, outputs } = context(cleanupSettings());
    await runPipeline(ctx);
    expect(world.aliases.get('pr-7')).toMatchObject({ version: '2', revision: 4 });
    expect(world.versions.has('2')).toBe(true);
    expect(lambdaMock.commandCalls(DeleteAliasCommand)).toHaveLength(0);
    expect(lambdaMock.commandCalls(DeleteFunctionCommand)).toHaveLength(0);
    expect(lambdaMock.commandCalls(DeleteFunctionUrlConfigCommand)).toHaveLength(0);
    expect(outputs.values.changed).toBe('false');
    expect(logger.lines.join('\n')).toMatch(/'pr-7' was not created by this action .* PR #7/);
  });

  test("another PR's preview alias is not this PR's to delete", async () => {
    const world = fakeAws();
    world.aliases.set('pr-7', {
      version: '1',
      weights: {},
      revision: 2,
      description: 'lambda-ml-deploy: previous=none pr=70',
    });
    await runPipeline(context(cleanupSettings()).ctx);
    expect(world.aliases.has('pr-7')).toBe(true);
  });

  test('aliases created before the pr= marker (default text + marker) are still cleaned up', async () => {
    const world = fakeAws();
    world.aliases.set('pr-7', {
      version: '1',
      weights: {},
      revision: 2,
      description: 'Preview of PR #7 | lambda-ml-deploy: previous=none sha=abc',
    });
    await runPipeline(context(cleanupSettings()).ctx);
    expect(world.aliases.has('pr-7')).toBe(false);
  });

  test('cleanup never deletes `alias`, even when the settings were not validated', async () => {
    const world = fakeAws();
    const settings = cleanupSettings({
      alias: 'v2',
      preview: { ...preview, aliasPrefix: 'v', prNumber: 2 },
    });
    world.aliases.set('v2', {
      version: '1',
      weights: {},
      revision: 2,
      description: 'Preview of PR #2 | lambda-ml-deploy: previous=none pr=2',
    });
    await expect(runPipeline(context(settings).ctx)).rejects.toThrow(
      /Refusing to clean up 'v2': it is the alias that serves traffic/,
    );
    expect(world.aliases.has('v2')).toBe(true);
    expect(lambdaMock.commandCalls(DeleteAliasCommand)).toHaveLength(0);
  });
});
