import { ActionError } from '../errors.js';

/**
 * Lambda's size limits, checked before anything is uploaded. The one that bites ML functions:
 * the function's code plus all its layers, unzipped, must fit in 262,144,000 bytes ("250 MB",
 * 1 MB = 1,048,576 bytes as AWS counts). The zipped limits do not apply here: code and layers
 * go through S3, not a direct 50 MB upload.
 */

export const LAMBDA_UNZIPPED_LIMIT_BYTES = 262_144_000;
export const LAMBDA_MAX_LAYERS = 5;
export const CONTAINER_IMAGE_LIMIT = '10 GB';
/** Lambda's container image limit (10 GB, all layers, as AWS counts: 10 x 1024^3 bytes). */
export const CONTAINER_IMAGE_LIMIT_BYTES = 10_737_418_240;

const MB = 1_048_576;

export interface SizePart {
  /** Shown to the user: 'function bundle', 'layer my-fn-deps', ... */
  name: string;
  kind: 'function' | 'layer';
  /** Unzipped bytes. */
  bytes: number;
  /** Bytes of model files inside this part, when known (makes the advice precise). */
  modelBytes?: number;
}

export interface PartReport {
  name: string;
  kind: 'function' | 'layer';
  bytes: number;
  /** Fraction of the limit this part uses (0.42 = 42%). */
  share: number;
}

export interface LimitReport {
  limitBytes: number;
  totalBytes: number;
  /** Negative when over the limit. */
  headroomBytes: number;
  /** Fraction of the limit used by all parts together. */
  share: number;
  ok: boolean;
  parts: PartReport[];
  largest?: PartReport;
}

export interface LimitAdviceOptions {
  /** Whether the dependency layer was slimmed (changes the advice for a large layer). */
  slim?: boolean;
  limitBytes?: number;
}

/** An overflow of Lambda's limits: the message has the numbers and what to do. */
export class LambdaSizeLimitError extends ActionError {
  override name = 'LambdaSizeLimitError';
  constructor(
    message: string,
    readonly report: LimitReport,
  ) {
    super(message);
  }
}

/** Pure: the per-part report (for the job summary), whether or not it fits. */
export function sizeReport(
  parts: readonly SizePart[],
  limitBytes: number = LAMBDA_UNZIPPED_LIMIT_BYTES,
): LimitReport {
  const reports = parts.map((part) => ({
    name: part.name,
    kind: part.kind,
    bytes: part.bytes,
    share: part.bytes / limitBytes,
  }));
  const totalBytes = parts.reduce((sum, part) => sum + part.bytes, 0);
  const largest = reports.reduce<PartReport | undefined>(
    (best, part) => (best === undefined || part.bytes > best.bytes ? part : best),
    undefined,
  );
  return {
    limitBytes,
    totalBytes,
    headroomBytes: limitBytes - totalBytes,
    share: totalBytes / limitBytes,
    ok: totalBytes <= limitBytes,
    parts: reports,
    ...(largest ? { largest } : {}),
  };
}

/** "262,144,000 bytes (250.0 MB)" */
export function bytesAndMb(bytes: number): string {
  return `${bytes.toLocaleString('en-US')} bytes (${(bytes / MB).toFixed(1)} MB)`;
}

function percent(share: number): string {
  return `${(share * 100).toFixed(1)}%`;
}

/** Pure: the advice lines, most relevant first. */
export function limitAdvice(
  parts: readonly SizePart[],
  report: LimitReport,
  options: LimitAdviceOptions = {},
): string[] {
  const modelBytes = parts.reduce((sum, part) => sum + (part.modelBytes ?? 0), 0);
  const model =
    modelBytes > 0
      ? `Move the model (${(modelBytes / MB).toFixed(1)} MB) to S3 and load it at init: download it to /tmp (up to 10 GB of ephemeral storage) outside the handler, so warm invocations reuse it; bundle only the handler.`
      : 'Move large data files (model weights, vocabularies) to S3 and load them at init into /tmp (up to 10 GB of ephemeral storage), outside the handler.';
  const slim =
    options.slim === false
      ? 'Set `slim: true` to drop tests, type stubs and other dead weight from the dependency layer (numpy+scipy: 216 MB -> 168 MB).'
      : 'Trim the requirements: drop packages the handler does not import, prefer lighter builds (onnxruntime instead of torch, scipy only when used).';
  const image = `If the model and dependencies must ship together, deploy the function as a container image (package-type: image, up to ${CONTAINER_IMAGE_LIMIT}).`;
  return report.largest?.kind === 'function' ? [model, slim, image] : [slim, model, image];
}

/**
 * Throws LambdaSizeLimitError when the function and its layers, unzipped, exceed Lambda's limit
 * (or when there are more layers than Lambda allows); returns the report otherwise.
 */
export function checkLambdaLimits(
  parts: readonly SizePart[],
  options: LimitAdviceOptions = {},
): LimitReport {
  const report = sizeReport(parts, options.limitBytes ?? LAMBDA_UNZIPPED_LIMIT_BYTES);
  const layerCount = parts.filter((part) => part.kind === 'layer').length;
  if (layerCount > LAMBDA_MAX_LAYERS) {
    throw new LambdaSizeLimitError(
      `The function would use ${layerCount} layers; Lambda allows at most ${LAMBDA_MAX_LAYERS}. Merge layers or move dependencies into the dependency layer.`,
      report,
    );
  }
  if (report.ok) return report;

  const lines = [
    `The function and its layers unzip to ${bytesAndMb(report.totalBytes)}, over Lambda's limit of ${bytesAndMb(report.limitBytes)} ` +
      `by ${bytesAndMb(-report.headroomBytes)}. Nothing was uploaded.`,
    'Sizes (unzipped):',
  ];
  for (const part of report.parts) {
    const largest = part === report.largest ? '  <- largest' : '';
    const source = parts.find((candidate) => candidate.name === part.name);
    const model = source?.modelBytes
      ? `; model files ${(source.modelBytes / MB).toFixed(1)} MB`
      : '';
    lines.push(
      `  - ${part.name}: ${bytesAndMb(part.bytes)}, ${percent(part.share)} of the limit${model}${largest}`,
    );
  }
  lines.push('What to do:');
  for (const advice of limitAdvice(parts, report, options)) lines.push(`  - ${advice}`);
  throw new LambdaSizeLimitError(lines.join('\n'), report);
}
