import * as fs from 'node:fs/promises';
import type { Dirent, Stats } from 'node:fs';
import * as path from 'node:path';
import picomatch from 'picomatch';
import { ActionError, InputError } from '../errors.js';

/**
 * Which files go into the function bundle, and under which names.
 *
 * Glob rules (include / exclude), chosen to read like .gitignore:
 * - patterns are matched against the posix path relative to `sourceDir` (or, for excludes inside
 *   a model folder, relative to that folder); dot files match like any other file;
 * - a pattern without a `/` matches the name at any depth (`*.pyc`, `tests`); a leading `/`
 *   anchors it to the root (`/tests`); a trailing `/` is ignored;
 * - a pattern that matches a folder covers everything below it (`tests`, `docs/**` both work).
 * `include` empty means everything; `exclude` wins over `include`.
 *
 * The bundle holds files only (no folder entries: Lambda and Python do not need them).
 * Symlinks are followed only when they resolve inside the root being packaged (source-dir, or
 * the model folder they sit in); any other link is refused with SymlinkEscapeError, so a
 * checked-in link cannot pull the checkout's `.git/config` (with its token header), runner files
 * or /proc into a deployed bundle. Excludes are matched against the resolved path as well as the
 * link's own path: `vcs -> .git` is excluded like `.git`. The paths named in `sourceDir` and
 * `model` themselves are trusted (the workflow author wrote them) and may be links.
 */

/** A generated file added as is (for example hash-based .pyc compiled for the runtime). */
export interface ExtraFile {
  zipPath: string;
  absPath: string;
}

export interface BundleFilesOptions {
  /** Repository checkout; relative `sourceDir` and `model` paths are resolved against it. */
  workspace: string;
  /** Handler code root; it becomes the zip root. */
  sourceDir: string;
  /** Globs over sourceDir; empty: everything. */
  include: readonly string[];
  /** Globs over sourceDir (and over the contents of model folders); the caller passes DEFAULT_EXCLUDES unless told otherwise. */
  exclude: readonly string[];
  /** Model files or folders, absolute or workspace-relative. */
  model: readonly string[];
  /** Folder inside the zip that receives the model files ('' or '.': the zip root). */
  modelDest: string;
  extra?: readonly ExtraFile[];
}

export type FileMode = 0o644 | 0o755;

export interface BundleFile {
  /** Path inside the zip: posix, relative, no leading './'. */
  zipPath: string;
  /** Where the bytes are read from (the path as found; symlinks already vetted). */
  absPath: string;
  size: number;
  /** 0o755 when the source has any executable bit, else 0o644. */
  mode: FileMode;
  /** Where it came from (set by collectBundleFiles; e.g. to sum the model's bytes for the limits report). */
  origin?: BundleFileOrigin;
}

export type BundleFileOrigin = 'source' | 'model' | 'generated';
type Origin = BundleFileOrigin;

interface Collected extends BundleFile {
  realPath: string;
  origin: Origin;
}

type Matcher = (relPath: string) => boolean;

const NEVER: Matcher = () => false;

/** Compiles the globs with the rules described above. */
export function compileGlobs(patterns: readonly string[]): Matcher {
  const matchers: Matcher[] = [];
  for (const raw of patterns) {
    let pattern = raw.trim().replace(/\\/g, '/');
    if (!pattern) continue;
    while (pattern.startsWith('./')) pattern = pattern.slice(2);
    const anchored = pattern.startsWith('/');
    pattern = pattern.replace(/^\/+/, '').replace(/\/+$/, '');
    if (!pattern) continue;
    matchers.push(picomatch(pattern, { dot: true, basename: !anchored && !pattern.includes('/') }));
  }
  if (matchers.length === 0) return NEVER;
  return (relPath) => matchers.some((match) => match(relPath));
}

/** Normalised model-dest: posix, no leading './' or trailing '/'; '' for the zip root. */
export function normaliseModelDest(modelDest: string): string {
  const cleaned = modelDest.trim().replace(/\\/g, '/');
  if (cleaned.startsWith('/') || /^[a-zA-Z]:/.test(cleaned)) {
    throw new InputError(
      'model-dest',
      `'${modelDest}' is absolute; expected a folder inside the zip such as 'model'.`,
    );
  }
  const parts = cleaned.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.includes('..')) {
    throw new InputError(
      'model-dest',
      `'${modelDest}' leaves the zip root ('..'); expected a folder inside the zip such as 'model'.`,
    );
  }
  return parts.join('/');
}

function joinZip(prefix: string, rel: string): string {
  return prefix ? `${prefix}/${rel}` : rel;
}

function isInside(root: string, candidate: string): boolean {
  return (
    candidate === root || candidate.startsWith(root.endsWith(path.sep) ? root : root + path.sep)
  );
}

/** Posix path of `real` relative to `root` ('' for the root itself). */
function relativeTo(root: string, real: string): string {
  return path.relative(root, real).split(path.sep).join('/');
}

