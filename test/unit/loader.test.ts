import * as fs from 'node:fs';
import * as path from 'node:path';
import { LOADER_SOURCE } from '../../src/packaging/loader-source.js';
import { loaderSource, userLoader } from '../../src/packaging/loader.js';

const file = (zipPath: string, origin: 'source' | 'model' = 'source') => ({
  zipPath,
  absPath: `/x/${zipPath}`,
  size: 1,
  mode: 0o644 as const,
  origin,
});

describe('the shipped loader', () => {
  it('is python/lambda_ml_model.py as it is (run npm run docs after editing it)', () => {
    const source = fs.readFileSync(path.join('python', 'lambda_ml_model.py'), 'utf8');
    expect(LOADER_SOURCE).toBe(source);
  });

  it('gets the model store and model-dest of this deploy written in', () => {
    const text = loaderSource('s3', 'weights/v1');
    expect(text).toMatch(/^MODEL_STORE = "s3"$/m);
    expect(text).toMatch(/^MODEL_DEST = "weights\/v1"$/m);
    expect(text.replace(/^MODEL_(STORE|DEST) = .*$/gm, '')).toBe(
      LOADER_SOURCE.replace(/^MODEL_(STORE|DEST) = .*$/gm, ''),
    );
    expect(loaderSource('bundle', '')).toMatch(/^MODEL_DEST = ""$/m);
  });

  it('is not added when the source has a module of that name', () => {
    expect(userLoader([file('app.py'), file('lambda_ml_model.py')])).toBe('lambda_ml_model.py');
    expect(userLoader([file('lambda_ml_model/__init__.py')])).toBe('lambda_ml_model/__init__.py');
    expect(userLoader([file('app.py'), file('model/lambda_ml_model.py', 'model')])).toBeUndefined();
    expect(userLoader([file('lib/lambda_ml_model.py')])).toBeUndefined();
  });
});
