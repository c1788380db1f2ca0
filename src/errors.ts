/** Turns anything thrown (Error, AWS service exception, string, object) into one readable line. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) {
    const plain = error instanceof ActionError || !error.name || error.name === 'Error';
    const name = plain ? '' : `${error.name}: `;
    return `${name}${error.message || '(no message)'}`;
  }
  if (typeof error === 'string') return error;
  if (error && typeof error === 'object') {
    const record = error as Record<string, unknown>;
    if (typeof record.message === 'string') return record.message;
    try {
      return JSON.stringify(error);
    } catch {
      return String(error);
    }
  }
  return String(error);
}

/** The AWS error code of an SDK v3 exception (`name`, or `Code` on some XML services). */
export function errorCode(error: unknown): string | undefined {
  if (error && typeof error === 'object') {
    const record = error as Record<string, unknown>;
    if (typeof record.name === 'string' && record.name !== 'Error') return record.name;
    if (typeof record.Code === 'string') return record.Code;
    if (typeof record.code === 'string') return record.code;
  }
  return undefined;
}

/** HTTP status of an SDK v3 exception, when it carries one. */
export function httpStatus(error: unknown): number | undefined {
  if (error && typeof error === 'object') {
    const meta = (error as { $metadata?: { httpStatusCode?: number } }).$metadata;
    if (meta && typeof meta.httpStatusCode === 'number') return meta.httpStatusCode;
  }
  return undefined;
}

/** A failure whose message is already written for the user (shown as is, no type prefix). */
export class ActionError extends Error {
  override name = 'ActionError';
}

/** A bad action input: the message always names the input and says what is expected. */
export class InputError extends ActionError {
  override name = 'InputError';
  constructor(
    readonly input: string,
    detail: string,
  ) {
    super(`Input '${input}': ${detail}`);
  }
}
