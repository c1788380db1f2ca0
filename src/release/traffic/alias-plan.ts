import { InputError } from '../../errors.js';

/** Pure planning for alias moves: traffic steps, states, restore targets, description marker. */

export const STRATEGIES = ['all-at-once', 'canary', 'linear'] as const;
export type Strategy = (typeof STRATEGIES)[number];

export interface TrafficStep {
  /** Share of traffic on the new version after this step, in percent (100: promoted). */
  percent: number;
  /** The same as Lambda's AdditionalVersionWeights value (0..1). */
  weight: number;
  /** Bake (watch alarms, re-run smoke cases) after this step for this long; 0: none. */
  bakeMs: number;
}

export interface PlanOptions {
  strategy: Strategy;
  /** canary: traffic share of the first step, 0 < p < 100 (default 10). */
  canaryPercent?: number;
  /** linear: number of equal steps, >= 2 (default 4). */
  linearSteps?: number;
  /** Bake between steps, in ms (default 300 000). */
  intervalMs?: number;
}

const round2 = (n: number) => Math.round(n * 100) / 100;

function step(percent: number, bakeMs: number): TrafficStep {
  const p = round2(percent);
  return { percent: p, weight: Math.round(p * 100) / 10_000, bakeMs };
}

/** The traffic steps a strategy walks; the last one is always 100% with no bake. */
export function planTraffic(options: PlanOptions): TrafficStep[] {
  const interval = options.intervalMs ?? 300_000;
  if (!Number.isFinite(interval) || interval < 0) {
    throw new InputError('canary-interval', `must be a duration >= 0, got ${interval} ms`);
  }
  switch (options.strategy) {
    case 'all-at-once':
      return [step(100, 0)];
    case 'canary': {
      const p = options.canaryPercent ?? 10;
      if (!Number.isFinite(p) || p <= 0 || p >= 100) {
        throw new InputError('canary-percent', `must be a number above 0 and below 100, got ${p}`);
      }
      return [step(p, interval), step(100, 0)];
    }
    case 'linear': {
      const n = options.linearSteps ?? 4;
      if (!Number.isInteger(n) || n < 2 || n > 100) {
        throw new InputError('linear-steps', `must be a whole number from 2 to 100, got ${n}`);
      }
      return Array.from({ length: n }, (_, i) =>
        i === n - 1 ? step(100, 0) : step((100 * (i + 1)) / n, interval),
      );
    }
    default:
      throw new InputError(
        'strategy',
        `must be one of ${STRATEGIES.join(', ')}, got '${String(options.strategy)}'`,
      );
  }
}

/** An alias as read from Lambda (or its absence). Plain JSON: saved as state for the post step. */
export interface AliasState {
  functionName: string;
  alias: string;
  exists: boolean;
  functionVersion?: string;
  /** RoutingConfig.AdditionalVersionWeights: version -> share of traffic (0..1). Empty: none. */
  weights: Record<string, number>;
  revisionId?: string;
  description?: string;
  aliasArn?: string;
}

/** The alias as it was before this run touched it. */
export type AliasSnapshot = AliasState;

/** Where an alias should point: a primary version and the extra versions' weights. */
export interface AliasTarget {
  version: string;
  weights: Record<string, number>;
}

function formatPercent(share: number): string {
  return `${round2(share * 100)}%`;
}

/** "prod -> 12", "prod -> 12 (90%) + 13 (10%)", "prod does not exist". */
export function describeAliasState(state: AliasState): string {
  if (!state.exists) return `${state.alias} does not exist`;
  const extra = Object.entries(state.weights).filter(([, w]) => w > 0);
  if (extra.length === 0) return `${state.alias} -> ${state.functionVersion}`;
  const rest = 1 - extra.reduce((sum, [, w]) => sum + w, 0);
  const parts = [
    `${state.functionVersion} (${formatPercent(rest)})`,
    ...extra.map(([v, w]) => `${v} (${formatPercent(w)})`),
  ];
  return `${state.alias} -> ${parts.join(' + ')}`;
}

/** True when the alias splits traffic (a shift in progress, ours or someone else's). */
export function isMidShift(state: AliasState): boolean {
  return state.exists && Object.values(state.weights).some((w) => w > 0);
}

function normalWeights(weights: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(weights).filter(([, w]) => w > 0));
}

/** Whether the alias routes exactly as `target` says (version and weights; not description). */
export function routesAs(state: AliasState, target: AliasTarget): boolean {
  if (!state.exists || state.functionVersion !== target.version) return false;
  const a = normalWeights(state.weights);
  const b = normalWeights(target.weights);
  const keys = Object.keys(a);
  return (
    keys.length === Object.keys(b).length && keys.every((k) => Math.abs(a[k] - (b[k] ?? -1)) < 1e-9)
  );
}

/** Whether `version` receives any traffic through the alias. */
export function servesVersion(state: AliasState, version: string): boolean {
  if (!state.exists) return false;
  return state.functionVersion === version || (state.weights[version] ?? 0) > 0;
}

