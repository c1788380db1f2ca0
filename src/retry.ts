import { errorCode, httpStatus } from './errors.js';

export type Sleep = (ms: number) => Promise<void>;
export const realSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export interface RetryOptions {
  /** Attempts in total, the first included. */
  attempts?: number;
  /** First delay; doubles each time, with full jitter, up to maxDelayMs. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  isRetryable?: (error: unknown) => boolean;
  sleep?: Sleep;
  /** Called before each wait, e.g. to log "throttled, retrying in 2s". */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  random?: () => number;
}

const RETRYABLE_CODES = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'ProvisionedThroughputExceededException',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'ServiceException',
  'InternalFailure',
  'InternalError',
  'InternalServerError',
  'ResourceConflictException',
  'IDPCommunicationError',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
]);

/** Throttling, 5xx, "update in progress" conflicts and network resets are worth another try. */
export function isTransient(error: unknown): boolean {
  const code = errorCode(error);
  if (code && RETRYABLE_CODES.has(code)) return true;
  const status = httpStatus(error);
  return status !== undefined && (status === 429 || status >= 500);
}

const NO_ANSWER = new Set([
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
]);

/**
 * Whether a failed write may have landed anyway: a 5xx or a lost connection / timeout after the
 * request was sent. Throttling (429), conflicts and refused connections mean it did not. After an
 * ambiguous failure a guarded write re-reads before it decides (success, retry or conflict).
 */
export function isAmbiguous(error: unknown): boolean {
  const status = httpStatus(error);
  if (status === 429) return false;
  if (status !== undefined && status >= 500) return true;
  const code = errorCode(error);
  return code !== undefined && NO_ANSWER.has(code);
}

/** Runs `fn` until it succeeds, a non-retryable error occurs, or attempts run out. */
export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  options: RetryOptions = {},
): Promise<T> {
  const attempts = options.attempts ?? 5;
  const base = options.baseDelayMs ?? 500;
  const max = options.maxDelayMs ?? 20_000;
  const isRetryable = options.isRetryable ?? isTransient;
  const sleep = options.sleep ?? realSleep;
  const random = options.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (attempt >= attempts || !isRetryable(error)) throw error;
      const ceiling = Math.min(max, base * 2 ** (attempt - 1));
      const delay = Math.round(ceiling / 2 + (random() * ceiling) / 2);
      options.onRetry?.(error, attempt, delay);
      await sleep(delay);
    }
  }
}
