import {
  describeAliasState,
  formatAliasDescription,
  isMidShift,
  isRestored,
  MAX_ALIAS_DESCRIPTION,
  parseAliasDescription,
  planTraffic,
  restoreTarget,
  routesAs,
  servesVersion,
  stepTarget,
  userDescription,
  type AliasState,
} from '../../src/release/traffic/alias-plan.js';
import { LINEAR_STEPS } from '../../src/settings.js';

const state = (over: Partial<AliasState>): AliasState => ({
  functionName: 'iris',
  alias: 'prod',
  exists: true,
  functionVersion: '12',
  weights: {},
  revisionId: 'r1',
  ...over,
});

describe('planTraffic', () => {
  test('all-at-once is a single step to 100% with no bake', () => {
    expect(planTraffic({ strategy: 'all-at-once', intervalMs: 60_000 })).toEqual([
      { percent: 100, weight: 1, bakeMs: 0 },
    ]);
  });

  test('canary: p% with a bake, then 100%', () => {
    expect(planTraffic({ strategy: 'canary', canaryPercent: 10, intervalMs: 300_000 })).toEqual([
      { percent: 10, weight: 0.1, bakeMs: 300_000 },
      { percent: 100, weight: 1, bakeMs: 0 },
    ]);
    expect(planTraffic({ strategy: 'canary' })[0]).toEqual({
      percent: 10,
      weight: 0.1,
      bakeMs: 300_000,
    });
    expect(planTraffic({ strategy: 'canary', canaryPercent: 2.5, intervalMs: 1 })[0]).toEqual({
      percent: 2.5,
      weight: 0.025,
      bakeMs: 1,
    });
  });

  test('linear with 4 steps: 25, 50, 75, 100 with bakes in between', () => {
    expect(planTraffic({ strategy: 'linear', linearSteps: 4, intervalMs: 1000 })).toEqual([
      { percent: 25, weight: 0.25, bakeMs: 1000 },
      { percent: 50, weight: 0.5, bakeMs: 1000 },
      { percent: 75, weight: 0.75, bakeMs: 1000 },
      { percent: 100, weight: 1, bakeMs: 0 },
    ]);
  });

  test('linear with 3 steps rounds to two decimals', () => {
    expect(
      planTraffic({ strategy: 'linear', linearSteps: 3, intervalMs: 5 }).map((s) => [
        s.percent,
        s.weight,
      ]),
    ).toEqual([
      [33.33, 0.3333],
      [66.67, 0.6667],
      [100, 1],
    ]);
  });

  test.each([
    [
      { strategy: 'canary' as const, canaryPercent: 0 },
      /Input 'canary-percent': must be a number above 0 and below 100, got 0/,
    ],
    [{ strategy: 'canary' as const, canaryPercent: 100 }, /canary-percent/],
    [
      { strategy: 'linear' as const, linearSteps: 1 },
      /Input 'linear-steps': must be a whole number from 2 to 20, got 1/,
    ],
    [{ strategy: 'linear' as const, linearSteps: 2.5 }, /linear-steps/],
    [{ strategy: 'canary' as const, intervalMs: -1 }, /Input 'canary-interval'/],
    [
      { strategy: 'blue-green' as never },
      /Input 'strategy': must be one of all-at-once, canary, linear/,
    ],
  ])('rejects %o', (options, pattern) => {
    expect(() => planTraffic(options)).toThrow(pattern);
  });
});

test('linear-steps: the planner accepts exactly what the input accepts (one definition)', () => {
  const { min, max } = LINEAR_STEPS;
  expect(planTraffic({ strategy: 'linear', linearSteps: min, intervalMs: 1 })).toHaveLength(min);
  expect(planTraffic({ strategy: 'linear', linearSteps: max, intervalMs: 1 })).toHaveLength(max);
  expect(() => planTraffic({ strategy: 'linear', linearSteps: max + 1, intervalMs: 1 })).toThrow(
    `from ${min} to ${max}`,
  );
});

describe('stepTarget', () => {
  const [canary, promote] = planTraffic({ strategy: 'canary', canaryPercent: 10, intervalMs: 1 });
  test('a canary step keeps the old version primary and weights the new one (Lambda semantics)', () => {
    expect(stepTarget(canary!, '12', '13')).toEqual({ version: '12', weights: { '13': 0.1 } });
  });
  test('the last step points at the new version with no weights', () => {
    expect(stepTarget(promote!, '12', '13')).toEqual({ version: '13', weights: {} });
  });
  test('no old version (first deploy) goes straight to the new one', () => {
    expect(stepTarget(canary!, undefined, '13')).toEqual({ version: '13', weights: {} });
  });
});

