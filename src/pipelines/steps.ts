import { errorMessage } from '../errors.js';
import { formatDuration, type Clock, type Logger } from '../log.js';

export interface StepRecord {
  name: string;
  ms: number;
  outcome: 'ok' | 'failed' | 'skipped';
  note?: string;
}

/** Runs each pipeline step in a log group and keeps its duration and outcome for the summary. */
export class StepTimer {
  readonly records: StepRecord[] = [];

  constructor(
    private readonly logger: Logger,
    private readonly clock: Clock,
  ) {}

  async run<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const started = this.clock.now();
    try {
      const result = await this.logger.group(name, fn);
      this.records.push({ name, ms: this.clock.now() - started, outcome: 'ok' });
      return result;
    } catch (error) {
      this.records.push({
        name,
        ms: this.clock.now() - started,
        outcome: 'failed',
        note: errorMessage(error).split('\n')[0],
      });
      throw error;
    }
  }

  skip(name: string, note: string): void {
    this.logger.info(`${name}: skipped (${note})`);
    this.records.push({ name, ms: 0, outcome: 'skipped', note });
  }

  rows(): string[][] {
    const icon = { ok: '✅', failed: '❌', skipped: '⏭️' } as const;
    return this.records.map((r) => [
      r.name,
      `${icon[r.outcome]} ${r.outcome}`,
      r.outcome === 'skipped' ? '' : formatDuration(r.ms),
      r.note ?? '',
    ]);
  }
}
