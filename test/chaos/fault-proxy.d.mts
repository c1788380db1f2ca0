// Types of fault-proxy.mjs.
export type FaultKind =
  'throttle' | 'error-before' | 'error-after' | 'conflict' | 'reset' | 'latency';
export declare const FAULT_KINDS: FaultKind[];

export interface AliasWrite {
  seq: number;
  operation: 'CreateAlias' | 'UpdateAlias' | 'DeleteAlias';
  functionName: string;
  alias: string;
  version?: string;
  weights: Record<string, number>;
  revisionId?: string;
  description?: string;
  fault?: FaultKind;
  status?: number;
  /** Forwarded to moto and answered 2xx there (whatever the client got back). */
  landed: boolean;
  landedAt?: number;
}

export interface FaultProxy {
  url: string;
  calls: Array<{
    seq: number;
    service: string;
    operation: string;
    fault?: FaultKind;
    status?: number;
  }>;
  faults: Array<{ seq: number; kind: FaultKind; operation: string; service: string }>;
  aliasWrites: AliasWrite[];
  versionDeletes: Array<{ seq: number; functionName: string; version: string }>;
  published: Array<{ functionName: string; version: string; sha: string }>;
  secrets: Set<string>;
  setActive(on: boolean): void;
  close(): Promise<void>;
}

export declare function serviceOf(
  method: string,
  path: string,
  headers: Record<string, string | string[] | undefined>,
  body: string,
): string;
export declare function errorResponse(
  service: string,
  kind: Exclude<FaultKind, 'reset' | 'latency'>,
  method: string,
): { status: number; headers: Record<string, string>; body: string };
export declare function startFaultProxy(options: {
  target: string;
  seed: number | string;
  /** Share of calls faulted, 0..1 (default 0.1). */
  rate?: number;
  kinds?: FaultKind[];
  maxLatencyMs?: number;
}): Promise<FaultProxy>;
