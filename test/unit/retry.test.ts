import { jest } from '@jest/globals';
import { errorMessage } from '../../src/errors.js';
import { isTransient, withRetry } from '../../src/retry.js';

describe('withRetry', () => {
  it('stops at the first non-retryable error', async () => {
    const fn = jest.fn(async () => {
      throw Object.assign(new Error('nope'), { name: 'ValidationException' });
    });
    await expect(withRetry(fn, { sleep: async () => {} })).rejects.toThrow('nope');
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('backs off exponentially with jitter within the ceiling', async () => {
    const sleeps: number[] = [];
    let n = 0;
    const result = await withRetry(
      async () => {
        if (++n < 4)
          throw Object.assign(new Error('slow down'), { name: 'TooManyRequestsException' });
        return 'ok';
      },
      { baseDelayMs: 100, sleep: async (ms) => void sleeps.push(ms), random: () => 1 },
    );
    expect(result).toBe('ok');
    expect(sleeps).toEqual([100, 200, 400]);
  });

  it('treats 5xx, 429 and update conflicts as transient', () => {
    expect(isTransient({ $metadata: { httpStatusCode: 503 } })).toBe(true);
    expect(isTransient({ $metadata: { httpStatusCode: 429 } })).toBe(true);
    expect(isTransient(Object.assign(new Error('x'), { name: 'ResourceConflictException' }))).toBe(
      true,
    );
    expect(isTransient(Object.assign(new Error('x'), { name: 'AccessDeniedException' }))).toBe(
      false,
    );
    expect(isTransient({ $metadata: { httpStatusCode: 400 } })).toBe(false);
  });
});

describe('errorMessage', () => {
  it('reads anything thrown', () => {
    expect(errorMessage(new Error('plain'))).toBe('plain');
    expect(errorMessage(Object.assign(new Error('denied'), { name: 'AccessDenied' }))).toBe(
      'AccessDenied: denied',
    );
    expect(errorMessage('a string')).toBe('a string');
    expect(errorMessage({ message: 'from an object' })).toBe('from an object');
    expect(errorMessage({ code: 42 })).toBe('{"code":42}');
    expect(errorMessage(undefined)).toBe('undefined');
    expect(errorMessage(null)).toBe('null');
  });
});