/** Whether a path or any folder above it is excluded (`.git/config` is under `.git`). */
function excludedWithParents(exclude: Matcher, rel: string): boolean {
  const parts = rel.split('/');
  return parts.some((_, i) => exclude(parts.slice(0, i + 1).join('/')));
}

function modeOf(stats: Stats): FileMode {
  return (stats.mode & 0o111) !== 0 ? 0o755 : 0o644;
}

function describe(file: Collected): string {
  return `${file.origin} file '${file.absPath}'`;
}

/** A link inside a packaged root that resolves outside it. */
export class SymlinkEscapeError extends ActionError {
  override name = 'SymlinkEscapeError';
}

interface WalkContext {
  /** Real path of the root being packaged: links must resolve inside it. */
  root: string;
  /** How the root is named in errors, e.g. "source-dir 'src'". */
  rootLabel: string;
  exclude: Matcher;
  /** undefined: everything is included. */
  include: Matcher | undefined;
  /** Real paths not to descend into (model paths that live inside sourceDir). */
  skip: ReadonlySet<string>;
  zipPrefix: string;
  origin: Origin;
  out: Collected[];
}

async function realpathOrFail(link: string): Promise<string> {
  try {
    return await fs.realpath(link);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new Error(
      `Symlink '${link}' cannot be followed (${code}): its target is missing or unreadable. Remove the link or point it at a file inside the workspace.`,
    );
  }
}

/** Entries of one folder stat-ed at the same time. */
const STAT_BATCH = 64;

/**
 * Walks a folder depth-first. The entries of a folder are stat-ed in parallel batches, so large
 * trees do not pay one stat round trip per file in sequence, while memory stays bounded; the
 * result is sorted afterwards.
 */
async function walk(
  ctx: WalkContext,
  dirAbs: string,
  dirReal: string,
  dirRel: string,
  included: boolean,
  ancestors: readonly string[],
): Promise<void> {
  const entries: Dirent[] = await fs.readdir(dirAbs, { withFileTypes: true });
  const subfolders: Array<() => Promise<void>> = [];
  for (let start = 0; start < entries.length; start += STAT_BATCH) {
    const batch = entries.slice(start, start + STAT_BATCH);
    await Promise.all(
      batch.map((entry) =>
        visit(ctx, entry, dirAbs, dirReal, dirRel, included, ancestors, subfolders),
      ),
    );
  }
  for (const subfolder of subfolders) await subfolder();
}

async function visit(
  ctx: WalkContext,
  entry: Dirent,
  dirAbs: string,
  dirReal: string,
  dirRel: string,
  included: boolean,
  ancestors: readonly string[],
  subfolders: Array<() => Promise<void>>,
): Promise<void> {
  const abs = path.join(dirAbs, entry.name);
  const rel = dirRel ? `${dirRel}/${entry.name}` : entry.name;
  if (ctx.exclude(rel)) return;

  let real = path.join(dirReal, entry.name);
  let stats: Stats | undefined;
  if (!entry.isSymbolicLink()) {
    if (ctx.skip.has(real)) return;
    // Inside a linked folder the lexical path differs from the real one: exclude on both.
    const realRel = relativeTo(ctx.root, real);
    if (realRel !== rel && ctx.exclude(realRel)) return;
    if (entry.isDirectory()) {
      const selected = included || (ctx.include?.(rel) ?? true);
      subfolders.push(() => walk(ctx, abs, real, rel, selected, [...ancestors, real]));
      return;
    }
    stats = await fs.lstat(abs);
  }
  if (!stats || stats.isSymbolicLink()) {
    real = await realpathOrFail(abs);
    if (ctx.skip.has(real)) return;
    if (!isInside(ctx.root, real)) {
      throw new SymlinkEscapeError(
        `Symlink '${abs}' resolves to '${real}', outside ${ctx.rootLabel}; refusing to bundle it. ` +
          `Links may only point inside the folder being packaged. Copy the file into ${ctx.rootLabel} ` +
          '(cp -L), or remove the link or exclude it.',
      );
    }
    if (excludedWithParents(ctx.exclude, relativeTo(ctx.root, real))) return;
    stats = await fs.stat(real);
  }

  const selected = included || (ctx.include?.(rel) ?? true);
  if (stats.isDirectory()) {
    if (ancestors.includes(real)) {
      throw new Error(
        `Symlink loop: '${abs}' leads back to its own parent folder '${real}'. Remove the link or exclude it.`,
      );
    }
    subfolders.push(() => walk(ctx, abs, real, rel, selected, [...ancestors, real]));
  } else if (stats.isFile()) {
    if (selected) {
      ctx.out.push({
        zipPath: joinZip(ctx.zipPrefix, rel),
        absPath: abs,
        realPath: real,
        size: stats.size,
        mode: modeOf(stats),
        origin: ctx.origin,
      });
    }
  } else {
    throw new Error(
      `'${abs}' is not a regular file or folder (socket, FIFO or device); exclude it from the bundle.`,
    );
  }
}

