import { spawn } from 'node:child_process';

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Each output line is passed here as it arrives (progress in the log). */
  onLine?: (line: string) => void;
}

/**
 * Runs a program with an argument list: never a shell, so no input is ever parsed as shell.
 * Resolves with the exit code; the caller decides what a non-zero code means.
 */
export type CommandRunner = (
  command: string,
  args: readonly string[],
  options?: RunOptions,
) => Promise<RunResult>;

export const runCommand: CommandRunner = (command, args, options = {}) =>
  new Promise((resolve, reject) => {
    const child = spawn(command, [...args], {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      shell: false,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    // Splits output into lines for onLine; flush() passes on a last line with no newline.
    const lineSplitter = () => {
      let pending = '';
      const push = (chunk: Buffer) => {
        if (!options.onLine) return;
        pending += chunk.toString('utf8');
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) options.onLine(line);
      };
      const flush = () => {
        if (options.onLine && pending !== '') options.onLine(pending);
        pending = '';
      };
      return Object.assign(push, { flush });
    };
    const onOut = lineSplitter();
    const onErr = lineSplitter();
    child.stdout.on('data', (chunk: Buffer) => {
      out.push(chunk);
      onOut(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      err.push(chunk);
      onErr(chunk);
    });
    child.on('error', (error: NodeJS.ErrnoException) => {
      reject(error.code === 'ENOENT' ? new Error(`'${command}' was not found on PATH`) : error);
    });
    child.on('close', (code, signal) => {
      onOut.flush();
      onErr.flush();
      resolve({
        exitCode: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
  });

export interface UserIds {
  uid: number;
  gid: number;
}

/** The runner's uid/gid (so files written in the container are not root-owned); undefined where there is none (Windows). */
export function currentUser(): UserIds | undefined {
  if (typeof process.getuid !== 'function' || typeof process.getgid !== 'function')
    return undefined;
  return { uid: process.getuid(), gid: process.getgid() };
}

/** Hides `user:password@` in URLs before a command line is logged. */
export function redactCredentials(text: string): string {
  return text.replace(/(\/\/)[^/@\s:]+:[^/@\s]*@/g, '$1***:***@');
}

/** A command line for the log: arguments quoted when needed, the long fixed Python scripts abbreviated. */
export function describeCommand(command: string, args: readonly string[]): string {
  const shown = args.map((arg, i) => {
    if (args[i - 1] === '-c' && arg.includes('\n')) return '<script>';
    const safe = redactCredentials(arg);
    return /^[\w@%+=:,./-]+$/.test(safe) ? safe : `'${safe.replace(/'/g, `'\\''`)}'`;
  });
  return [command, ...shown].join(' ');
}

/** Keeps the last lines of a stream of output, for error messages. */
export function tailKeeper(limit = 25): { push(line: string): void; text(): string } {
  const lines: string[] = [];
  return {
    push(line) {
      lines.push(line);
      if (lines.length > limit) lines.shift();
    },
    text: () => lines.join('\n'),
  };
}
