import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { errorMessage } from './errors.js';

/**
 * Reads raw inputs and collects every validation problem, so a user with three typos sees three
 * messages in one run instead of three runs. Each problem names the input and what is expected.
 */
export class InputReader {
  readonly problems: string[] = [];

  constructor(
    private readonly getInput: (name: string) => string,
    private readonly workspace: string,
  ) {}

  raw(name: string): string {
    return this.getInput(name).trim();
  }

  fail(name: string, expected: string, got?: string): undefined {
    const shown =
      got === undefined ? '' : `, got '${got.length > 80 ? `${got.slice(0, 77)}...` : got}'`;
    this.problems.push(`Input '${name}': ${expected}${shown}.`);
    return undefined;
  }

  /** `because`: why this mode needs it, for inputs that only some modes need. */
  required(name: string, because?: string): string {
    const value = this.raw(name);
    if (!value)
      this.fail(
        name,
        `is required${because ? ` ${because}` : ''} and was not set; add it under \`with:\` in the workflow step`,
      );
    return value;
  }

  optional(name: string): string | undefined {
    const value = this.raw(name);
    return value === '' ? undefined : value;
  }

  pattern(
    name: string,
    value: string | undefined,
    regex: RegExp,
    expected: string,
  ): string | undefined {
    if (value === undefined || value === '') return undefined;
    return regex.test(value) ? value : this.fail(name, expected, value);
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const value = this.raw(name) || fallback;
    if ((allowed as readonly string[]).includes(value)) return value as T;
    this.fail(name, `must be one of ${allowed.join(', ')}`, value);
    return fallback;
  }

  bool(name: string, fallback: boolean): boolean {
    const value = this.raw(name);
    if (value === '') return fallback;
    if (/^(true|yes|on|1)$/i.test(value)) return true;
    if (/^(false|no|off|0)$/i.test(value)) return false;
    this.fail(name, 'must be true or false', value);
    return fallback;
  }

  int(name: string, min: number, max: number, fallback?: number): number | undefined {
    const value = this.raw(name);
    if (value === '') return fallback;
    if (!/^-?\d+$/.test(value))
      return this.fail(name, `must be a whole number from ${min} to ${max}`, value);
    const n = Number(value);
    if (n < min || n > max)
      return this.fail(name, `must be a whole number from ${min} to ${max}`, value);
    return n;
  }

  /** `300s`, `5m`, `1h30m`, `1500ms`, or a bare number of seconds; returns milliseconds. */
  duration(name: string, minMs: number, maxMs: number, fallback: string): number {
    const value = this.raw(name) || fallback;
    const ms = parseDuration(value);
    const range = `from ${formatDurationInput(minMs)} to ${formatDurationInput(maxMs)}`;
    if (ms === undefined) {
      this.fail(name, `must be a duration such as 30s, 5m or 1h30m (${range})`, value);
      return parseDuration(fallback) ?? 0;
    }
    if (ms < minMs || ms > maxMs) {
      this.fail(name, `must be a duration ${range}`, value);
      return parseDuration(fallback) ?? 0;
    }
    return ms;
  }

  /** Newline-separated list; blank lines and `#` comments dropped. */
  lines(name: string): string[] {
    return this.raw(name)
      .split(/\r?\n/)
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#'));
  }

  /** A path that must exist and resolve (symlinks included) inside the workspace. */
  existingPath(
    name: string,
    value: string | undefined,
    kind: 'file' | 'dir' | 'any',
  ): string | undefined {
    if (value === undefined || value === '') return undefined;
    const absolute = path.resolve(this.workspace, value);
    let stat: fs.Stats;
    let real: string;
    try {
      stat = fs.statSync(absolute);
      real = fs.realpathSync(absolute);
    } catch {
      return this.fail(
        name,
        `must name an existing ${kind === 'any' ? 'file or folder' : kind === 'dir' ? 'folder' : 'file'} in the workspace (paths are relative to the repository root)`,
        value,
      );
    }
    const workspaceReal = safeRealpath(this.workspace);
    if (real !== workspaceReal && !real.startsWith(workspaceReal + path.sep)) {
      return this.fail(
        name,
        'must stay inside the workspace (no absolute paths elsewhere, no ../ or links leading out)',
        value,
      );
    }
    if (kind === 'file' && !stat.isFile())
      return this.fail(name, 'must be a file, not a folder', value);
    if (kind === 'dir' && !stat.isDirectory())
      return this.fail(name, 'must be a folder, not a file', value);
    return absolute;
  }

  /** A YAML or JSON map of environment variables (string keys, scalar values). */
  envMap(name: string): Record<string, string> | undefined {
    const value = this.raw(name);
    if (value === '') return undefined;
    let parsed: unknown;
    try {
      parsed = parseYaml(value);
    } catch (error) {
      return this.fail(
        name,
        `must be a YAML or JSON map (KEY: value); it does not parse: ${errorMessage(error).split('\n')[0]}`,
      );
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      return this.fail(
        name,
        'must be a YAML or JSON map such as `{MODEL_NAME: iris, LOG_LEVEL: info}`',
      );
    }
    const result: Record<string, string> = {};
    for (const [key, raw] of Object.entries(parsed as Record<string, unknown>)) {
      if (!/^[a-zA-Z]\w*$/.test(key)) {
        this.fail(
          name,
          `has key '${key}': keys must start with a letter and hold only letters, digits and _`,
        );
        continue;
      }
      if (RESERVED_ENV_KEYS.has(key)) {
        this.fail(name, `has key '${key}', which Lambda reserves; pick another name`);
        continue;
      }
      if (raw !== null && typeof raw === 'object') {
        this.fail(
          name,
          `has key '${key}' with a nested value; values must be strings, numbers or booleans`,
        );
        continue;
      }
      result[key] = raw === null || raw === undefined ? '' : String(raw);
    }
    return result;
  }
}

// Lambda rejects these in Environment.Variables.
const RESERVED_ENV_KEYS = new Set([
  '_HANDLER',
  '_X_AMZN_TRACE_ID',
  'AWS_DEFAULT_REGION',
  'AWS_REGION',
  'AWS_EXECUTION_ENV',
  'AWS_LAMBDA_FUNCTION_NAME',
  'AWS_LAMBDA_FUNCTION_MEMORY_SIZE',
  'AWS_LAMBDA_FUNCTION_VERSION',
  'AWS_LAMBDA_INITIALIZATION_TYPE',
  'AWS_LAMBDA_LOG_GROUP_NAME',
  'AWS_LAMBDA_LOG_STREAM_NAME',
  'AWS_ACCESS_KEY',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_LAMBDA_RUNTIME_API',
  'LAMBDA_TASK_ROOT',
  'LAMBDA_RUNTIME_DIR',
]);

export function parseDuration(text: string): number | undefined {
  const value = text.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const match = /^(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?(?:(\d+)ms)?$/.exec(value);
  if (!match || value === '') return undefined;
  const [, h, m, s, ms] = match;
  return (Number(h ?? 0) * 3600 + Number(m ?? 0) * 60 + Number(s ?? 0)) * 1000 + Number(ms ?? 0);
}

function formatDurationInput(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

function safeRealpath(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return path.resolve(p);
  }
}
