import { createHash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { InputError } from '../errors.js';
import type { Architecture, BuildMethod } from '../settings.js';
import {
  LOCKED_SET_PATH,
  lockFormat,
  lockedSetFromRequirements,
  parseLockFile,
  requirementLine,
  unpinnedRequirements,
  type LockFormat,
  type LockedRequirement,
} from './lock-files.js';

/**
 * The dependency layer's cache key: sha256 over a canonical JSON of everything that decides the
 * layer's content. Two runs with the same key reuse the same published layer version; anything
 * that may change the installed files changes the key.
 *
 * Bump LAYER_KEY_FORMAT whenever the way a layer is built changes (slim rules, bytecode, layout),
 * so that layers built the old way are not reused.
 */
export const LAYER_KEY_FORMAT = 1;

/** Prefix of the description of every layer version this action publishes. */
export const LAYER_DESCRIPTION_PREFIX = 'lambda-ml-deploy layer';
const MAX_DESCRIPTION = 256;

/** One requirements (or constraints) file as it enters the key: path relative to the main file's folder. */
export interface RequirementsFile {
  path: string;
  lines: string[];
}

/** A local folder or file the requirements point at (`--find-links ./wheels`, `./pkg`): its content digest. */
export interface LocalSource {
  path: string;
  digest: string;
}

export interface LayerKeyMaterial {
  files: RequirementsFile[];
  localSources: LocalSource[];
  runtime: string;
  architecture: Architecture;
  build: BuildMethod;
  /** Only meaningful for `build: docker`; ignored for `build: pip`. */
  buildImage: string;
  pipArgs: readonly string[];
  slim: boolean;
}

/**
 * pip's view of a requirements file, normalised so that edits that do not change its meaning
 * (comments, blank lines, indentation, trailing spaces, line continuations) do not change the key.
 * Order is kept: pip resolves in file order and options may depend on it.
 */
export function normaliseRequirements(text: string): string[] {
  const joined = text.replace(/\r\n?/g, '\n').replace(/\\\n/g, '');
  const lines: string[] = [];
  for (const raw of joined.split('\n')) {
    // pip: a comment starts at a `#` at the start of the line or after whitespace
    // (so `pkg @ https://host/pkg.whl#sha256=...` keeps its fragment).
    const line = raw
      .replace(/(^|\s)#.*$/, '')
      .trim()
      .replace(/\s+/g, ' ');
    if (line) lines.push(line);
  }
  return lines;
}

export type Reference =
  | { kind: 'requirements' | 'constraints'; target: string }
  | { kind: 'find-links' | 'local-package'; target: string };

const FILE_OPTIONS: Array<[RegExp, 'requirements' | 'constraints']> = [
  [/^(?:-r|--requirement)(?:=|\s+)?(.+)$/, 'requirements'],
  [/^(?:-c|--constraint)(?:=|\s+)?(.+)$/, 'constraints'],
];
const FIND_LINKS = /^(?:-f|--find-links)(?:=|\s+)?(.+)$/;
const EDITABLE = /^(?:-e|--editable)(?:=|\s+)?(.+)$/;

/** True when a requirement or option value names something on the local disk (not a URL or a package name). */
export function isLocalPath(value: string): boolean {
  if (/^file:/i.test(value)) return true;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return false;
  return (
    value.startsWith('./') ||
    value.startsWith('../') ||
    value.startsWith('/') ||
    value === '.' ||
    value === '..'
  );
}

export function stripFileScheme(value: string): string {
  return value.replace(/^file:(\/\/)?/i, '');
}

/** What a normalised line refers to on disk (other requirement files, wheel folders, local packages), if anything. */
export function parseReference(line: string): Reference | undefined {
  for (const [pattern, kind] of FILE_OPTIONS) {
    const match = pattern.exec(line);
    if (match) return { kind, target: match[1].trim() };
  }
  const links = FIND_LINKS.exec(line);
  if (links) {
    const target = links[1].trim();
    return isLocalPath(target) || !/^[a-z][a-z0-9+.-]*:/i.test(target)
      ? { kind: 'find-links', target: stripFileScheme(target) }
      : undefined;
  }
  const editable = EDITABLE.exec(line);
  const candidate = (editable ? editable[1] : line).trim().split(/\s|;|\[/)[0];
  if (candidate && isLocalPath(candidate))
    return { kind: 'local-package', target: stripFileScheme(candidate) };
  return undefined;
}

/** The same references, read from the `pip-args` list (`--find-links ./wheels`, `-f=dir`, `-c constraints.txt`). */
export function pipArgReferences(pipArgs: readonly string[]): Reference[] {
  const refs: Reference[] = [];
  for (let i = 0; i < pipArgs.length; i++) {
    const arg = pipArgs[i];
    const next = pipArgs[i + 1];
    const takesValue = /^(-f|--find-links|-c|--constraint|-r|--requirement)$/.test(arg);
    const line = takesValue && next !== undefined ? `${arg} ${next}` : arg;
    if (takesValue) i++;
    if (!/^-/.test(line)) continue;
    const ref = parseReference(line);
    if (ref) refs.push(ref);
  }
  return refs;
}

/** The sha256 hex key of a layer. Pure: same material, same key, on every machine. */
export function computeLayerKey(material: LayerKeyMaterial): string {
  const canonical = {
    format: LAYER_KEY_FORMAT,
    requirements: material.files.map((file) => ({ path: file.path, lines: file.lines })),
    local: [...material.localSources].sort((a, b) =>
      a.path < b.path ? -1 : a.path > b.path ? 1 : 0,
    ),
    runtime: material.runtime,
    architecture: material.architecture,
    build: material.build,
    buildImage: material.build === 'docker' ? material.buildImage : null,
    pipArgs: [...material.pipArgs],
    slim: material.slim,
  };
  return createHash('sha256').update(JSON.stringify(canonical)).digest('hex');
}

export interface LayerDescriptionFields {
  key: string;
  /** Unzipped size, so a cached layer still counts against the 250 MB limit without downloading it. */
  unzippedBytes?: number;
  runtime?: string;
  architecture?: string;
}

/** The description of the published layer version; it carries the key (Lambda allows 256 characters). */
export function layerDescription(fields: LayerDescriptionFields): string {
  const parts = [LAYER_DESCRIPTION_PREFIX, `key=${fields.key}`];
  if (fields.unzippedBytes !== undefined) parts.push(`unzipped=${fields.unzippedBytes}`);
  if (fields.runtime) parts.push(fields.runtime);
  if (fields.architecture) parts.push(fields.architecture);
  const text = parts.join(' ');
  return text.length <= MAX_DESCRIPTION ? text : parts.slice(0, 3).join(' ');
}

/** Reads the key (and unzipped size) back from a layer version description; undefined when it is not ours. */
export function parseLayerDescription(
  description: string | undefined,
): { key: string; unzippedBytes?: number } | undefined {
  if (!description || !description.startsWith(LAYER_DESCRIPTION_PREFIX)) return undefined;
  const key = /(?:^|\s)key=([0-9a-f]{64})(?:\s|$)/.exec(description);
  if (!key) return undefined;
  const size = /(?:^|\s)unzipped=(\d+)(?:\s|$)/.exec(description);
  return { key: key[1], ...(size ? { unzippedBytes: Number(size[1]) } : {}) };
}

// ---------------------------------------------------------------------------------------------
// Effects: reading the requirements tree and local sources from disk.

export interface GatherOptions {
  /** Absolute path of the main requirements file. */
  requirementsPath: string;
  pipArgs: readonly string[];
}

const SKIP_IN_LOCAL_TREES = new Set([
  '.git',
  '__pycache__',
  'build',
  'dist',
  '.tox',
  '.venv',
  'node_modules',
  '.mypy_cache',
  '.pytest_cache',
]);

async function readText(file: string, referencedFrom: string | undefined): Promise<string> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const where = referencedFrom ? ` (referenced from ${referencedFrom})` : '';
    throw new InputError(
      'requirements',
      `cannot read ${file}${where}: ${code ?? String(error)}. Check the path; references are resolved relative to the file that contains them.`,
    );
  }
}

/** sha256 over a folder's files (relative path, size and content), or over one file. Build outputs and VCS folders are skipped. */
export async function digestLocalPath(target: string, topLevelOnly: boolean): Promise<string> {
  const hash = createHash('sha256');
  let stat;
  try {
    stat = await fs.stat(target);
  } catch {
    return 'missing';
  }
  if (stat.isFile()) {
    hash.update(await fs.readFile(target));
    return hash.digest('hex');
  }
  const files: string[] = [];
  const walk = async (dir: string, rel: string): Promise<void> => {
    const entries = await fs.readdir(dir, { withFileTypes: true });
    for (const entry of entries) {
      const childRel = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        if (
          !topLevelOnly &&
          !SKIP_IN_LOCAL_TREES.has(entry.name) &&
          !entry.name.endsWith('.egg-info')
        ) {
          await walk(path.join(dir, entry.name), childRel);
        }
      } else if (entry.isFile() && !entry.name.endsWith('.pyc')) {
        files.push(childRel);
      }
    }
  };
  await walk(target, '');
  files.sort();
  for (const rel of files) {
    const content = await fs.readFile(path.join(target, ...rel.split('/')));
    hash.update(`${rel}\0${content.length}\0`);
    hash.update(createHash('sha256').update(content).digest());
  }
  return hash.digest('hex');
}

