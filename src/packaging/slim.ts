import * as fs from 'node:fs/promises';
import * as path from 'node:path';

/**
 * Slimming the installed dependencies (`slim: true`). A conservative list: only what no import at
 * run time can need.
 *
 * Removed:
 * - `tests` and `test` folders INSIDE an installed package (e.g. numpy/_core/tests,
 *   scipy/linalg/tests) when they hold Python files: they are only read by test runners.
 *   A top-level `test`/`tests` folder is kept: it is a package someone installed under that
 *   name and may be imported.
 * - type stubs: `*.pyi` files and top-level `*-stubs` packages (PEP 561); the interpreter
 *   never reads them.
 * - `__pycache__` folders left without any source next to them (the bytecode of removed files).
 *
 * Kept on purpose:
 * - `*.dist-info` (importlib.metadata reads it: entry points, versions, plugins).
 * - shared objects (`*.so`): never stripped, stripping breaks some wheels.
 * - `testing` packages (numpy.testing and friends are imported by other libraries).
 * - C headers, .pxd, docs and examples: small, and sometimes read at run time.
 */

export type SlimRule = 'tests' | 'stubs' | 'stub-package' | 'orphan-bytecode';

export interface TreeEntry {
  /** Path relative to the root, '/'-separated. */
  path: string;
  type: 'file' | 'dir';
  size: number;
}

export interface SlimRemoval {
  path: string;
  type: 'file' | 'dir';
  rule: SlimRule;
}

export interface SlimResult {
  /** Size of the tree before slimming (what pip installed). */
  bytesBefore: number;
  removedFiles: number;
  bytesSaved: number;
  /** Per rule: files and bytes, for the summary. */
  byRule: Partial<Record<SlimRule, { files: number; bytes: number }>>;
}

const TEST_DIRS = new Set(['tests', 'test']);

function parentOf(p: string): string {
  const index = p.lastIndexOf('/');
  return index < 0 ? '' : p.slice(0, index);
}

function baseName(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}

function isUnder(p: string, dir: string): boolean {
  return p.startsWith(`${dir}/`);
}

/**
 * What slimming removes from a tree (paths relative to the folder that holds the packages, i.e.
 * `python/`). Pure: decided from the listing alone. Folders are returned once, not their content.
 */
export function planSlim(entries: readonly TreeEntry[]): SlimRemoval[] {
  const dirs = entries
    .filter((e) => e.type === 'dir')
    .map((e) => e.path)
    .sort();
  const files = entries.filter((e) => e.type === 'file');
  const removals: SlimRemoval[] = [];
  const removedDirs = new Set<string>();
  const covered = (p: string) => {
    for (let dir = p; dir; dir = parentOf(dir)) if (removedDirs.has(dir)) return true;
    return false;
  };
  // Folders that hold Python source somewhere below them.
  const withPython = new Set<string>();
  for (const file of files) {
    if (!file.path.endsWith('.py')) continue;
    for (let dir = parentOf(file.path); dir && !withPython.has(dir); dir = parentOf(dir))
      withPython.add(dir);
  }

  for (const dir of dirs) {
    if (covered(dir)) continue;
    const name = baseName(dir);
    const top = dir.split('/')[0];
    const depth = dir.split('/').length;
    if (depth === 1 && name.endsWith('-stubs')) {
      removals.push({ path: dir, type: 'dir', rule: 'stub-package' });
      removedDirs.add(dir);
    } else if (
      depth >= 2 &&
      TEST_DIRS.has(name) &&
      !top.endsWith('.dist-info') &&
      withPython.has(dir)
    ) {
      removals.push({ path: dir, type: 'dir', rule: 'tests' });
      removedDirs.add(dir);
    }
  }
  const removedFiles = new Set<string>();
  for (const file of files) {
    if (
      file.path.endsWith('.pyi') &&
      !file.path.split('/')[0].endsWith('.dist-info') &&
      !covered(file.path)
    ) {
      removals.push({ path: file.path, type: 'file', rule: 'stubs' });
      removedFiles.add(file.path);
    }
  }
  // __pycache__ folders with no source left beside them (after the removals above, or never shipped).
  const foldersWithSource = new Set<string>();
  for (const file of files) {
    if (file.path.endsWith('.py') && !removedFiles.has(file.path) && !covered(file.path))
      foldersWithSource.add(parentOf(file.path));
  }
  for (const dir of dirs) {
    if (baseName(dir) !== '__pycache__' || covered(dir)) continue;
    if (!foldersWithSource.has(parentOf(dir))) {
      removals.push({ path: dir, type: 'dir', rule: 'orphan-bytecode' });
      removedDirs.add(dir);
    }
  }
  return removals.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Lists a folder recursively (symbolic links are listed as files and never followed). */
export async function listTree(root: string): Promise<TreeEntry[]> {
  const entries: TreeEntry[] = [];
  const walk = async (dir: string, rel: string): Promise<void> => {
    for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
      const childRel = rel ? `${rel}/${entry.name}` : entry.name;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        entries.push({ path: childRel, type: 'dir', size: 0 });
        await walk(full, childRel);
      } else {
        entries.push({ path: childRel, type: 'file', size: (await fs.lstat(full)).size });
      }
    }
  };
  await walk(root, '');
  return entries;
}

/** Applies the slim rules to a folder of installed packages and reports what it saved. */
export async function slimTree(root: string): Promise<SlimResult> {
  const entries = await listTree(root);
  const removals = planSlim(entries);
  const files = entries.filter((e) => e.type === 'file');
  const bytesBefore = files.reduce((sum, f) => sum + f.size, 0);
  const result: SlimResult = { bytesBefore, removedFiles: 0, bytesSaved: 0, byRule: {} };
  for (const removal of removals) {
    const affected =
      removal.type === 'file'
        ? files.filter((f) => f.path === removal.path)
        : files.filter((f) => isUnder(f.path, removal.path));
    const bytes = affected.reduce((sum, f) => sum + f.size, 0);
    const tally = (result.byRule[removal.rule] ??= { files: 0, bytes: 0 });
    tally.files += affected.length;
    tally.bytes += bytes;
    result.removedFiles += affected.length;
    result.bytesSaved += bytes;
    await fs.rm(path.join(root, ...removal.path.split('/')), { recursive: true, force: true });
  }
  return result;
}
