import type { BundleResult } from './bundle.js';
import type { BuiltImage } from './image/image-build.js';
import type { LayerResult } from './layer.js';
import type { ModelStoreBuilt } from './model-store.js';

/** What the packaging step produced: a zip bundle and its layer, or a container image. */
export type Built = ZipBuilt | ImageBuilt;

export interface ZipBuilt {
  kind: 'zip';
  layer: LayerResult;
  bundle: BundleResult;
  bundleKey: string;
  /** model-store s3: the manifest and objects that pin the model (undefined in bundle mode). */
  modelStore?: ModelStoreBuilt;
  /** What Lambda reports as CodeSha256 for this code: the bundle's base64 sha256. */
  codeSha256: string;
}

export interface ImageBuilt {
  kind: 'image';
  image: BuiltImage;
  /** What Lambda reports as CodeSha256 for an image function: the manifest digest's hex. */
  codeSha256: string;
  /** Dependencies built for the image (how; for the summary). */
  dependencies: Pick<LayerResult, 'slim' | 'bytecode' | 'largest'> & {
    files: number;
    /** The dependency layer key (as for the zip layer); undefined without requirements. */
    key?: string;
    /** Reused from the repository: not built by this run. */
    cached?: boolean;
  };
  /** The handler's bytecode. */
  bytecode: BundleResult['bytecode'];
}
