/**
 * What steps need from the runner's log. main.ts backs it with @actions/core; tests use
 * `memoryLogger()`. Steps never import @actions/core themselves.
 */
export interface Logger {
  info(message: string): void;
  warning(message: string): void;
  notice(message: string): void;
  debug(message: string): void;
  /** A collapsible group in the log; the time it took is printed at its end. */
  group<T>(title: string, fn: () => Promise<T>): Promise<T>;
  /**
   * A transient line (e.g. an upload's progress), redrawn in place on an interactive terminal and
   * replaced by the next line; absent where the log is a file (the Actions log, CI).
   */
  status?(text: string): void;
}

export interface MemoryLogger extends Logger {
  lines: string[];
}

export function memoryLogger(): MemoryLogger {
  const lines: string[] = [];
  return {
    lines,
    info: (m) => void lines.push(m),
    warning: (m) => void lines.push(`warning: ${m}`),
    notice: (m) => void lines.push(`notice: ${m}`),
    debug: (m) => void lines.push(`debug: ${m}`),
    async group(title, fn) {
      lines.push(`::group::${title}`);
      try {
        return await fn();
      } finally {
        lines.push('::endgroup::');
      }
    },
  };
}

/** A clock steps can be given, so that timings and waits are testable. */
export interface Clock {
  now: () => number;
  sleep: (ms: number) => Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes} min ${Math.round((ms % 60_000) / 1000)} s`;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value >= 100 ? 0 : 1)} ${units[unit]}`;
}
