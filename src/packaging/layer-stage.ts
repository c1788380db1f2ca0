import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import {
  normaliseRequirements,
  parseReference,
  pipArgReferences,
  stripFileScheme,
  type Reference,
} from './layer-key.js';

/**
 * What the Docker layer build may see. pip runs sdists' setup code in the build container, so it
 * gets a copy of exactly what the requirements name (the file, the -r/-c files it pulls in, the
 * --find-links folders and local packages), laid out as on disk, and never `.git` (which holds
 * the checkout's token) nor anything else of the workspace.
 */

const NEVER_COPIED = new Set(['.git']);
const isUrl = (target: string) => /^[a-z][a-z0-9+.-]*:\/\//i.test(target);

/** Absolute paths of every file and folder the install reads: the requirements tree and its local sources. */
export async function requirementsInputs(
  requirementsPath: string,
  pipArgs: readonly string[],
): Promise<{ files: string[]; folders: string[] }> {
  const files = new Set<string>();
  const folders = new Set<string>();
  const add = async (ref: Reference, baseDir: string): Promise<void> => {
    if (isUrl(ref.target)) return;
    const target = stripFileScheme(ref.target);
    // An absolute path was never reachable from the container: pip reports it, as before.
    if (path.isAbsolute(target)) return;
    const abs = path.resolve(baseDir, target);
    if (ref.kind === 'requirements' || ref.kind === 'constraints') await visit(abs);
    else folders.add(abs);
  };
  const visit = async (file: string): Promise<void> => {
    if (files.has(file)) return;
    files.add(file);
    let text: string;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch {
      return; // pip names the missing file
    }
    for (const line of normaliseRequirements(text)) {
      const ref = parseReference(line);
      if (ref) await add(ref, path.dirname(file));
    }
  };
  const main = path.resolve(requirementsPath);
  await visit(main);
  for (const ref of pipArgReferences(pipArgs)) await add(ref, path.dirname(main));
  return { files: [...files], folders: [...folders] };
}

function commonAncestor(paths: readonly string[]): string {
  let common = paths[0];
  for (const p of paths.slice(1)) {
    while (common !== p && !p.startsWith(common.endsWith(path.sep) ? common : common + path.sep))
      common = path.dirname(common);
  }
  return common;
}

async function exists(p: string): Promise<boolean> {
  return fs.stat(p).then(
    () => true,
    () => false,
  );
}

export interface StagedRequirements {
  /** The folder to mount: the copy's root. */
  root: string;
  /** Where the main requirements file is inside the copy. */
  requirementsPath: string;
}

/**
 * Copies the requirements file and everything it references into `destDir`, keeping their
 * relative layout (so `-r ../shared/base.txt` and `--find-links ./wheels` still resolve). Files
 * are copied by content; links inside copied folders stay links (one leading out of the copy
 * points at nothing in the container).
 */
export async function stageRequirements(
  requirementsPath: string,
  pipArgs: readonly string[],
  destDir: string,
): Promise<StagedRequirements> {
  const main = path.resolve(requirementsPath);
  const { files, folders } = await requirementsInputs(main, pipArgs);
  const present = {
    files: (await Promise.all(files.map(async (f) => ((await exists(f)) ? f : '')))).filter(
      Boolean,
    ),
    folders: (await Promise.all(folders.map(async (f) => ((await exists(f)) ? f : '')))).filter(
      Boolean,
    ),
  };
  const root = commonAncestor([
    path.dirname(main),
    ...present.files.map((f) => path.dirname(f)),
    ...present.folders,
  ]);
  const inCopy = (p: string) => path.join(destDir, path.relative(root, p));
  await fs.rm(destDir, { recursive: true, force: true });
  await fs.mkdir(destDir, { recursive: true });
  for (const folder of present.folders) {
    await fs.cp(folder, inCopy(folder), {
      recursive: true,
      dereference: false,
      verbatimSymlinks: true,
      filter: (source) => !NEVER_COPIED.has(path.basename(source)),
    });
  }
  for (const file of present.files) {
    if (!(await fs.stat(file)).isFile()) continue;
    await fs.mkdir(path.dirname(inCopy(file)), { recursive: true });
    await fs.copyFile(file, inCopy(file));
  }
  await fs.mkdir(path.dirname(inCopy(main)), { recursive: true });
  return { root: destDir, requirementsPath: inCopy(main) };
}
