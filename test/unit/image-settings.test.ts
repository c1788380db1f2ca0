import {
  CreateRepositoryCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  GetAuthorizationTokenCommand,
  RepositoryNotFoundException,
} from '@aws-sdk/client-ecr';
import { mockClient } from 'aws-sdk-client-mock';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { memoryLogger } from '../../src/log.js';
import { ensureRepository, loginToRegistry } from '../../src/packaging/image/ecr.js';
import { readSettings, SettingsError, type EventContext } from '../../src/settings.js';

const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'image-settings-'));
fs.mkdirSync(path.join(workspace, 'app'));
fs.writeFileSync(path.join(workspace, 'app', 'lambda_function.py'), 'x = 1\n');
afterAll(() => fs.rmSync(workspace, { recursive: true, force: true }));

const push: EventContext = { eventName: 'push', payload: {} };
const image: Record<string, string> = {
  'aws-region': 'eu-west-1',
  'function-name': 'iris',
  'source-dir': 'app',
  'package-type': 'image',
  'ecr-repository': 'ml/iris',
};

function problemsOf(inputs: Record<string, string>): string[] {
  try {
    readSettings((name) => inputs[name] ?? '', push, workspace);
  } catch (error) {
    if (error instanceof SettingsError) return error.problems;
    throw error;
  }
  return [];
}

describe('image settings', () => {
  it('defaults the base image to AWS Lambda Python base for runtime and architecture; no bucket needed', () => {
    const s = readSettings(
      (name) => ({ ...image, runtime: 'python3.12', architecture: 'arm64' })[name] ?? '',
      push,
      workspace,
    );
    if (s.mode !== 'deploy') throw new Error('expected deploy');
    expect(s.build.image).toEqual({
      baseImage: 'public.ecr.aws/lambda/python:3.12-arm64',
      repository: 'ml/iris',
      createRepository: true,
    });
  });

  it('names the input and the fix', () => {
    expect(problemsOf({ ...image, 'ecr-repository': '' }).join('\n')).toMatch(/ecr-repository/);
    expect(problemsOf({ ...image, 'ecr-repository': 'Bad Name' }).join('\n')).toMatch(
      /ecr-repository.*ECR repository name/,
    );
    expect(problemsOf({ ...image, layers: 'arn:aws:lambda:eu-west-1:1:layer:x:1' }).join()).toMatch(
      /layers.*package-type: image/,
    );
    expect(problemsOf({ ...image, 'package-type': 'zip', 's3-bucket': 'b' }).join()).toMatch(
      /ecr-repository.*applies to package-type: image only/,
    );
    expect(problemsOf({ ...image, 'package-type': 'oci' }).join()).toMatch(/package-type/);
  });
});

describe('ECR repository and login', () => {
  const ecrMock = mockClient(ECRClient);
  const ecr = new ECRClient({ region: 'eu-west-1' });
  const options = { logger: memoryLogger(), sleep: async () => undefined };
  beforeEach(() => ecrMock.reset());

  it('uses the repository that exists', async () => {
    ecrMock.on(DescribeRepositoriesCommand).resolves({
      repositories: [{ repositoryUri: '1.dkr.ecr.eu-west-1.amazonaws.com/ml/iris' }],
    });
    const repo = await ensureRepository(ecr, 'ml/iris', true, options);
    expect(repo).toEqual({
      name: 'ml/iris',
      uri: '1.dkr.ecr.eu-west-1.amazonaws.com/ml/iris',
      created: false,
    });
    expect(ecrMock.commandCalls(CreateRepositoryCommand)).toHaveLength(0);
  });

  it('creates a missing repository with immutable tags, or refuses when told not to', async () => {
    const missing = new RepositoryNotFoundException({ message: 'nope', $metadata: {} });
    ecrMock.on(DescribeRepositoriesCommand).rejects(missing);
    ecrMock
      .on(CreateRepositoryCommand)
      .resolves({ repository: { repositoryUri: '1.dkr.ecr.eu-west-1.amazonaws.com/ml/iris' } });
    await expect(ensureRepository(ecr, 'ml/iris', false, options)).rejects.toThrow(
      /does not exist.*create-repository is false/,
    );
    expect(ecrMock.commandCalls(CreateRepositoryCommand)).toHaveLength(0);
    const created = await ensureRepository(ecr, 'ml/iris', true, options);
    expect(created.created).toBe(true);
    expect(ecrMock.commandCalls(CreateRepositoryCommand)[0].args[0].input).toMatchObject({
      repositoryName: 'ml/iris',
      imageTagMutability: 'IMMUTABLE',
    });
  });

  it('logs in with the token; an endpoint override replaces the registry ECR names', async () => {
    ecrMock.on(GetAuthorizationTokenCommand).resolves({
      authorizationData: [
        {
          authorizationToken: Buffer.from('AWS:secret').toString('base64'),
          proxyEndpoint: 'https://1.dkr.ecr.eu-west-1.amazonaws.com',
        },
      ],
    });
    expect(await loginToRegistry(ecr, undefined, options)).toEqual({
      endpoint: 'https://1.dkr.ecr.eu-west-1.amazonaws.com',
      basic: 'AWS:secret',
    });
    expect((await loginToRegistry(ecr, 'http://127.0.0.1:5000', options)).endpoint).toBe(
      'http://127.0.0.1:5000',
    );
  });
});
