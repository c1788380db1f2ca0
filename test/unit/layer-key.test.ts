import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  computeLayerKey,
  gatherRequirements,
  layerDescription,
  normaliseRequirements,
  parseLayerDescription,
  parseReference,
  pipArgReferences,
  type LayerKeyMaterial,
} from '../../src/packaging/layer-key.js';

const base: LayerKeyMaterial = {
  files: [{ path: 'requirements.txt', lines: ['numpy==2.1.0', 'scipy==1.14.0'] }],
  localSources: [],
  runtime: 'python3.12',
  architecture: 'x86_64',
  build: 'docker',
  buildImage: 'public.ecr.aws/sam/build-python3.12:latest-x86_64',
  pipArgs: [],
  slim: true,
};

describe('normaliseRequirements', () => {
  it('drops comments, blank lines and surrounding spaces but keeps order', () => {
    const text = '# deps\n\nnumpy==2.1.0   # pinned\n  scipy==1.14.0  \r\n\n# end\n';
    expect(normaliseRequirements(text)).toEqual(['numpy==2.1.0', 'scipy==1.14.0']);
  });

  it('keeps URL fragments (# not preceded by whitespace) and joins continuation lines', () => {
    const text =
      'pkg @ https://host/pkg-1.0-py3-none-any.whl#sha256=abc\nnumpy==2.1.0 \\\n    --hash=sha256:def\n';
    expect(normaliseRequirements(text)).toEqual([
      'pkg @ https://host/pkg-1.0-py3-none-any.whl#sha256=abc',
      'numpy==2.1.0 --hash=sha256:def',
    ]);
  });

  it('keeps the order of lines (order is meaningful to pip)', () => {
    expect(normaliseRequirements('b\na\n')).toEqual(['b', 'a']);
  });
});

describe('computeLayerKey', () => {
  const key = computeLayerKey(base);

  it('is a stable sha256 hex', () => {
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(
      computeLayerKey({
        ...base,
        files: [{ path: 'requirements.txt', lines: ['numpy==2.1.0', 'scipy==1.14.0'] }],
      }),
    ).toBe(key);
  });

  it('does not change for comment or whitespace edits of the requirements', () => {
    const edited = normaliseRequirements(
      '# comment\nnumpy==2.1.0    \n\n\n   scipy==1.14.0 # why\n',
    );
    expect(computeLayerKey({ ...base, files: [{ path: 'requirements.txt', lines: edited }] })).toBe(
      key,
    );
  });

  it.each<[string, Partial<LayerKeyMaterial>]>([
    [
      'a requirement',
      { files: [{ path: 'requirements.txt', lines: ['numpy==2.1.1', 'scipy==1.14.0'] }] },
    ],
    [
      'the order',
      { files: [{ path: 'requirements.txt', lines: ['scipy==1.14.0', 'numpy==2.1.0'] }] },
    ],
    ['a referenced file', { files: [...base.files, { path: 'common.txt', lines: ['x'] }] }],
    ['a local wheelhouse', { localSources: [{ path: 'find-links:wheels', digest: 'abc' }] }],
    ['the runtime', { runtime: 'python3.13' }],
    ['the architecture', { architecture: 'arm64' }],
    ['the build image', { buildImage: 'my/build:1' }],
    ['the build method', { build: 'pip' }],
    ['pip-args', { pipArgs: ['--extra-index-url', 'https://example.com/simple'] }],
    ['slim', { slim: false }],
  ])('changes when %s changes', (_label, change) => {
    expect(computeLayerKey({ ...base, ...change })).not.toBe(key);
  });

  it('ignores the build image in build: pip mode (it is not used)', () => {
    const pip = { ...base, build: 'pip' as const };
    expect(computeLayerKey({ ...pip, buildImage: 'a' })).toBe(
      computeLayerKey({ ...pip, buildImage: 'b' }),
    );
  });
});

describe('layer description', () => {
  const key = 'a'.repeat(64);

  it('carries the key and size within 256 characters and parses back', () => {
    const description = layerDescription({
      key,
      unzippedBytes: 123456789,
      runtime: 'python3.12',
      architecture: 'arm64',
    });
    expect(description).toBe(
      `lambda-ml-deploy layer key=${key} unzipped=123456789 python3.12 arm64`,
    );
    expect(description.length).toBeLessThanOrEqual(256);
    expect(parseLayerDescription(description)).toEqual({ key, unzippedBytes: 123456789 });
  });

  it('does not recognise descriptions of other layers', () => {
    expect(parseLayerDescription('my layer')).toBeUndefined();
    expect(parseLayerDescription(undefined)).toBeUndefined();
    expect(parseLayerDescription(`lambda-ml-deploy layer key=${'a'.repeat(63)}`)).toBeUndefined();
  });
});

