// Types of suite.mjs (the chaos suite), for the jest e2e subset.
export interface Violation {
  seed: number;
  scenario: string;
  invariant: 'a' | 'b' | 'c' | 'd' | 'restore' | 'conflict' | 'lost-update' | 'sandbox';
  message: string;
}

export interface RunPlan {
  seed: number;
  scenario: 'all-at-once' | 'canary' | 'rollback' | 'preview' | 'cleanup';
  variant: 'good' | 'bad';
  /** SIGTERM this long after the step's first log line. */
  killAtMs?: number;
  /** SIGTERM before the step printed anything. */
  killAtStart?: boolean;
  flip: boolean;
}

export interface RunResult extends RunPlan {
  flipped: boolean;
  killed: boolean;
  green: boolean;
  expectGreen: boolean;
  restored?: boolean;
  faults: string[];
  calls: number;
  violations: Array<{ invariant: string; message: string }>;
  error?: string;
  ms: number;
}

export interface PairResult {
  seed: number;
  outcomes: Array<'live' | 'conflict'>;
  violations: Array<{ invariant: string; message: string }>;
  errors: string[];
}

export interface ChaosSummary {
  runs: number;
  perScenario: Record<
    string,
    { runs: number; good: number; bad: number; killed: number; faulted: number }
  >;
  faultsByKind: Record<string, number>;
  violations: Violation[];
  violationsByInvariant: Record<string, number>;
  greenDespiteFaults: { green: number; of: number };
  killed: { restored: number; of: number };
  pairs: { count: number; bothLive: number; oneConflict: number; bothConflict: number };
  /** Failures of the sandbox itself (moto's containers), listed apart from violations. */
  sandboxErrors: Violation[];
  redDespiteGood: Array<{ seed: number; scenario: string; error?: string }>;
  harnessErrors: Array<{ seed: number; error: string }>;
  results: RunResult[];
}

export interface ChaosOptions {
  /** The repository root (dist/index.js, action.yml, .sandbox/env.json). */
  root: string;
  seeds: number[];
  pairs?: number;
  pairSeedBase?: number;
  /** Share of AWS calls faulted (default 0.1). */
  rate?: number;
  killRate?: number;
  /** Some SIGTERMs land before the step's first log line (default true). */
  startKills?: boolean;
  /** Lanes run side by side (default 1). */
  jobs?: number;
  onResult?: (result: RunResult) => void;
  onPair?: (pair: PairResult) => void;
}

export declare function planForSeed(
  seed: number,
  options?: { killRate?: number; startKills?: boolean },
): RunPlan;
export declare function runChaos(options: ChaosOptions): Promise<ChaosSummary>;
export declare function summarize(
  results: RunResult[],
  pairs?: PairResult[],
  harnessErrors?: Array<{ seed: number; error: string }>,
): ChaosSummary;
export declare function formatTable(summary: ChaosSummary): string;
