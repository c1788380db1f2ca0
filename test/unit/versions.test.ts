import {
  DeleteFunctionCommand,
  LambdaClient,
  ResourceConflictException,
  ResourceNotFoundException,
  TooManyRequestsException,
} from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { deleteVersion } from '../../src/release/function/versions.js';

const lambdaMock = mockClient(LambdaClient);
const lambda = new LambdaClient({ region: 'us-east-1' });
beforeEach(() => lambdaMock.reset());

describe('deleteVersion', () => {
  it('a version an alias references is kept at once: not retried as if transient', async () => {
    lambdaMock.on(DeleteFunctionCommand).rejects(
      new ResourceConflictException({
        message: 'Unable to delete version because the following aliases reference it: [prod]',
        $metadata: { httpStatusCode: 409 },
      }),
    );
    const sleeps: number[] = [];
    await expect(
      deleteVersion(lambda, 'iris', '4', async (ms) => void sleeps.push(ms)),
    ).resolves.toBe('in-use');
    expect(lambdaMock.commandCalls(DeleteFunctionCommand)).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it('throttling and "update in progress" conflicts are retried; a gone version is fine', async () => {
    lambdaMock
      .on(DeleteFunctionCommand)
      .rejectsOnce(new TooManyRequestsException({ message: 'Rate exceeded', $metadata: {} }))
      .rejectsOnce(
        new ResourceConflictException({
          message: 'The operation cannot be performed at this time. An update is in progress',
          $metadata: {},
        }),
      )
      .resolves({});
    await expect(deleteVersion(lambda, 'iris', '4', async () => undefined)).resolves.toBe(
      'deleted',
    );
    expect(lambdaMock.commandCalls(DeleteFunctionCommand)).toHaveLength(3);

    lambdaMock.reset();
    lambdaMock
      .on(DeleteFunctionCommand)
      .rejects(new ResourceNotFoundException({ message: 'Function not found', $metadata: {} }));
    await expect(deleteVersion(lambda, 'iris', '4')).resolves.toBe('gone');
  });
});
