import type { AliasState } from '../traffic/alias-plan.js';
import type { FunctionState } from './function.js';

export interface ChangeInputs {
  fn: FunctionState;
  /** The bundle's CodeSha256 (base64). */
  codeSha256: string;
  /** UpdateFunctionConfiguration changes this run wants (configChanges), undefined: none. */
  configChanges?: Record<string, unknown>;
  alias: AliasState;
  /** The configuration of the version the alias serves, when it serves one without weights. */
  servedVersion?: FunctionState;
  /** The layer ARN this run wants on the function (undefined: none of ours). */
  layerArn?: string;
}

export type ChangeDecision =
  | { kind: 'create' }
  | { kind: 'update'; code: boolean; config: boolean }
  /** $LATEST already holds this bundle and config, but the alias does not serve it yet. */
  | { kind: 'publish-only' }
  /** The alias already serves a version with this bundle and layer: nothing to publish. */
  | { kind: 'unchanged'; version: string };

/** What the release must do, from what is deployed now. Pure. */
export function decideChange(inputs: ChangeInputs): ChangeDecision {
  if (!inputs.fn.exists) return { kind: 'create' };
  const code = inputs.fn.codeSha256 !== inputs.codeSha256;
  const config = inputs.configChanges !== undefined;
  if (code || config) return { kind: 'update', code, config };
  const served = inputs.servedVersion;
  const aliasSettled = inputs.alias.exists && Object.keys(inputs.alias.weights).length === 0;
  if (
    aliasSettled &&
    served?.exists &&
    served.codeSha256 === inputs.codeSha256 &&
    sameLayers(served.layers, inputs.fn.layers)
  ) {
    return { kind: 'unchanged', version: inputs.alias.functionVersion ?? '' };
  }
  return { kind: 'publish-only' };
}

function sameLayers(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((arn, i) => arn === b[i]);
}