describe('references', () => {
  it('finds -r / -c / --find-links / local packages', () => {
    expect(parseReference('-r common.txt')).toEqual({ kind: 'requirements', target: 'common.txt' });
    expect(parseReference('--requirement=sub/dev.txt')).toEqual({
      kind: 'requirements',
      target: 'sub/dev.txt',
    });
    expect(parseReference('-c constraints.txt')).toEqual({
      kind: 'constraints',
      target: 'constraints.txt',
    });
    expect(parseReference('--find-links ./wheels')).toEqual({
      kind: 'find-links',
      target: './wheels',
    });
    expect(parseReference('-f https://example.com/wheels')).toBeUndefined();
    expect(parseReference('./pkg')).toEqual({ kind: 'local-package', target: './pkg' });
    expect(parseReference('-e ../lib[extra]')).toEqual({ kind: 'local-package', target: '../lib' });
    expect(parseReference('numpy==2.1.0')).toBeUndefined();
    expect(parseReference('--extra-index-url https://x/simple')).toBeUndefined();
  });

  it('reads references from pip-args', () => {
    expect(pipArgReferences(['--no-index', '--find-links', './wheels', '-c', 'c.txt'])).toEqual([
      { kind: 'find-links', target: './wheels' },
      { kind: 'constraints', target: 'c.txt' },
    ]);
  });
});

describe('gatherRequirements', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'layer-key-'));
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('follows -r/-c relative to the file that names them and digests local wheelhouses', async () => {
    await fs.mkdir(path.join(dir, 'sub'));
    await fs.mkdir(path.join(dir, 'wheels'));
    await fs.writeFile(
      path.join(dir, 'requirements.txt'),
      '# main\n-r sub/common.txt\n--find-links ./wheels\nnumpy==2.1.0\n',
    );
    await fs.writeFile(path.join(dir, 'sub', 'common.txt'), '-c ../constraints.txt\nscipy\n');
    await fs.writeFile(path.join(dir, 'constraints.txt'), 'scipy<2\n');
    await fs.writeFile(path.join(dir, 'wheels', 'a-1.0-py3-none-any.whl'), 'one');

    const first = await gatherRequirements({
      requirementsPath: path.join(dir, 'requirements.txt'),
      pipArgs: [],
    });
    expect(first.files).toEqual([
      {
        path: 'requirements.txt',
        lines: ['-r sub/common.txt', '--find-links ./wheels', 'numpy==2.1.0'],
      },
      { path: 'sub/common.txt', lines: ['-c ../constraints.txt', 'scipy'] },
      { path: 'constraints.txt', lines: ['scipy<2'] },
    ]);
    expect(first.localSources).toHaveLength(1);

    const material = (m: typeof first) => ({ ...base, ...m });
    const keyBefore = computeLayerKey(material(first));
    await fs.writeFile(path.join(dir, 'constraints.txt'), 'scipy<1.15\n');
    const afterConstraint = computeLayerKey(
      material(
        await gatherRequirements({
          requirementsPath: path.join(dir, 'requirements.txt'),
          pipArgs: [],
        }),
      ),
    );
    expect(afterConstraint).not.toBe(keyBefore);

    await fs.writeFile(path.join(dir, 'wheels', 'a-1.0-py3-none-any.whl'), 'rebuilt');
    const afterWheel = computeLayerKey(
      material(
        await gatherRequirements({
          requirementsPath: path.join(dir, 'requirements.txt'),
          pipArgs: [],
        }),
      ),
    );
    expect(afterWheel).not.toBe(afterConstraint);
  });

  it('survives a reference cycle', async () => {
    await fs.writeFile(path.join(dir, 'a.txt'), '-r b.txt\nx\n');
    await fs.writeFile(path.join(dir, 'b.txt'), '-r a.txt\ny\n');
    const gathered = await gatherRequirements({
      requirementsPath: path.join(dir, 'a.txt'),
      pipArgs: [],
    });
    expect(gathered.files.map((f) => f.path)).toEqual(['a.txt', 'b.txt']);
  });

  it('names the missing file and where it was referenced', async () => {
    await fs.writeFile(path.join(dir, 'requirements.txt'), '-r missing.txt\n');
    await expect(
      gatherRequirements({ requirementsPath: path.join(dir, 'requirements.txt'), pipArgs: [] }),
    ).rejects.toThrow(
      /Input 'requirements': cannot read .*missing\.txt \(referenced from requirements\.txt\)/,
    );
  });
});