describe('alias states', () => {
  test('describeAliasState', () => {
    expect(describeAliasState(state({}))).toBe('prod -> 12');
    expect(describeAliasState(state({ weights: { '13': 0.1 } }))).toBe(
      'prod -> 12 (90%) + 13 (10%)',
    );
    expect(describeAliasState(state({ exists: false }))).toBe('prod does not exist');
  });

  test('isMidShift, servesVersion, routesAs', () => {
    expect(isMidShift(state({}))).toBe(false);
    expect(isMidShift(state({ weights: { '13': 0 } }))).toBe(false);
    expect(isMidShift(state({ weights: { '13': 0.25 } }))).toBe(true);
    expect(servesVersion(state({ weights: { '13': 0.25 } }), '13')).toBe(true);
    expect(servesVersion(state({}), '13')).toBe(false);
    expect(
      routesAs(state({ weights: { '13': 0.1 } }), { version: '12', weights: { '13': 0.1 } }),
    ).toBe(true);
    expect(routesAs(state({ weights: { '13': 0.1 } }), { version: '12', weights: {} })).toBe(false);
    expect(routesAs(state({ exists: false }), { version: '12', weights: {} })).toBe(false);
  });

  test('restoreTarget: back to the snapshot version with no weights, or delete when it did not exist', () => {
    expect(restoreTarget(state({ weights: { '11': 0.5 }, description: 'mine' }))).toEqual({
      action: 'point',
      version: '12',
      weights: {},
      description: 'mine',
    });
    expect(restoreTarget(state({ exists: false }))).toEqual({ action: 'delete' });
  });

  test('isRestored compares version, weights and description', () => {
    const snapshot = state({ description: 'd' });
    expect(isRestored(state({ description: 'd', revisionId: 'other' }), snapshot)).toBe(true);
    expect(isRestored(state({ description: 'd', weights: { '13': 0.1 } }), snapshot)).toBe(false);
    expect(isRestored(state({ description: 'changed' }), snapshot)).toBe(false);
    expect(isRestored(state({ exists: false }), state({ exists: false }))).toBe(true);
  });
});

describe('alias description marker', () => {
  test('round trip with a user description kept in front', () => {
    const text = formatAliasDescription('Production traffic', { previous: '12', sha: 'abc123' });
    expect(text).toBe('Production traffic | lambda-ml-deploy: previous=12 sha=abc123');
    expect(parseAliasDescription(text)).toEqual({ previous: '12', sha: 'abc123', extra: {} });
    expect(userDescription(text)).toBe('Production traffic');
  });

  test('an older marker is replaced, not stacked', () => {
    const first = formatAliasDescription('', { previous: '3', sha: 'aaa' });
    expect(first).toBe('lambda-ml-deploy: previous=3 sha=aaa');
    const second = formatAliasDescription(formatAliasDescription('Prod', { previous: '3' }), {
      previous: '4',
      sha: 'bbb',
    });
    expect(second).toBe('Prod | lambda-ml-deploy: previous=4 sha=bbb');
    expect(parseAliasDescription(second)?.previous).toBe('4');
  });

  test('first deploy records previous=none, which parses as no previous', () => {
    const text = formatAliasDescription(undefined, { sha: 'abc' });
    expect(text).toBe('lambda-ml-deploy: previous=none sha=abc');
    expect(parseAliasDescription(text)).toEqual({ sha: 'abc', extra: {} });
  });

  test('robust to user text: no marker, junk tokens, extra keys', () => {
    expect(parseAliasDescription(undefined)).toBeUndefined();
    expect(parseAliasDescription('previous=5 written by hand')).toBeUndefined();
    expect(parseAliasDescription('see lambda-ml-deploy: previous=7 run=99 junk sha=')).toEqual({
      previous: '7',
      extra: { run: '99' },
    });
    expect(parseAliasDescription('lambda-ml-deploy: previous=$LATEST')).toEqual({ extra: {} });
  });

  test('long user text is shortened so the marker always fits in 256 chars', () => {
    const text = formatAliasDescription('x'.repeat(400), { previous: '12', sha: 'f'.repeat(40) });
    expect(text.length).toBeLessThanOrEqual(MAX_ALIAS_DESCRIPTION);
    expect(parseAliasDescription(text)).toEqual({ previous: '12', sha: 'f'.repeat(40), extra: {} });
    expect(userDescription(text).endsWith('...')).toBe(true);
  });
});
