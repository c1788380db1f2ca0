import type { AliasSnapshot } from './alias-plan.js';
import type { ShiftEvent } from './bake.js';

/** Saved (core.saveState) while an alias is being moved; the post step reads it. */
export const SHIFT_STATE = 'alias-shift';

export interface ShiftRecord {
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
): string {
  const finished = event.phase === 'rolled-back' || (event.phase === 'shifted' && isFinalStep);
  if (finished) return 'done';
  const record: ShiftRecord = { snapshot, newVersion, phase: event.phase, percent: event.percent };
  return JSON.stringify(record);
}

/** The record the post step must act on, or undefined when the main step finished its shift. */
export function pendingShift(saved: string): ShiftRecord | undefined {
  if (!saved || saved === 'done') return undefined;
  try {
    const record = JSON.parse(saved) as ShiftRecord;
    return record.snapshot && record.newVersion ? record : undefined;
  } catch {
    return undefined;
  }
}
