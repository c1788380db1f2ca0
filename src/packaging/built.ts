import type { BundleResult } from './bundle.js';
import type { LayerResult } from './layer.js';

/** What the packaging step produced: the dependency layer, the bundle and its S3 key. */
export interface Built {
  layer: LayerResult;
  bundle: BundleResult;
  bundleKey: string;
}
