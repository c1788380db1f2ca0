export type OutputName =
  | 'version'
  | 'previous-version'
  | 'alias-arn'
  | 'function-arn'
  | 'code-sha256'
  | 'layer-version-arn'
  | 's3-key'
  | 'smoke-result'
  | 'rolled-back'
  | 'changed'
  | 'preview-url'
  | 'url'
  | 'mode'
  | 'cold-start-ms'
  | 'max-memory-mb';

/** Outputs are set as soon as they are known, so a failed run still reports what it did. */
export interface Outputs {
  set(name: OutputName, value: string | number | boolean): void;
}

export function memoryOutputs(): Outputs & { values: Partial<Record<OutputName, string>> } {
  const values: Partial<Record<OutputName, string>> = {};
  return {
    values,
    set: (name, value) => {
      values[name] = String(value);
    },
  };
}
