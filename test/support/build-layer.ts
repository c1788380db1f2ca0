import {
  prepareLayer,
  releaseLayer,
  type LayerDeps,
  type LayerOptions,
  type LayerResult,
} from '../../src/packaging/layer.js';

/** The layer step as the pipeline runs it: prepare (cache lookup or build), then release. */
export async function buildLayer(options: LayerOptions, deps: LayerDeps): Promise<LayerResult> {
  return releaseLayer(await prepareLayer(options, deps), options, deps);
}
