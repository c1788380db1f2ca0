import type { ModelStore } from '../settings.js';
import type { BundleFile } from './bundle-files.js';
import { LOADER_SOURCE } from './loader-source.js';

/** The loader module every bundle carries (python/lambda_ml_model.py), unless the source has one. */
export const LOADER_MODULE = 'lambda_ml_model';
export const LOADER_FILE = `${LOADER_MODULE}.py`;

/** The loader with this deploy's model store and model-dest written in. Pure. */
export function loaderSource(store: ModelStore, modelDest: string): string {
  const set = (text: string, name: string, value: string) => {
    const line = new RegExp(`^${name} = ".*"$`, 'm');
    if (!line.test(text)) throw new Error(`internal: the loader has no ${name} line`);
    return text.replace(line, `${name} = ${JSON.stringify(value)}`);
  };
  return set(set(LOADER_SOURCE, 'MODEL_STORE', store), 'MODEL_DEST', modelDest);
}

/** The source's own file or package of that name, when it has one (then ours is not added). */
export function userLoader(files: readonly BundleFile[]): string | undefined {
  return files.find(
    (f) =>
      f.origin !== 'model' &&
      (f.zipPath === LOADER_FILE || f.zipPath.startsWith(`${LOADER_MODULE}/`)),
  )?.zipPath;
}
