/**
 * What a run found out, typed. Pipelines fill it in as facts become known, so a failed run still
 * reports what it did; the entries (main.ts, cli.ts) turn it into the action's outputs here, in
 * one place, when the run ends.
 */
export interface RunResult {
  /** The mode that ran (what `auto` resolved to). */
  mode?: string;
  version?: string;
  previousVersion?: string;
  aliasArn?: string;
  functionArn?: string;
  codeSha256?: string;
  layerVersionArn?: string;
  s3Key?: string;
  /** package-type image: repo@sha256:... the function runs. */
  imageUri?: string;
  smokeResult?: 'passed' | 'failed' | 'skipped';
  rolledBack?: boolean;
  changed?: boolean;
  previewUrl?: string;
  /** url: true: the function URL of `alias`. */
  url?: string;
  coldStartMs?: number;
  maxMemoryMb?: number;
}

/** Each output of action.yml and the result field it reports, in action.yml's order. */
export const OUTPUT_FIELDS = {
  version: 'version',
  'previous-version': 'previousVersion',
  'alias-arn': 'aliasArn',
  'function-arn': 'functionArn',
  'code-sha256': 'codeSha256',
  'layer-version-arn': 'layerVersionArn',
  's3-key': 's3Key',
  'image-uri': 'imageUri',
  'smoke-result': 'smokeResult',
  'rolled-back': 'rolledBack',
  changed: 'changed',
  'preview-url': 'previewUrl',
  url: 'url',
  'cold-start-ms': 'coldStartMs',
  'max-memory-mb': 'maxMemoryMb',
  mode: 'mode',
} as const satisfies Record<string, keyof RunResult>;

export type OutputName = keyof typeof OUTPUT_FIELDS;

/** The outputs a result gives: every field that is known, as text. Pure. */
export function outputsOf(result: RunResult): Partial<Record<OutputName, string>> {
  const outputs: Partial<Record<OutputName, string>> = {};
  for (const [name, field] of Object.entries(OUTPUT_FIELDS) as Array<
    [OutputName, keyof RunResult]
  >) {
    const value = result[field];
    if (value !== undefined) outputs[name] = String(value);
  }
  return outputs;
}

/**
 * A RunResult that reports each output the moment its field is set: the action writes outputs as
 * soon as they are known, so a main step killed midway (the post step then restores the alias)
 * still tells later steps which version it published.
 */
export function reportingResult(
  write: (name: OutputName, value: string) => void,
  initial: RunResult = {},
): RunResult {
  const names = new Map<string, OutputName>(
    Object.entries(OUTPUT_FIELDS).map(([name, field]) => [field, name as OutputName]),
  );
  const target: RunResult = {};
  const result = new Proxy(target, {
    set(object, field, value: unknown) {
      Reflect.set(object, field, value);
      const name = typeof field === 'string' ? names.get(field) : undefined;
      if (name && value !== undefined) write(name, String(value));
      return true;
    },
  });
  Object.assign(result, initial);
  return result;
}
