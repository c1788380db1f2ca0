// Seeded randomness: every decision of a chaos run derives from (seed, label), so a seed replays
// the same faults, the same kill moment and the same scenario choices.
import { createHash } from 'node:crypto';

function mulberry32(a) {
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A stream of uniform numbers in [0, 1) fixed by (seed, label). */
export function seededUnit(seed, label) {
  const digest = createHash('sha256').update(`${seed}:${label}`).digest();
  return mulberry32(digest.readUInt32LE(0));
}

/** One element of `items`, drawn from `unit`. */
export function draw(unit, items) {
  return items[Math.min(items.length - 1, Math.floor(unit() * items.length))];
}
