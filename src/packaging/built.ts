import type { BundleResult } from './bundle.js';
import type { LayerResult } from './layer.js';
import type { ModelStoreBuilt } from './model-store.js';

/** What the packaging step produced: the dependency layer, the bundle and its S3 key. */
export interface Built {
  layer: LayerResult;
  bundle: BundleResult;
  bundleKey: string;
  /** model-store s3: the manifest and objects that pin the model (undefined in bundle mode). */
  modelStore?: ModelStoreBuilt;
}
