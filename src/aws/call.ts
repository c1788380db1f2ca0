import { errorCode, errorMessage, httpStatus } from '../errors.js';
import type { Logger } from '../log.js';
import { isTransient, withRetry, type Sleep } from '../retry.js';

/**
 * The one retry policy for AWS calls. The SDK clients make a single attempt each
 * (`maxAttempts: 1` in clients.ts), so every retry is one of these, logged the same way, with
 * a sleep that tests replace.
 */
export const AWS_RETRY = { attempts: 6, baseDelayMs: 1000, maxDelayMs: 20_000 } as const;

/** What every AWS-calling step accepts: a sleep (tests), a logger for the retry lines, a budget. */
export interface AwsCallOptions {
  sleep?: Sleep;
  logger?: Pick<Logger, 'info'>;
  /** Attempts in total, the first included (default AWS_RETRY.attempts). */
  attempts?: number;
  baseDelayMs?: number;
}

/**
 * How a failed call may be retried:
 * - `rejected`: refused before any effect (throttling, "update in progress"): safe to re-send;
 * - `ambiguous`: 5xx, timeouts, connection resets: a write may have landed, so a guarded write
 *   should re-read before deciding (the `onAmbiguous` hook);
 * - `final`: anything else; not retried.
 */
export type FailureKind = 'rejected' | 'ambiguous' | 'final';

const REJECTED_CODES = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'ProvisionedThroughputExceededException',
  'ResourceConflictException',
  'IDPCommunicationError',
]);

export function failureKind(error: unknown): FailureKind {
  if (!isTransient(error)) return 'final';
  const code = errorCode(error);
  if ((code && REJECTED_CODES.has(code)) || httpStatus(error) === 429) return 'rejected';
  return 'ambiguous';
}

export interface CallAwsOptions<T> extends AwsCallOptions {
  /** Which errors are worth another attempt (default: transient ones, see retry.ts). */
  isRetryable?: (error: unknown) => boolean;
  /**
   * Called after an ambiguous failure, before the next attempt: re-read and return `{ value }`
   * when the write is found to have landed (that value is the call's result), else undefined.
   */
  onAmbiguous?: (error: unknown) => Promise<{ value: T } | undefined>;
}

/** Runs one AWS call under the policy; `fn` gets the attempt number (1 for the first). */
export async function callAws<T>(
  label: string,
  fn: (attempt: number) => Promise<T>,
  options: CallAwsOptions<T> = {},
): Promise<T> {
  let pendingCheck: unknown;
  return withRetry(
    async (attempt) => {
      if (pendingCheck !== undefined && options.onAmbiguous) {
        const error = pendingCheck;
        pendingCheck = undefined;
        const landed = await options.onAmbiguous(error);
        if (landed) return landed.value;
      }
      try {
        return await fn(attempt);
      } catch (error) {
        if (failureKind(error) === 'ambiguous') pendingCheck = error;
        throw error;
      }
    },
    {
      attempts: options.attempts ?? AWS_RETRY.attempts,
      baseDelayMs: options.baseDelayMs ?? AWS_RETRY.baseDelayMs,
      maxDelayMs: AWS_RETRY.maxDelayMs,
      isRetryable: options.isRetryable ?? isTransient,
      ...(options.sleep ? { sleep: options.sleep } : {}),
      onRetry: (error, attempt, delay) =>
        options.logger?.info(
          `${label}: ${errorCode(error) ?? errorMessage(error)}, retry ${attempt} in ${delay} ms`,
        ),
    },
  );
}

/** The resource (function, alias, version, layer, URL config, policy, object) does not exist. */
export function isNotFound(error: unknown): boolean {
  const code = errorCode(error);
  return (
    code === 'ResourceNotFoundException' ||
    code === 'NotFound' ||
    code === 'NoSuchKey' ||
    httpStatus(error) === 404
  );
}

/** Lambda's "function not found" (as opposed to a missing alias or version of a function). */
export function isFunctionMissing(error: unknown): boolean {
  return isNotFound(error) && /function not found/i.test(errorMessage(error));
}

/** A create that met an existing resource, or an update that met one in progress. */
export function isConflict(error: unknown): boolean {
  const code = errorCode(error);
  return code === 'ResourceConflictException' || code === 'ConflictException';
}

/** The RevisionId a write carried is no longer current: someone else wrote in between. */
export function isPreconditionFailed(error: unknown): boolean {
  return errorCode(error) === 'PreconditionFailedException';
}