/**
 * Reads the requirements file, every file it pulls in with -r/-c (recursively, relative to the file
 * that names it, as pip does), and digests the local folders it installs from, so the key changes
 * when a wheel in `--find-links ./wheels` or a local package changes.
 */
export interface GatheredRequirements {
  files: RequirementsFile[];
  localSources: LocalSource[];
  /** The lock format when `requirements` is a lock file (pip then installs `locked`). */
  lockFormat?: LockFormat;
  /** The locked set, for a lock file or a requirements file pinned with hashes throughout. */
  locked?: LockedRequirement[];
  /** Requirement lines that pin no single version: the key cannot see new releases of them. */
  unpinned: string[];
}

export async function gatherRequirements(options: GatherOptions): Promise<GatheredRequirements> {
  const format = lockFormat(options.requirementsPath);
  if (format) return gatherLockFile(options, format);
  const root = path.dirname(options.requirementsPath);
  const rel = (abs: string) => path.relative(root, abs).split(path.sep).join('/') || '.';
  const files: RequirementsFile[] = [];
  const local = new Map<string, LocalSource>();
  const seen = new Set<string>();

  const addLocal = async (ref: Reference, baseDir: string) => {
    if (ref.kind !== 'find-links' && ref.kind !== 'local-package') return;
    const abs = path.resolve(baseDir, ref.target);
    const key = `${ref.kind}:${rel(abs)}`;
    if (local.has(key)) return;
    local.set(key, { path: key, digest: await digestLocalPath(abs, ref.kind === 'find-links') });
  };

  const visit = async (file: string, referencedFrom: string | undefined): Promise<void> => {
    const abs = path.resolve(file);
    if (seen.has(abs)) return;
    seen.add(abs);
    const lines = normaliseRequirements(await readText(abs, referencedFrom));
    files.push({ path: rel(abs), lines });
    for (const line of lines) {
      const ref = parseReference(line);
      if (!ref) continue;
      if (ref.kind === 'requirements' || ref.kind === 'constraints') {
        if (/^[a-z][a-z0-9+.-]*:\/\//i.test(ref.target)) continue; // a URL: its text is already in the key
        await visit(path.resolve(path.dirname(abs), stripFileScheme(ref.target)), rel(abs));
      } else {
        await addLocal(ref, path.dirname(abs));
      }
    }
  };

  await visit(options.requirementsPath, undefined);
  for (const ref of pipArgReferences(options.pipArgs)) {
    if (ref.kind === 'requirements' || ref.kind === 'constraints') {
      if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(ref.target))
        await visit(path.resolve(root, stripFileScheme(ref.target)), 'pip-args');
    } else {
      await addLocal(ref, root);
    }
  }
  const unpinned = files.flatMap((file) => unpinnedRequirements(file.lines));
  // A requirements file pinned with hashes throughout is a locked set: keyed like a lock file.
  const locked = files.length === 1 ? lockedSetFromRequirements(files[0].lines) : undefined;
  if (locked)
    return {
      files: [{ path: LOCKED_SET_PATH, lines: locked.map(requirementLine) }],
      localSources: [...local.values()],
      locked,
      unpinned,
    };
  return { files, localSources: [...local.values()], unpinned };
}

/** A lock file: its locked set is the key's requirements; pip-args references are digested. */
async function gatherLockFile(
  options: GatherOptions,
  format: LockFormat,
): Promise<GatheredRequirements> {
  const root = path.dirname(options.requirementsPath);
  const text = await readText(options.requirementsPath, undefined);
  const locked = parseLockFile(format, text, path.basename(options.requirementsPath));
  const localSources: LocalSource[] = [];
  for (const ref of pipArgReferences(options.pipArgs)) {
    if (ref.kind !== 'find-links' && ref.kind !== 'local-package') continue;
    const abs = path.resolve(root, ref.target);
    const rel = path.relative(root, abs).split(path.sep).join('/') || '.';
    localSources.push({
      path: `${ref.kind}:${rel}`,
      digest: await digestLocalPath(abs, ref.kind === 'find-links'),
    });
  }
  return {
    files: [{ path: LOCKED_SET_PATH, lines: locked.map(requirementLine) }],
    localSources,
    lockFormat: format,
    locked,
    unpinned: [],
  };
}
