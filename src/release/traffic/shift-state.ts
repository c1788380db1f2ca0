import type { AuthSettings } from '../../settings.js';
import type { AliasSnapshot } from './alias-plan.js';
import type { ShiftEvent } from './bake.js';

/** Saved (core.saveState) while an alias is being moved; the post step reads it. */
export const SHIFT_STATE = 'alias-shift';

/**
 * Everything the post step needs to put the alias back, so it never re-reads the inputs: a later
 * step may have removed source-dir or the smoke-test file, and the restore must not depend on it.
 */
export interface ShiftRecord {
  /** Region and how credentials were obtained (role, audience, session name, duration). */
  auth: AuthSettings;
  snapshot: AliasSnapshot;
  newVersion: string;
  phase: ShiftEvent['phase'] | 'done';
  percent: number;
}

/** What to save after each shift event: the record, or `done` once nothing needs undoing. */
export function shiftStateValue(
  snapshot: AliasSnapshot,
  newVersion: string,
  event: ShiftEvent,
  isFinalStep: boolean,
  auth: AuthSettings,
): string {
  const finished = event.phase === 'rolled-back' || (event.phase === 'shifted' && isFinalStep);
  if (finished) return 'done';
  const record: ShiftRecord = {
    auth,
    snapshot,
    newVersion,
    phase: event.phase,
    percent: event.percent,
  };
  return JSON.stringify(record);
}

export type SavedShift =
  { kind: 'none' } | { kind: 'pending'; record: ShiftRecord } | { kind: 'corrupt'; reason: string };

const isString = (value: unknown): value is string => typeof value === 'string' && value !== '';

/** Where the problem is in a parsed record, or undefined when it has all the post step uses. */
function recordProblem(value: unknown): string | undefined {
  if (!value || typeof value !== 'object') return 'not a JSON object';
  const record = value as Partial<ShiftRecord>;
  const snapshot = record.snapshot as Partial<AliasSnapshot> | undefined;
  if (!snapshot || typeof snapshot !== 'object') return 'no alias snapshot';
  if (!isString(snapshot.functionName) || !isString(snapshot.alias))
    return 'the snapshot names no function or alias';
  if (typeof snapshot.exists !== 'boolean') return 'the snapshot does not say if the alias existed';
  if (snapshot.exists && !isString(snapshot.functionVersion)) return 'the snapshot has no version';
  if (!snapshot.weights || typeof snapshot.weights !== 'object')
    return 'the snapshot has no weights';
  if (!isString(record.newVersion) || !/^\d+$/.test(record.newVersion))
    return 'no new version number';
  if (!record.auth || !isString(record.auth.region)) return 'no region';
  return undefined;
}

/** Reads the saved state: nothing to do, a shift to undo, or a record that cannot be trusted. */
export function readShiftState(saved: string): SavedShift {
  if (!saved || saved === 'done') return { kind: 'none' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(saved);
  } catch (error) {
    return { kind: 'corrupt', reason: `not JSON (${(error as Error).message})` };
  }
  const problem = recordProblem(parsed);
  if (problem) return { kind: 'corrupt', reason: problem };
  return { kind: 'pending', record: parsed as ShiftRecord };
}
