/**
 * The local sandbox itself, end to end: the runner emulation runs the built action with
 * role-to-assume against the sandbox's OIDC endpoint and moto's STS; the GitHub emulation speaks
 * the REST subset for PR comments; and moto runs real Lambda invokes in Docker with a layer on
 * /opt/python (the iris example), reporting handler errors as Lambda does.
 *
 * Needs `bash scripts/sandbox.sh up` and `npm run build` (dist/index.js); it fails, with that
 * fix in the message, when either is missing.
 */
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import yazl from 'yazl';
import {
  CreateFunctionCommand,
  DeleteFunctionCommand,
  DeleteLayerVersionCommand,
  GetFunctionCommand,
  InvokeCommand,
  LambdaClient,
  PublishLayerVersionCommand,
  PublishVersionCommand,
  UpdateFunctionConfigurationCommand,
  type InvokeCommandOutput,
} from '@aws-sdk/client-lambda';
import {
  parseFileCommands,
  runAction,
  runPost,
  startAction,
  type ActionRun,
} from './helpers/run-action.js';
import {
  assertSandboxUp,
  awsConfig,
  githubComments,
  loadSandbox,
  oidcTokenRequests,
  REPO_ROOT,
  resetGithub,
  uniqueName,
  type Sandbox,
} from './helpers/sandbox.js';

const DOCKER_TIMEOUT = 180_000;
const IRIS = path.join(REPO_ROOT, 'examples', 'iris');
const FIXED_TIME = new Date('2024-01-01T00:00:00Z');

/** A zip of in-memory files (what Lambda receives as ZipFile). */
async function zipOf(files: Record<string, string | Buffer>): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const name of Object.keys(files).sort()) {
    zip.addBuffer(Buffer.from(files[name]!), name, { mtime: FIXED_TIME, mode: 0o100644 });
  }
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Every file under `dir`, keyed by `prefix` + its relative path. */
async function filesUnder(dir: string, prefix: string): Promise<Record<string, Buffer>> {
  const out: Record<string, Buffer> = {};
  for (const entry of await fs.readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || entry.name.endsWith('.pyc')) continue;
    const full = path.join(entry.parentPath, entry.name);
    out[`${prefix}${path.relative(dir, full).split(path.sep).join('/')}`] = await fs.readFile(full);
  }
  return out;
}

function payloadOf(response: InvokeCommandOutput): Record<string, unknown> {
  return JSON.parse(Buffer.from(response.Payload ?? new Uint8Array()).toString('utf8')) as Record<
    string,
    unknown
  >;
}

describe('runner file commands', () => {
  it('parses name=value lines and name<<DELIMITER blocks, later values winning', () => {
    const text = [
      'plain=a=b',
      'multi<<ghadelimiter_1',
      'line one',
      '',
      'line=three',
      'ghadelimiter_1',
      'plain=again',
      'crlf<<EOF\r',
      'x\r',
      'EOF\r',
      '',
    ].join('\n');
    expect(parseFileCommands(text)).toEqual({
      plain: 'again',
      multi: 'line one\n\nline=three',
      crlf: 'x',
    });
  });

  it('names the missing delimiter', () => {
    expect(() => parseFileCommands('summary<<END\nno end\n', 'GITHUB_OUTPUT')).toThrow(
      "GITHUB_OUTPUT: matching delimiter 'END' not found for 'summary'",
    );
  });
});

