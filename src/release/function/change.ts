import type { AliasState } from '../traffic/alias-plan.js';
import {
  diffConfig,
  resolveTarget,
  updateConfigurationInput,
  type FieldChange,
  type UpdateInput,
} from './config-diff.js';
import type { DesiredConfig } from './desired-config.js';
import { MISSING_FUNCTION, type FunctionConfig, type FunctionState } from './function-state.js';

export interface ChangeInputs {
  /** $LATEST as read before this run changes anything. */
  fn: FunctionState;
  /** The bundle's CodeSha256 (base64). */
  codeSha256: string;
  desired: DesiredConfig;
  alias: AliasState;
  /** The configuration of the version the alias serves, when it serves one without weights. */
  servedVersion?: FunctionState;
}

export type ChangeDecision =
  | { kind: 'create' }
  /** `code`: UpdateFunctionCode (with the architecture); `config`: UpdateFunctionConfiguration. */
  | { kind: 'update'; code: boolean; config: boolean }
  /** $LATEST already holds this bundle and configuration, but the alias does not serve it yet. */
  | { kind: 'publish-only' }
  /** The alias already serves a version with this bundle, layers and configuration. */
  | { kind: 'unchanged'; version: string };

/** A change row for the summary: a configuration field, the code, or a function-level setting. */
export type ChangeRow = Omit<FieldChange, 'field'> & {
  field: FieldChange['field'] | 'code' | 'tags' | 'codeSigning';
};

export interface ChangePlan {
  decision: ChangeDecision;
  /** What the function should look like after this run. */
  target: FunctionConfig;
  /** UpdateFunctionConfiguration parameters for what $LATEST lacks; undefined: nothing. */
  update?: UpdateInput;
  /** Before -> after against the version the alias serves ($LATEST when it serves none). */
  rows: ChangeRow[];
}

/**
 * What the release must do, from what is deployed now: the whole desired state (code, layers,
 * architecture, configuration) against $LATEST, and against the version the alias serves. $LATEST
 * may already hold the new configuration (a run stopped after updating it): the served version
 * still lacks it, so this run publishes. Pure.
 */
export function planChange(inputs: ChangeInputs): ChangePlan {
  const { fn, codeSha256, alias } = inputs;
  const target = resolveTarget(fn.exists ? fn : MISSING_FUNCTION, inputs.desired);
  const codeRow = (before: string | undefined): ChangeRow[] =>
    before === codeSha256
      ? []
      : [
          {
            field: 'code',
            label: 'code (CodeSha256)',
            before: before ?? '(none)',
            after: codeSha256,
          },
        ];
  if (!fn.exists) {
    return {
      decision: { kind: 'create' },
      target,
      rows: [...codeRow(undefined), ...diffConfig(MISSING_FUNCTION, target)],
    };
  }

  const latestChanges = diffConfig(fn, target);
  const update = updateConfigurationInput(target, latestChanges);
  const code =
    fn.codeSha256 !== codeSha256 || latestChanges.some((c) => c.field === 'architecture');
  const served = inputs.servedVersion?.exists ? inputs.servedVersion : undefined;
  const servedChanges = served ? diffConfig(served, target, 'version') : [];
  const rows = served
    ? [
        ...codeRow(served.codeSha256),
        ...servedChanges,
        // A version's description is the one given at publish: $LATEST's is compared instead.
        ...latestChanges.filter((c) => c.field === 'description'),
      ]
    : [...codeRow(fn.codeSha256), ...latestChanges];

  let decision: ChangeDecision;
  if (code || update) {
    decision = { kind: 'update', code, config: update !== undefined };
  } else if (
    alias.exists &&
    Object.keys(alias.weights).length === 0 &&
    served?.codeSha256 === codeSha256 &&
    servedChanges.length === 0
  ) {
    decision = { kind: 'unchanged', version: alias.functionVersion ?? '' };
  } else {
    decision = { kind: 'publish-only' };
  }
  return { decision, target, update, rows };
}
