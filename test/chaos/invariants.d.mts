// Types of invariants.mjs.
import type { AliasWrite } from './fault-proxy.mjs';

export interface AliasView {
  name: string;
  version: string;
  weights: Record<string, number>;
  description?: string;
}
export interface AwsView {
  aliases: AliasView[];
  versions: string[];
}
export interface StepView {
  exitCode: number | null;
  timedOut?: boolean;
  outputs: Record<string, string>;
  annotations: Array<{ level: string; message: string }>;
  visibleLog: string;
  summary: string;
}
export interface Found {
  invariant: string;
  message: string;
}

export declare function routed(alias: {
  version?: string;
  weights?: Record<string, number>;
}): string[];
export declare function recordedPrevious(description: string | undefined): string | undefined;
export declare function namesAStep(message: string): boolean;
export declare function passedVersions(
  run: { outputs?: Record<string, string> } | undefined,
): string[];
export declare function checkRun(record: {
  before: AwsView;
  after: AwsView;
  proxy: { aliasWrites: AliasWrite[]; versionDeletes: Array<{ version: string }> };
  main: StepView;
  post?: StepView;
  passed: string[];
  bad?: string[];
  killed: boolean;
  expectRed?: string;
  secrets: string[];
}): Found[];
export declare function checkPair(pair: {
  alias: string;
  before: AwsView;
  after: AwsView;
  runs: Array<{
    main: StepView;
    passed: string[];
    published: Array<{ version: string; sha: string }>;
    aliasWrites: AliasWrite[];
  }>;
  secrets: string[];
}): Found[];
