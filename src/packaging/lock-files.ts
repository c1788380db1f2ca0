import * as path from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { InputError } from '../errors.js';

/**
 * Lock files as the `requirements` input: uv.lock, poetry.lock, pylock.toml (PEP 751) and
 * Pipfile.lock become one "locked set" (name, exact version, hashes, marker per package), which
 * pip installs with --require-hashes and which is the layer's cache key. A requirements.txt in
 * which every requirement is pinned with hashes is the same locked set, so it gets the same key.
 */

export type LockFormat = 'uv' | 'poetry' | 'pylock' | 'pipfile';

export interface LockedRequirement {
  /** PEP 503 normalised name. */
  name: string;
  version: string;
  /** `algorithm:hex`, sorted, without duplicates. */
  hashes: string[];
  /** PEP 508 environment marker; undefined: always installed. */
  marker?: string;
}

/** The `path` under which a locked set enters the layer key, whatever file it came from. */
export const LOCKED_SET_PATH = '(locked)';

const PIP_HASHES = ['sha256', 'sha384', 'sha512'];

/** Which lock format a file is, by its name; undefined: a requirements file. */
export function lockFormat(file: string): LockFormat | undefined {
  const name = path.basename(file);
  if (name === 'uv.lock') return 'uv';
  if (name === 'poetry.lock') return 'poetry';
  if (name === 'Pipfile.lock') return 'pipfile';
  if (/^pylock(\.[^.\s]+)?\.toml$/.test(name)) return 'pylock';
  return undefined;
}

/** PEP 503: lowercase, runs of `-`, `_` and `.` become one `-`. */
export function normaliseName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