async function statInput(
  input: string,
  given: string,
  abs: string,
): Promise<{ stats: Stats; real: string }> {
  try {
    const real = await fs.realpath(abs);
    return { stats: await fs.stat(real), real };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? String(error)})`;
    throw new InputError(input, `'${given}' ${reason} (resolved to '${abs}').`);
  }
}

function validateExtraZipPath(zipPath: string): string {
  const cleaned = zipPath.replace(/\\/g, '/').replace(/^(\.\/)+/, '');
  const parts = cleaned.split('/');
  if (
    !cleaned ||
    cleaned.startsWith('/') ||
    parts.some((part) => part === '..' || part === '' || part === '.')
  ) {
    throw new Error(
      `Generated bundle file has an invalid zip path '${zipPath}': expected a relative posix path without '.', '..' or empty segments.`,
    );
  }
  return cleaned;
}

/**
 * Collects the bundle's files: source (include/exclude), model paths under modelDest, and extra
 * generated files. Sorted by zipPath (code-unit order), unique zipPaths, or an error naming both files.
 */
export async function collectBundleFiles(options: BundleFilesOptions): Promise<BundleFile[]> {
  const workspaceReal = await fs.realpath(path.resolve(options.workspace));
  const modelDest = normaliseModelDest(options.modelDest);
  const exclude = compileGlobs(options.exclude);
  const includePatterns = options.include.filter((pattern) => pattern.trim() !== '');
  const include = includePatterns.length > 0 ? compileGlobs(includePatterns) : undefined;
  const out: Collected[] = [];

  // Model paths first: they are placed under modelDest, and skipped by the source walk.
  const modelReals = new Set<string>();
  for (const given of options.model) {
    if (!given.trim()) continue;
    const abs = path.resolve(workspaceReal, given.trim());
    const { stats, real } = await statInput('model', given, abs);
    modelReals.add(real);
    if (stats.isDirectory()) {
      const ctx: WalkContext = {
        root: real,
        rootLabel: `model path '${given.trim()}'`,
        exclude,
        include: undefined,
        skip: new Set(),
        zipPrefix: modelDest,
        origin: 'model',
        out,
      };
      await walk(ctx, abs, real, '', true, [real]);
    } else if (stats.isFile()) {
      out.push({
        zipPath: joinZip(modelDest, path.basename(abs)),
        absPath: abs,
        realPath: real,
        size: stats.size,
        mode: modeOf(stats),
        origin: 'model',
      });
    } else {
      throw new InputError('model', `'${given}' is not a file or folder.`);
    }
  }

  const sourceAbs = path.resolve(workspaceReal, options.sourceDir);
  const source = await statInput('source-dir', options.sourceDir, sourceAbs);
  if (!source.stats.isDirectory())
    throw new InputError('source-dir', `'${options.sourceDir}' is not a folder.`);
  const sourceCtx: WalkContext = {
    root: source.real,
    rootLabel: `source-dir '${options.sourceDir}'`,
    exclude,
    include,
    skip: modelReals,
    zipPrefix: '',
    origin: 'source',
    out,
  };
  await walk(sourceCtx, sourceAbs, source.real, '', false, [source.real]);

  for (const extra of options.extra ?? []) {
    const zipPath = validateExtraZipPath(extra.zipPath);
    let stats: Stats;
    let real: string;
    try {
      real = await fs.realpath(extra.absPath);
      stats = await fs.stat(real);
    } catch (error) {
      throw new Error(
        `Generated bundle file '${extra.absPath}' (for '${zipPath}') cannot be read: ${(error as NodeJS.ErrnoException).code ?? String(error)}.`,
      );
    }
    if (!stats.isFile())
      throw new Error(
        `Generated bundle file '${extra.absPath}' (for '${zipPath}') is not a regular file.`,
      );
    out.push({
      zipPath,
      absPath: extra.absPath,
      realPath: real,
      size: stats.size,
      mode: modeOf(stats),
      origin: 'generated',
    });
  }

  const byPath = new Map<string, Collected>();
  for (const file of out) {
    const previous = byPath.get(file.zipPath);
    if (!previous) {
      byPath.set(file.zipPath, file);
    } else if (previous.realPath !== file.realPath) {
      throw new Error(
        `Two files would be stored at '${file.zipPath}' in the bundle: ${describe(previous)} and ${describe(file)}. ` +
          'Rename one, choose another model-dest, or exclude one of them.',
      );
    }
  }
  if (byPath.size === 0) {
    const filter =
      includePatterns.length > 0 ? ` with include [${includePatterns.join(', ')}]` : '';
    throw new Error(
      `The bundle would be empty: no file in '${sourceAbs}'${filter} and no model file. Check source-dir, include and exclude.`,
    );
  }
  return [...byPath.values()]
    .sort((a, b) => (a.zipPath < b.zipPath ? -1 : a.zipPath > b.zipPath ? 1 : 0))
    .map(({ zipPath, absPath, size, mode, origin }) => ({ zipPath, absPath, size, mode, origin }));
}
