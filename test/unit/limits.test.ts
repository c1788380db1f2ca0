import { ActionError } from '../../src/errors.js';
import {
  bytesAndMb,
  checkLambdaLimits,
  LAMBDA_UNZIPPED_LIMIT_BYTES,
  LambdaSizeLimitError,
  limitAdvice,
  sizeReport,
  type SizePart,
} from '../../src/packaging/limits.js';

const MB = 1_048_576;

function overflow(parts: SizePart[], slim?: boolean): LambdaSizeLimitError {
  try {
    checkLambdaLimits(parts, { slim });
  } catch (error) {
    if (error instanceof LambdaSizeLimitError) return error;
    throw error;
  }
  throw new Error('expected checkLambdaLimits to throw');
}

describe('sizeReport', () => {
  test('per-part bytes and share of the limit, total, headroom, largest part', () => {
    const report = sizeReport([
      { name: 'function bundle', kind: 'function', bytes: 30 * MB },
      { name: 'layer fn-deps', kind: 'layer', bytes: 120 * MB },
    ]);
    expect(report.limitBytes).toBe(262_144_000);
    expect(report.totalBytes).toBe(150 * MB);
    expect(report.headroomBytes).toBe(100 * MB);
    expect(report.share).toBeCloseTo(0.6, 10);
    expect(report.ok).toBe(true);
    expect(report.parts).toEqual([
      { name: 'function bundle', kind: 'function', bytes: 30 * MB, share: 0.12 },
      { name: 'layer fn-deps', kind: 'layer', bytes: 120 * MB, share: 0.48 },
    ]);
    expect(report.largest?.name).toBe('layer fn-deps');
  });

  test('exactly at the limit fits; one byte over does not; no parts is an empty report', () => {
    expect(
      sizeReport([{ name: 'f', kind: 'function', bytes: LAMBDA_UNZIPPED_LIMIT_BYTES }]).ok,
    ).toBe(true);
    expect(
      sizeReport([{ name: 'f', kind: 'function', bytes: LAMBDA_UNZIPPED_LIMIT_BYTES + 1 }]).ok,
    ).toBe(false);
    const empty = sizeReport([]);
    expect(empty).toMatchObject({ totalBytes: 0, ok: true, parts: [] });
    expect(empty.largest).toBeUndefined();
  });
});

describe('checkLambdaLimits', () => {
  test('returns the report when everything fits', () => {
    const report = checkLambdaLimits([
      { name: 'function bundle', kind: 'function', bytes: 200 * MB },
    ]);
    expect(report.ok).toBe(true);
    expect(report.headroomBytes).toBe(50 * MB);
  });

  test('overflow: the message has every part in bytes and MB, the share, the largest part and the fixes', () => {
    const error = overflow([
      { name: 'function bundle', kind: 'function', bytes: 200 * MB, modelBytes: 190 * MB },
      { name: 'layer fn-deps', kind: 'layer', bytes: 88 * MB },
    ]);
    expect(error).toBeInstanceOf(ActionError);
    const message = error.message;
    expect(message).toContain('unzip to 301,989,888 bytes (288.0 MB)');
    expect(message).toContain('limit of 262,144,000 bytes (250.0 MB)');
    expect(message).toContain('by 39,845,888 bytes (38.0 MB)');
    expect(message).toContain('Nothing was uploaded');
    expect(message).toMatch(
      /function bundle: 209,715,200 bytes \(200\.0 MB\), 80\.0% of the limit; model files 190\.0 MB {2}<- largest/,
    );
    expect(message).toMatch(/layer fn-deps: 92,274,688 bytes \(88\.0 MB\), 35\.2% of the limit\n/);
    expect(message).toMatch(/Move the model \(190\.0 MB\) to S3 and load it at init/);
    expect(message).toMatch(/container image \(package-type: image, up to 10 GB\)/);
    expect(message).toMatch(/requirements/);
    // The largest part decides which advice comes first.
    expect(message.indexOf('Move the model')).toBeLessThan(
      message.indexOf('Trim the requirements'),
    );
    expect(error.report.ok).toBe(false);
    expect(error.report.largest?.name).toBe('function bundle');
  });

  test('a large layer without slim: slim: true is the first advice', () => {
    const message = overflow(
      [
        { name: 'function bundle', kind: 'function', bytes: 20 * MB },
        { name: 'layer fn-deps', kind: 'layer', bytes: 240 * MB },
      ],
      false,
    ).message;
    expect(message).toMatch(/layer fn-deps: .*<- largest/);
    const advice = message.split('What to do:\n')[1].split('\n');
    expect(advice[0]).toMatch(/Set `slim: true`/);
    expect(advice[1]).toMatch(/Move large data files .* to S3/);
    expect(advice[2]).toMatch(/container image/);
  });

  test('limitAdvice: with slim already on, the layer advice is to trim requirements', () => {
    const parts: SizePart[] = [{ name: 'layer deps', kind: 'layer', bytes: 300 * MB }];
    const advice = limitAdvice(parts, sizeReport(parts), { slim: true });
    expect(advice[0]).toMatch(/^Trim the requirements/);
    expect(advice.join('\n')).not.toMatch(/slim: true/);
  });

  test('more than five layers is refused', () => {
    const layers: SizePart[] = Array.from({ length: 6 }, (_, i) => ({
      name: `layer ${i}`,
      kind: 'layer' as const,
      bytes: MB,
    }));
    expect(() =>
      checkLambdaLimits([{ name: 'function bundle', kind: 'function', bytes: MB }, ...layers]),
    ).toThrow(/6 layers; Lambda allows at most 5/);
  });

  test('bytesAndMb formats both units', () => {
    expect(bytesAndMb(262_144_000)).toBe('262,144,000 bytes (250.0 MB)');
    expect(bytesAndMb(0)).toBe('0 bytes (0.0 MB)');
  });
});