describe('sandbox GitHub emulation', () => {
  let sandbox: Sandbox;

  beforeAll(async () => {
    sandbox = loadSandbox();
    await assertSandboxUp(sandbox);
  });

  it('serves an OIDC token only for the runner request token, with GitHub claims', async () => {
    const url = `${sandbox.oidcRequestUrl}&audience=sts.amazonaws.com`;
    const bad = await fetch(url, { headers: { authorization: 'Bearer not-the-token' } });
    expect(bad.status).toBe(401);

    const good = await fetch(url, {
      headers: { authorization: `Bearer ${sandbox.oidcRequestToken}` },
    });
    expect(good.status).toBe(200);
    const { value } = (await good.json()) as { value: string };
    const [header, claims] = value
      .split('.')
      .slice(0, 2)
      .map((part) => JSON.parse(Buffer.from(part, 'base64url').toString()));
    expect(header).toMatchObject({ alg: 'RS256', typ: 'JWT' });
    expect(claims).toMatchObject({
      iss: 'https://token.actions.githubusercontent.com',
      aud: 'sts.amazonaws.com',
      sub: 'repo:org/app:ref:refs/heads/main',
      repository: 'org/app',
      ref: 'refs/heads/main',
    });
    expect(claims.exp).toBeGreaterThan(claims.iat);
  });

  it('records PR comments through the REST API subset', async () => {
    await resetGithub(sandbox);
    const api = `${sandbox.githubUrl}/repos/org/app`;
    const headers = { authorization: 'token ghs_test', 'content-type': 'application/json' };

    const unauthenticated = await fetch(`${api}/issues/7/comments`, {
      method: 'POST',
      body: JSON.stringify({ body: 'x' }),
    });
    expect(unauthenticated.status).toBe(401);

    const created = await fetch(`${api}/issues/7/comments`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ body: 'first' }),
    });
    expect(created.status).toBe(201);
    const comment = (await created.json()) as {
      id: number;
      html_url: string;
      user: { login: string };
    };
    expect(comment.html_url).toBe(`https://github.com/org/app/pull/7#issuecomment-${comment.id}`);
    expect(comment.user.login).toBe('github-actions[bot]');

    const patched = await fetch(`${api}/issues/comments/${comment.id}`, {
      method: 'PATCH',
      headers,
      body: JSON.stringify({ body: 'edited' }),
    });
    expect(patched.status).toBe(200);
    const listed = (await (await fetch(`${api}/issues/7/comments`)).json()) as Array<{
      id: number;
      body: string;
    }>;
    expect(listed).toEqual([expect.objectContaining({ id: comment.id, body: 'edited' })]);
    expect(await githubComments(sandbox)).toEqual([
      expect.objectContaining({ id: comment.id, issue_number: 7, repository: 'org/app' }),
    ]);

    const deleted = await fetch(`${api}/issues/comments/${comment.id}`, {
      method: 'DELETE',
      headers,
    });
    expect(deleted.status).toBe(204);
    expect(await githubComments(sandbox)).toEqual([]);
  });
});