function lockError(file: string, message: string): InputError {
  return new InputError('requirements', `${file}: ${message}`);
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function asRecord(value: unknown): Record<string, unknown> {
  return value && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() ? value.trim() : undefined;
}

/** `sha256:HEX` (or `sha256=HEX`) -> `sha256:hex`; undefined for algorithms pip does not check. */
function pipHash(value: unknown): string | undefined {
  const match = /^(\w+)[:=]([0-9a-fA-F]+)$/.exec(str(value) ?? '');
  if (!match || !PIP_HASHES.includes(match[1].toLowerCase())) return undefined;
  return `${match[1].toLowerCase()}:${match[2].toLowerCase()}`;
}

function andMarker(a: string | undefined, b: string | undefined): string | undefined {
  if (!a) return b;
  if (!b) return a;
  return a === b ? a : `(${a}) and (${b})`;
}

function orMarkers(markers: Array<string | undefined>): string | undefined {
  if (markers.length === 0 || markers.some((m) => !m)) return undefined;
  const unique = [...new Set(markers as string[])];
  return unique.length === 1 ? unique[0] : unique.map((m) => `(${m})`).join(' or ');
}

/** Normalises names, whitespace in markers, and sorts hashes and packages: one canonical form. */
export function canonicalLockedSet(
  requirements: readonly LockedRequirement[],
): LockedRequirement[] {
  return requirements
    .map((req) => {
      // Lockers differ in quoting ("win32" vs 'win32'): one style, so equal sets key equally.
      const marker = req.marker
        ?.replace(/\s+/g, ' ')
        .replace(/"([^"']*)"/g, "'$1'")
        .trim();
      return {
        name: normaliseName(req.name),
        version: req.version.trim(),
        hashes: [...new Set(req.hashes.map((h) => h.toLowerCase()))].sort(),
        ...(marker ? { marker } : {}),
      };
    })
    .sort((a, b) =>
      a.name !== b.name
        ? a.name < b.name
          ? -1
          : 1
        : a.version !== b.version
          ? a.version < b.version
            ? -1
            : 1
          : (a.marker ?? '') < (b.marker ?? '')
            ? -1
            : 1,
    );
}

/** One pip requirements line: `name==version ; marker --hash=sha256:...`. */
export function requirementLine(req: LockedRequirement): string {
  const marker = req.marker ? ` ; ${req.marker}` : '';
  return `${req.name}==${req.version}${marker} ${req.hashes.map((h) => `--hash=${h}`).join(' ')}`;
}

/** The requirements file pip installs for a locked set; hashes are required for every line. */
export function lockedRequirementsText(requirements: readonly LockedRequirement[]): string {
  return ['--require-hashes', ...requirements.map(requirementLine)].join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------
// requirements.txt

const HASHED_LINE =
  /^([A-Za-z0-9][A-Za-z0-9._-]*)\s*===?\s*([^\s;]+)\s*(?:;\s*(.*?))?\s*((?:--hash[= ]\S+\s*)+)$/;

/**
 * The locked set of a normalised requirements file when every line is `name==version` with at
 * least one `--hash` (and nothing else: no options, no references); undefined otherwise.
 */
export function lockedSetFromRequirements(
  lines: readonly string[],
): LockedRequirement[] | undefined {
  const set: LockedRequirement[] = [];
  for (const line of lines) {
    if (line === '--require-hashes') continue;
    const match = HASHED_LINE.exec(line);
    if (!match) return undefined;
    const hashes = [...match[4].matchAll(/--hash[= ](\S+)/g)].map((m) => pipHash(m[1]));
    if (hashes.some((h) => h === undefined)) return undefined;
    set.push({
      name: match[1],
      version: match[2],
      hashes: hashes as string[],
      ...(match[3] ? { marker: match[3] } : {}),
    });
  }
  return set.length > 0 ? canonicalLockedSet(set) : undefined;
}

/**
 * Requirement lines that do not pin one version (`numpy`, `pandas>=2`), as written. Options,
 * references, URLs and local paths are not counted: they are not resolved against an index.
 */
export function unpinnedRequirements(lines: readonly string[]): string[] {
  return lines.filter((line) => {
    if (line.startsWith('-') || line.startsWith('.') || line.startsWith('/')) return false;
    if (/^[a-z][a-z0-9+.-]*:/i.test(line) || /\s@\s|^[^\s;]+@/.test(line)) return false;
    const requirement = line.split(';')[0].split(' --')[0];
    return !/===?\s*[^\s,*]+\s*$/.test(requirement) || requirement.includes(',');
  });
}

// ---------------------------------------------------------------------------------------------
// Lock formats

/** Parses a lock file into its canonical locked set (the packages a production install needs). */
export function parseLockFile(format: LockFormat, text: string, file: string): LockedRequirement[] {
  let set: LockedRequirement[];
  if (format === 'pipfile') {
    set = parsePipfileLock(text, file);
  } else {
    let doc: Record<string, unknown>;
    try {
      doc = parseToml(text);
    } catch (error) {
      throw lockError(file, `is not valid TOML (${(error as Error).message.split('\n')[0]}).`);
    }
    if (format === 'uv') set = parseUvLock(doc, file);
    else if (format === 'poetry') set = parsePoetryLock(doc, file);
    else set = parsePylock(doc, file);
  }
  if (set.length === 0)
    throw lockError(
      file,
      'locks no package to install. Add the dependencies (and lock again), ' +
        'or set requirements: none.',
    );
  return canonicalLockedSet(set);
}

function needHashes(file: string, name: string, hashes: Array<string | undefined>): string[] {
  const kept = hashes.filter((h): h is string => h !== undefined);
  if (kept.length === 0)
    throw lockError(
      file,
      `package ${name} has no sha256/sha384/sha512 hash, so it cannot be installed with ` +
        '--require-hashes. Lock it from an index that serves hashes, ' +
        'or pin it in a requirements file.',
    );
  return kept;
}

function unsupportedSource(file: string, name: string, kind: string): InputError {
  return lockError(
    file,
    `package ${name} comes from a ${kind}, which has no hash pip can check. Publish it as a ` +
      'wheel (e.g. into a wheelhouse used with pip-args: --find-links ./wheels) and lock that.',
  );
}

interface UvDependency {
  name: string;
  version?: string;
  marker?: string;
  extra: string[];
}

function uvDependencies(value: unknown): UvDependency[] {
  return asArray(value).map((entry) => {
    const dep = asRecord(entry);
    return {
      name: normaliseName(str(dep.name) ?? ''),
      version: str(dep.version),
      marker: str(dep.marker),
      extra: asArray(dep.extra).map(String),
    };
  });
}

/**
 * uv.lock: the packages reachable from the workspace members (virtual or editable `.` sources)
 * through their dependencies and the extras those name; dev groups are left out. A package's
 * marker is the union over the paths that reach it of the markers along each path.
 */
function parseUvLock(doc: Record<string, unknown>, file: string): LockedRequirement[] {
  const packages = asArray(doc.package).map(asRecord);
  const isMember = (pkg: Record<string, unknown>) => {
    const source = asRecord(pkg.source);
    return source.virtual !== undefined || source.editable !== undefined;
  };
  const roots = packages.filter(isMember);
  if (roots.length === 0)
    throw lockError(file, 'has no project package (a source that is virtual or editable).');
  const find = (dep: UvDependency) =>
    packages.filter(
      (p) =>
        normaliseName(str(p.name) ?? '') === dep.name &&
        (dep.version === undefined || str(p.version) === dep.version),
    );

  const markers = new Map<Record<string, unknown>, Array<string | undefined>>();
  const seen = new Set<string>();
  const visit = (pkg: Record<string, unknown>, marker: string | undefined, extras: string[]) => {
    const id = `${str(pkg.name)}@${str(pkg.version)}|${marker ?? ''}|${extras.join(',')}`;
    if (seen.has(id)) return;
    seen.add(id);
    if (!roots.includes(pkg)) markers.set(pkg, [...(markers.get(pkg) ?? []), marker]);
    const optional = asRecord(pkg['optional-dependencies']);
    const deps = [
      ...uvDependencies(pkg.dependencies),
      ...extras.flatMap((extra) => uvDependencies(optional[extra])),
    ];
    for (const dep of deps) {
      const targets = find(dep);
      if (targets.length === 0)
        throw lockError(file, `${str(pkg.name)} depends on ${dep.name}, which the lock lacks.`);
      for (const target of targets) visit(target, andMarker(marker, dep.marker), dep.extra);
    }
  };
  for (const root of roots) visit(root, undefined, []);

  const set: LockedRequirement[] = [];
  for (const [pkg, reached] of markers) {
    const name = str(pkg.name) ?? '?';
    const source = asRecord(pkg.source);
    // registry and path (a wheel or sdist file) sources install by name==version; the others
    // are not found that way or have no hash.
    for (const kind of ['git', 'directory', 'editable', 'virtual', 'url']) {
      if (source[kind] !== undefined) throw unsupportedSource(file, name, `${kind} source`);
    }
    const version = str(pkg.version);
    if (!version) throw lockError(file, `package ${name} has no version.`);
    const artifacts = [asRecord(pkg.sdist), ...asArray(pkg.wheels).map(asRecord)];
    const marker = orMarkers(reached);
    set.push({
      name,
      version,
      hashes: needHashes(
        file,
        name,
        artifacts.map((a) => pipHash(a.hash)),
      ),
      ...(marker ? { marker } : {}),
    });
  }
  return set;
}

/**
 * poetry.lock: packages of the `main` group (Poetry 2 records `groups`; older locks `category`).
 * A lock that records neither cannot tell dev packages apart: all non-optional ones are kept.
 */
function parsePoetryLock(doc: Record<string, unknown>, file: string): LockedRequirement[] {
  const set: LockedRequirement[] = [];
  for (const pkg of asArray(doc.package).map(asRecord)) {
    const name = str(pkg.name) ?? '?';
    const groups = asArray(pkg.groups).map(String);
    if (groups.length > 0 && !groups.includes('main')) continue;
    if (str(pkg.category) && str(pkg.category) !== 'main') continue;
    if (pkg.optional === true) continue;
    const source = asRecord(pkg.source);
    const sourceType = str(source.type);
    if (sourceType && sourceType !== 'legacy') throw unsupportedSource(file, name, sourceType);
    const version = str(pkg.version);
    if (!version) throw lockError(file, `package ${name} has no version.`);
    const rawMarker = pkg.markers;
    const marker = typeof rawMarker === 'string' ? str(rawMarker) : str(asRecord(rawMarker).main);
    set.push({
      name,
      version,
      hashes: needHashes(
        file,
        name,
        asArray(pkg.files).map((f) => pipHash(asRecord(f).hash)),
      ),
      ...(marker ? { marker } : {}),
    });
  }
  return set;
}

/** pylock.toml (PEP 751): every package entry, hashes from its wheels, sdist or archive. */
function parsePylock(doc: Record<string, unknown>, file: string): LockedRequirement[] {
  const lockVersion = str(doc['lock-version']);
  if (!lockVersion || !lockVersion.startsWith('1.'))
    throw lockError(file, `has lock-version ${lockVersion ?? '(none)'}; version 1.x is supported.`);
  const set: LockedRequirement[] = [];
  for (const pkg of asArray(doc.packages).map(asRecord)) {
    const name = str(pkg.name) ?? '?';
    if (pkg.vcs !== undefined) throw unsupportedSource(file, name, 'version control checkout');
    if (pkg.directory !== undefined) throw unsupportedSource(file, name, 'local directory');
    const version = str(pkg.version);
    if (!version)
      throw lockError(file, `package ${name} has no version, so it cannot be pinned for pip.`);
    const marker = str(pkg.marker);
    if (marker && /\b(extras|dependency_groups)\b/.test(marker))
      throw lockError(
        file,
        `package ${name} has the marker "${marker}", which selects extras or dependency groups; ` +
          'pip cannot evaluate it. Lock (or export) only the groups the function needs.',
      );
    const artifacts = [
      asRecord(pkg.sdist),
      asRecord(pkg.archive),
      ...asArray(pkg.wheels).map(asRecord),
    ];
    const hashes = artifacts.flatMap((a) =>
      Object.entries(asRecord(a.hashes)).map(([algorithm, hex]) =>
        pipHash(`${algorithm}:${String(hex)}`),
      ),
    );
    set.push({
      name,
      version,
      hashes: needHashes(file, name, hashes),
      ...(marker ? { marker } : {}),
    });
  }
  return set;
}

/** Pipfile.lock: the `default` section (`develop` is for development only). */
function parsePipfileLock(text: string, file: string): LockedRequirement[] {
  let doc: Record<string, unknown>;
  try {
    doc = asRecord(JSON.parse(text));
  } catch (error) {
    throw lockError(file, `is not valid JSON (${(error as Error).message}).`);
  }
  const set: LockedRequirement[] = [];
  for (const [name, value] of Object.entries(asRecord(doc.default))) {
    const entry = asRecord(value);
    for (const kind of ['git', 'path', 'file', 'editable'])
      if (entry[kind] !== undefined) throw unsupportedSource(file, name, `${kind} source`);
    const version = /^===?(.+)$/.exec(str(entry.version) ?? '')?.[1];
    if (!version)
      throw lockError(
        file,
        `package ${name} is not pinned (version ${JSON.stringify(entry.version)}).`,
      );
    const marker = str(entry.markers);
    set.push({
      name,
      version,
      hashes: needHashes(file, name, asArray(entry.hashes).map(pipHash)),
      ...(marker ? { marker } : {}),
    });
  }
  return set;
}
