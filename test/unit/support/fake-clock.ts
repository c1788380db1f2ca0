import type { Clock } from '../../../src/log.js';

/** A clock whose sleeps only move time forward, recorded: tests never wait. */
export function fakeClock(): Clock & { slept: number[] } {
  let t = 0;
  const slept: number[] = [];
  return {
    slept,
    now: () => t,
    sleep: async (ms) => {
      slept.push(ms);
      t += ms;
    },
  };
}