describe('the action under the runner emulation', () => {
  let sandbox: Sandbox;
  let workspace: string;
  let main: ActionRun;

  beforeAll(async () => {
    sandbox = loadSandbox();
    await assertSandboxUp(sandbox);
    await resetGithub(sandbox);
    workspace = await fs.mkdtemp(path.join(os.tmpdir(), 'lmd-workspace-'));
    await fs.mkdir(path.join(workspace, 'app'));
    await fs.writeFile(
      path.join(workspace, 'app', 'lambda_function.py'),
      'def lambda_handler(event, context):\n    return {"ok": True}\n',
    );
    main = await runAction({
      workspace,
      inputs: {
        'aws-region': sandbox.region,
        'role-to-assume': sandbox.deployRoleArn,
        'function-name': uniqueName('oidc-check'),
        's3-bucket': sandbox.bucket,
        'source-dir': 'app',
        runtime: sandbox.runtime,
        'build-image': sandbox.buildImage,
        'create-function': true,
        'execution-role': sandbox.roleArn,
      },
      timeoutMs: DOCKER_TIMEOUT,
    });
  }, DOCKER_TIMEOUT);

  afterAll(async () => {
    if (workspace) await fs.rm(workspace, { recursive: true, force: true });
  });

  it('assumes role-to-assume with the GitHub OIDC token and reports the assumed-role identity', async () => {
    expect({
      exitCode: main.exitCode,
      errors: main.annotations.filter((a) => a.level === 'error'),
    }).toEqual({ exitCode: 0, errors: [] });
    expect(main.summary).toContain(
      'arn:aws:sts::123456789012:assumed-role/github-deploy/lambda-ml-deploy',
    );
    expect(await oidcTokenRequests(sandbox)).toEqual([
      expect.objectContaining({
        audience: 'sts.amazonaws.com',
        sub: 'repo:org/app:ref:refs/heads/main',
      }),
    ]);
  });

  it('keeps the OIDC token and the assumed credentials out of the visible log', () => {
    expect(main.masks.length).toBeGreaterThan(0);
    for (const secret of main.masks) expect(main.visibleLog).not.toContain(secret);
  });

  it(
    'stops the step with SIGTERM once a log line appears, like a cancelled job',
    async () => {
      const step = startAction({
        workspace,
        inputs: { ...main.job.inputs, 'function-name': uniqueName('killed') },
        killOn: { pattern: /Assumed arn:aws:sts::\S+/ },
        timeoutMs: DOCKER_TIMEOUT,
      });
      const killed = await step.done;
      expect(killed.killed).toBe(true);
      expect(killed.signal ?? killed.exitCode).not.toBe(0);
      expect(killed.log).toMatch(/Assumed arn:aws:sts::/);
      expect(killed.outputs.version).toBeUndefined();
    },
    DOCKER_TIMEOUT,
  );

  it(
    'runs the post step with STATE_* from the main step',
    async () => {
      const post = await runPost(main);
      expect(post.entry).toMatch(/\/dist\/post\.js$/);
      expect(post.exitCode).toBe(0);
      expect(post.annotations.filter((a) => a.level === 'error')).toEqual([]);
      expect(post.log).toMatch(/Nothing to undo/);
    },
    DOCKER_TIMEOUT,
  );
});

