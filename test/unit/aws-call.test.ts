import { jest } from '@jest/globals';
import {
  AWS_RETRY,
  callAws,
  failureKind,
  isConflict,
  isFunctionMissing,
  isNotFound,
  isPreconditionFailed,
} from '../../src/aws/call.js';
import { createAwsClients, destroyAwsClients } from '../../src/aws/clients.js';
import { memoryLogger } from '../../src/log.js';

const awsError = (name: string, status?: number, message = name) =>
  Object.assign(new Error(message), {
    name,
    ...(status ? { $metadata: { httpStatusCode: status } } : {}),
  });

describe('AWS clients', () => {
  it('make one attempt per SDK call: the only retries are callAws', async () => {
    const clients = createAwsClients({ region: 'eu-west-1', endpoint: 'http://127.0.0.1:1' });
    try {
      for (const client of [clients.lambda, clients.s3, clients.sts, clients.cloudwatch]) {
        expect(await client.config.maxAttempts()).toBe(1);
      }
    } finally {
      destroyAwsClients(clients);
    }
  });
});

describe('callAws', () => {
  it('retries throttling with backoff, logs one line per retry, then returns', async () => {
    const logger = memoryLogger();
    const sleeps: number[] = [];
    let calls = 0;
    const result = await callAws(
      'UpdateAlias fn:prod',
      async (attempt) => {
        calls++;
        if (attempt < 3) throw awsError('TooManyRequestsException', 429);
        return 'done';
      },
      { logger, sleep: async (ms) => void sleeps.push(ms) },
    );
    expect(result).toBe('done');
    expect(calls).toBe(3);
    expect(sleeps).toHaveLength(2);
    expect(
      logger.lines.filter((l) => /UpdateAlias fn:prod: TooManyRequestsException, retry/.test(l)),
    ).toHaveLength(2);
  });

  it('does not retry a final error, and gives up after the policy attempts', async () => {
    const denied = jest.fn(async () => {
      throw awsError('AccessDeniedException', 403);
    });
    await expect(callAws('GetAlias', denied, { sleep: async () => {} })).rejects.toThrow();
    expect(denied).toHaveBeenCalledTimes(1);

    const busy = jest.fn(async () => {
      throw awsError('ServiceUnavailableException', 503);
    });
    await expect(callAws('GetAlias', busy, { sleep: async () => {} })).rejects.toThrow();
    expect(busy).toHaveBeenCalledTimes(AWS_RETRY.attempts);
  });

  it('after an ambiguous failure asks onAmbiguous first, and takes its answer when the write landed', async () => {
    const send = jest.fn(async () => {
      throw awsError('ServiceUnavailableException', 503);
    });
    const reread = jest.fn(async () => ({ value: 'landed' }));
    await expect(
      callAws('UpdateAlias', send, { sleep: async () => {}, onAmbiguous: reread }),
    ).resolves.toBe('landed');
    expect(send).toHaveBeenCalledTimes(1);
    expect(reread).toHaveBeenCalledTimes(1);
  });

  it('re-sends when onAmbiguous finds nothing, and never asks it after a throttle', async () => {
    let n = 0;
    const send = jest.fn(async () => {
      n++;
      if (n === 1) throw awsError('InternalFailure', 500);
      if (n === 2) throw awsError('ThrottlingException', 400);
      return 'ok';
    });
    const reread = jest.fn(async () => undefined);
    await expect(
      callAws('UpdateAlias', send, { sleep: async () => {}, onAmbiguous: reread }),
    ).resolves.toBe('ok');
    expect(send).toHaveBeenCalledTimes(3);
    expect(reread).toHaveBeenCalledTimes(1);
  });
});

describe('error classification', () => {
  it('sorts failures into rejected, ambiguous and final', () => {
    expect(failureKind(awsError('ThrottlingException', 400))).toBe('rejected');
    expect(failureKind(awsError('ResourceConflictException', 409))).toBe('rejected');
    expect(failureKind({ $metadata: { httpStatusCode: 429 } })).toBe('rejected');
    expect(failureKind(awsError('ServiceException', 500))).toBe('ambiguous');
    expect(failureKind(awsError('ECONNRESET'))).toBe('ambiguous');
    expect(failureKind(awsError('PreconditionFailedException', 412))).toBe('final');
    expect(failureKind(awsError('AccessDeniedException', 403))).toBe('final');
  });

  it('names not-found, missing function, conflict and precondition failures', () => {
    expect(isNotFound(awsError('ResourceNotFoundException', 404))).toBe(true);
    expect(isNotFound(awsError('NotFound', 404))).toBe(true);
    expect(isNotFound(awsError('NoSuchKey'))).toBe(true);
    expect(isNotFound(awsError('AccessDeniedException', 403))).toBe(false);
    expect(
      isFunctionMissing(awsError('ResourceNotFoundException', 404, 'Function not found: arn')),
    ).toBe(true);
    expect(isFunctionMissing(awsError('ResourceNotFoundException', 404, 'Alias not found'))).toBe(
      false,
    );
    expect(isConflict(awsError('ResourceConflictException', 409))).toBe(true);
    expect(isConflict(awsError('ConflictException', 409))).toBe(true);
    expect(isPreconditionFailed(awsError('PreconditionFailedException', 412))).toBe(true);
    expect(isPreconditionFailed(awsError('ResourceConflictException', 409))).toBe(false);
  });
});