/** The alias target of one traffic step: old version primary with the new one weighted, or promoted. */
export function stepTarget(
  stepToTake: TrafficStep,
  oldVersion: string | undefined,
  newVersion: string,
): AliasTarget {
  if (stepToTake.percent >= 100 || oldVersion === undefined || oldVersion === newVersion) {
    return { version: newVersion, weights: {} };
  }
  return { version: oldVersion, weights: { [newVersion]: stepToTake.weight } };
}

export type RestoreTarget =
  | { action: 'delete' }
  | { action: 'point'; version: string; weights: Record<string, never>; description: string };

/**
 * What restoring a snapshot means: the version it served with no routing weights (even if the
 * snapshot itself was mid-shift), its description back; or, when the alias did not exist before
 * this run, deleting it (so nothing is served through it that this run put there).
 */
export function restoreTarget(snapshot: AliasSnapshot): RestoreTarget {
  if (!snapshot.exists || !snapshot.functionVersion) return { action: 'delete' };
  return {
    action: 'point',
    version: snapshot.functionVersion,
    weights: {},
    description: snapshot.description ?? '',
  };
}

/** Whether `current` already is what restoring `snapshot` would make it. */
export function isRestored(current: AliasState, snapshot: AliasSnapshot): boolean {
  const target = restoreTarget(snapshot);
  if (target.action === 'delete') return !current.exists;
  return (
    routesAs(current, { version: target.version, weights: {} }) &&
    (current.description ?? '') === target.description
  );
}

// ---- description marker -------------------------------------------------------------------

export const DESCRIPTION_MARKER = 'lambda-ml-deploy:';
const SEPARATOR = ' | ';
/** Lambda's limit on alias descriptions. */
export const MAX_ALIAS_DESCRIPTION = 256;

export interface DeployMarker {
  /** The version the alias served before this deploy (absent: it did not exist). */
  previous?: string;
  /** Commit deployed. */
  sha?: string;
  /** The pull request whose preview alias this is (set by preview when it creates the alias). */
  pr?: string;
  /** Any other key=value pairs found. */
  extra: Record<string, string>;
}

/** Parses the marker suffix `lambda-ml-deploy: previous=12 sha=abc`; undefined when absent. */
export function parseAliasDescription(description: string | undefined): DeployMarker | undefined {
  if (!description) return undefined;
  const at = description.lastIndexOf(DESCRIPTION_MARKER);
  if (at < 0) return undefined;
  const marker: DeployMarker = { extra: {} };
  for (const token of description
    .slice(at + DESCRIPTION_MARKER.length)
    .trim()
    .split(/\s+/)) {
    const eq = token.indexOf('=');
    if (eq <= 0) continue;
    const key = token.slice(0, eq);
    const value = token.slice(eq + 1);
    if (key === 'previous') {
      if (/^\d+$/.test(value)) marker.previous = value;
    } else if (key === 'sha') {
      if (value) marker.sha = value;
    } else if (key === 'pr') {
      if (/^\d+$/.test(value)) marker.pr = value;
    } else marker.extra[key] = value;
  }
  return marker;
}

/** The user's part of a description, without any marker suffix. */
export function userDescription(description: string | undefined): string {
  if (!description) return '';
  const at = description.lastIndexOf(DESCRIPTION_MARKER);
  const user = at < 0 ? description : description.slice(0, at);
  return user.endsWith(SEPARATOR) ? user.slice(0, -SEPARATOR.length).trimEnd() : user.trimEnd();
}

/**
 * A description that keeps the user's text and ends with the marker recording the previous
 * version (replacing an older marker). The user's text is shortened to fit Lambda's 256 chars.
 */
export function formatAliasDescription(
  existing: string | undefined,
  marker: { previous?: string; sha?: string; pr?: number },
): string {
  const clean = (s: string) => s.replace(/\s+/g, '');
  const parts = [`previous=${marker.previous ? clean(marker.previous) : 'none'}`];
  if (marker.sha) parts.push(`sha=${clean(marker.sha)}`);
  if (marker.pr !== undefined) parts.push(`pr=${marker.pr}`);
  const suffix = `${DESCRIPTION_MARKER} ${parts.join(' ')}`.slice(0, MAX_ALIAS_DESCRIPTION);
  let user = userDescription(existing);
  if (!user) return suffix;
  const room = MAX_ALIAS_DESCRIPTION - suffix.length - SEPARATOR.length;
  if (room <= 0) return suffix;
  if (user.length > room) user = `${user.slice(0, Math.max(0, room - 3))}...`;
  return `${user}${SEPARATOR}${suffix}`;
}

/** The user description preview gives the aliases it creates (kept when the user edits nothing). */
export const previewDescription = (prNumber: number) => `Preview of PR #${prNumber}`;

/**
 * Whether this action created the alias as the preview of PR `prNumber`: its marker says `pr=N`,
 * or (aliases created before the marker had `pr`) it carries the marker and the default text.
 * Cleanup deletes nothing else, so an alias that only happens to be named like a preview is safe.
 */
export function isPreviewAliasOf(state: AliasState, prNumber: number): boolean {
  if (!state.exists) return false;
  const marker = parseAliasDescription(state.description);
  if (!marker) return false;
  if (marker.pr !== undefined) return marker.pr === String(prNumber);
  return userDescription(state.description) === previewDescription(prNumber);
}
