import {
  LambdaClient,
  LambdaServiceException,
  ListLayerVersionsCommand,
  PublishLayerVersionCommand,
} from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { findCachedLayer, publishLayer } from '../../src/packaging/layer-cache.js';
import { layerDescription } from '../../src/packaging/layer-key.js';

const client = new LambdaClient({
  region: 'us-east-1',
  credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
});
const lambda = mockClient(client);
const key = 'b'.repeat(64);
const other = 'c'.repeat(64);
const arn = (v: number) => `arn:aws:lambda:us-east-1:123456789012:layer:fn-deps:${v}`;
const noSleep = async () => undefined;

function lambdaError(name: string, status: number): LambdaServiceException {
  return new LambdaServiceException({
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status },
    message: name,
  });
}

beforeEach(() => lambda.reset());

describe('findCachedLayer', () => {
  it('pages through the versions and returns the newest one carrying the key', async () => {
    lambda
      .on(ListLayerVersionsCommand, { LayerName: 'fn-deps', Marker: undefined })
      .resolves({
        LayerVersions: [
          { LayerVersionArn: arn(9), Version: 9, Description: layerDescription({ key: other }) },
          { LayerVersionArn: arn(4), Version: 4, Description: layerDescription({ key }) },
        ],
        NextMarker: 'm1',
      })
      .on(ListLayerVersionsCommand, { LayerName: 'fn-deps', Marker: 'm1' })
      .resolves({
        LayerVersions: [
          {
            LayerVersionArn: arn(7),
            Version: 7,
            Description: layerDescription({ key, unzippedBytes: 5000 }),
          },
          { LayerVersionArn: arn(2), Version: 2, Description: 'someone else' },
        ],
      });
    await expect(findCachedLayer(client, 'fn-deps', key, { sleep: noSleep })).resolves.toEqual({
      layerVersionArn: arn(7),
      version: 7,
      unzippedBytes: 5000,
    });
    expect(lambda.commandCalls(ListLayerVersionsCommand)).toHaveLength(2);
  });

  it('returns undefined when no version has the key or the layer does not exist', async () => {
    lambda.on(ListLayerVersionsCommand).resolves({
      LayerVersions: [
        { LayerVersionArn: arn(1), Version: 1, Description: layerDescription({ key: other }) },
      ],
    });
    await expect(findCachedLayer(client, 'fn-deps', key)).resolves.toBeUndefined();
    lambda.reset();
    lambda.on(ListLayerVersionsCommand).rejects(lambdaError('ResourceNotFoundException', 404));
    await expect(findCachedLayer(client, 'fn-deps', key)).resolves.toBeUndefined();
  });

  it('retries throttling', async () => {
    lambda
      .on(ListLayerVersionsCommand)
      .rejectsOnce(lambdaError('TooManyRequestsException', 429))
      .resolves({
        LayerVersions: [
          { LayerVersionArn: arn(3), Version: 3, Description: layerDescription({ key }) },
        ],
      });
    await expect(
      findCachedLayer(client, 'fn-deps', key, { sleep: noSleep }),
    ).resolves.toMatchObject({ version: 3 });
    expect(lambda.commandCalls(ListLayerVersionsCommand)).toHaveLength(2);
  });

  it('explains an access denial', async () => {
    lambda.on(ListLayerVersionsCommand).rejects(lambdaError('AccessDeniedException', 403));
    await expect(findCachedLayer(client, 'fn-deps', key)).rejects.toThrow(
      /needs lambda:ListLayerVersions/,
    );
  });
});

describe('publishLayer', () => {
  it('publishes from S3 with the runtime, architecture and key in the description, retrying throttling', async () => {
    lambda
      .on(PublishLayerVersionCommand)
      .rejectsOnce(lambdaError('TooManyRequestsException', 429))
      .resolves({ LayerVersionArn: arn(8), Version: 8, Content: { CodeSize: 1234 } });
    const published = await publishLayer(
      client,
      {
        layerName: 'fn-deps',
        s3Bucket: 'bkt',
        s3Key: 'p/layers/x.zip',
        runtime: 'python3.12',
        architecture: 'arm64',
        key,
        unzippedBytes: 99,
      },
      { sleep: noSleep },
    );
    expect(published).toEqual({ layerVersionArn: arn(8), version: 8, codeSize: 1234 });
    const calls = lambda.commandCalls(PublishLayerVersionCommand);
    expect(calls).toHaveLength(2);
    expect(calls[1].args[0].input).toEqual({
      LayerName: 'fn-deps',
      Description: `lambda-ml-deploy layer key=${key} unzipped=99 python3.12 arm64`,
      Content: { S3Bucket: 'bkt', S3Key: 'p/layers/x.zip' },
      CompatibleRuntimes: ['python3.12'],
      CompatibleArchitectures: ['arm64'],
    });
  });
});