describe('moto Lambda in Docker (iris example, SDK directly)', () => {
  let sandbox: Sandbox;
  let lambda: LambdaClient;
  const functions: string[] = [];
  const layers: Array<{ name: string; version: number }> = [];

  beforeAll(async () => {
    sandbox = loadSandbox();
    await assertSandboxUp(sandbox);
    lambda = new LambdaClient(awsConfig(sandbox));
  });

  afterAll(async () => {
    for (const name of functions)
      await lambda.send(new DeleteFunctionCommand({ FunctionName: name })).catch(() => undefined);
    for (const { name, version } of layers) {
      await lambda
        .send(new DeleteLayerVersionCommand({ LayerName: name, VersionNumber: version }))
        .catch(() => undefined);
    }
    lambda?.destroy();
  });

  async function createFunction(
    name: string,
    code: Buffer,
    layerArns: string[] = [],
  ): Promise<void> {
    await lambda.send(
      new CreateFunctionCommand({
        FunctionName: name,
        Runtime: sandbox.runtime as 'python3.11',
        Role: sandbox.roleArn,
        Handler: 'lambda_function.lambda_handler',
        Code: { ZipFile: code },
        Layers: layerArns,
        Timeout: 30,
        MemorySize: 256,
      }),
    );
    functions.push(name);
    const state = await lambda.send(new GetFunctionCommand({ FunctionName: name }));
    expect(state.Configuration?.State).toBe('Active');
  }

  async function invoke(name: string, event: unknown): Promise<InvokeCommandOutput> {
    return lambda.send(
      new InvokeCommand({ FunctionName: name, Payload: Buffer.from(JSON.stringify(event)) }),
    );
  }

  it(
    'imports a dependency that only the layer (/opt/python) provides',
    async () => {
      const layerZip = await zipOf(
        await filesUnder(path.join(IRIS, 'deps', 'irisfeat', 'irisfeat'), 'python/irisfeat/'),
      );
      const layerName = uniqueName('irisfeat');
      const layer = await lambda.send(
        new PublishLayerVersionCommand({
          LayerName: layerName,
          Content: { ZipFile: layerZip },
          CompatibleRuntimes: [sandbox.runtime as 'python3.11'],
        }),
      );
      layers.push({ name: layerName, version: layer.Version! });

      // A handler of its own: the example's needs numpy and scipy, which are not in this layer.
      const bundle = await zipOf({
        'lambda_function.py': Buffer.from(
          [
            'import irisfeat',
            '',
            'def lambda_handler(event, context):',
            '    try:',
            '        return {"features": irisfeat.parse(event), "from": irisfeat.__file__}',
            '    except irisfeat.FeatureError as error:',
            '        return {"statusCode": 400, "error": str(error)}',
            '',
          ].join('\n'),
        ),
      });
      const name = uniqueName('iris');
      await createFunction(name, bundle, [layer.LayerVersionArn!]);

      const parsed = await invoke(name, { sl: 6.9, sw: 3.1, pl: 5.4, pw: 2.1 });
      expect(parsed.FunctionError).toBeUndefined();
      expect(payloadOf(parsed)).toEqual({
        features: [6.9, 3.1, 5.4, 2.1],
        from: '/opt/python/irisfeat/__init__.py',
      });

      const bad = await invoke(name, { sl: 'wide', sw: 3, pl: 4, pw: 1.2 });
      expect(bad.FunctionError).toBeUndefined();
      expect(payloadOf(bad)).toMatchObject({ statusCode: 400 });
    },
    DOCKER_TIMEOUT,
  );

  it(
    'reports a raising handler as a function error with Lambda’s error document',
    async () => {
      const name = uniqueName('raises');
      await createFunction(
        name,
        await zipOf({
          'lambda_function.py':
            'def lambda_handler(event, context):\n    raise ValueError("model file is corrupt")\n',
        }),
      );
      const response = await invoke(name, {});
      expect(response.FunctionError).toBeDefined();
      const error = payloadOf(response);
      expect(error).toMatchObject({
        errorType: 'ValueError',
        errorMessage: 'model file is corrupt',
      });
      expect(error.stackTrace).toEqual([
        expect.stringContaining('lambda_function.py", line 2, in lambda_handler'),
      ]);
    },
    DOCKER_TIMEOUT,
  );

  it(
    'reports a missing dependency (no layer attached) as Runtime.ImportModuleError',
    async () => {
      const name = uniqueName('no-layer');
      await createFunction(
        name,
        await zipOf({
          'lambda_function.py': await fs.readFile(path.join(IRIS, 'lambda_function.py')),
          'model/iris_model.npz': await fs.readFile(path.join(IRIS, 'model', 'iris_model.npz')),
        }),
      );
      const response = await invoke(name, { sl: 6.9, sw: 3.1, pl: 5.4, pw: 2.1 });
      expect(response.FunctionError).toBeDefined();
      expect(payloadOf(response)).toMatchObject({
        errorType: 'Runtime.ImportModuleError',
        errorMessage: "Unable to import module 'lambda_function': No module named 'irisfeat'",
      });
    },
    DOCKER_TIMEOUT,
  );

  it('never reuses a version number after an older version is deleted (as Lambda)', async () => {
    const name = uniqueName('versions');
    await createFunction(
      name,
      await zipOf({ 'lambda_function.py': 'def lambda_handler(event, context):\n    return 1\n' }),
    );
    const publish = async (description: string) => {
      await lambda.send(
        new UpdateFunctionConfigurationCommand({ FunctionName: name, Description: description }),
      );
      return (await lambda.send(new PublishVersionCommand({ FunctionName: name }))).Version;
    };
    expect([await publish('a'), await publish('b'), await publish('c')]).toEqual(['1', '2', '3']);
    await lambda.send(new DeleteFunctionCommand({ FunctionName: name, Qualifier: '2' }));
    expect(await publish('d')).toBe('4');
  });
});
