// Types of scenarios.mjs (one chaos run, one concurrent pair), for the jest e2e subset.
import type { PairResult, RunPlan, RunResult } from './suite.mjs';

export interface Lane {
  root: string;
  lane: number;
  rate: number;
  /** Keep the logs of every run in .chaos/, not only of violating ones. */
  keepLogs?: boolean;
  close(): void;
}

export declare const SCENARIOS: RunPlan['scenario'][];
export declare const VARIANTS: RunPlan['variant'][];
export declare function planRun(
  seed: number,
  scenario: RunPlan['scenario'],
  variant: RunPlan['variant'],
  options?: { killRate?: number; startKills?: boolean },
): RunPlan;
export declare function createLane(options: { root: string; lane?: number; rate?: number }): Lane;
export declare function runScenario(lane: Lane, plan: RunPlan): Promise<RunResult>;
export declare function runPair(lane: Lane, seed: number, laneB: Lane): Promise<PairResult>;
