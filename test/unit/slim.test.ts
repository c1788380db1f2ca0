import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { planSlim, slimTree, type TreeEntry } from '../../src/packaging/slim.js';

function tree(files: Record<string, number>): TreeEntry[] {
  const dirs = new Set<string>();
  for (const file of Object.keys(files)) {
    const parts = file.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  return [
    ...[...dirs].map((d) => ({ path: d, type: 'dir' as const, size: 0 })),
    ...Object.entries(files).map(([p, size]) => ({ path: p, type: 'file' as const, size })),
  ];
}

describe('planSlim', () => {
  it('removes tests folders inside packages, stubs and stub packages; keeps dist-info, .so, testing and top-level tests', () => {
    const removals = planSlim(
      tree({
        'numpy/__init__.py': 10,
        'numpy/core/_multiarray.cpython-312-x86_64-linux-gnu.so': 1000,
        'numpy/core/tests/test_a.py': 50,
        'numpy/core/tests/data/x.npy': 70,
        'numpy/testing/__init__.py': 5,
        'numpy/__init__.pyi': 30,
        'numpy-2.1.0.dist-info/RECORD': 20,
        'numpy-2.1.0.dist-info/METADATA': 20,
        'pandas-stubs/__init__.pyi': 40,
        'tests/__init__.py': 3,
        'sklearn/datasets/test/data.csv': 8,
        'scipy/linalg/test/test_b.py': 9,
      }),
    );
    expect(removals).toEqual([
      { path: 'numpy/__init__.pyi', type: 'file', rule: 'stubs' },
      { path: 'numpy/core/tests', type: 'dir', rule: 'tests' },
      { path: 'pandas-stubs', type: 'dir', rule: 'stub-package' },
      { path: 'scipy/linalg/test', type: 'dir', rule: 'tests' },
    ]);
  });

  it('removes __pycache__ left without sources, not the ones next to sources', () => {
    const removals = planSlim(
      tree({
        'pkg/__init__.py': 1,
        'pkg/__pycache__/__init__.cpython-312.pyc': 1,
        'pkg/gone/__pycache__/old.cpython-312.pyc': 1,
        'pkg/tests/__pycache__/test_x.cpython-312.pyc': 1,
        'pkg/tests/test_x.py': 1,
      }),
    );
    expect(removals).toEqual([
      { path: 'pkg/gone/__pycache__', type: 'dir', rule: 'orphan-bytecode' },
      { path: 'pkg/tests', type: 'dir', rule: 'tests' },
    ]);
  });
});

describe('slimTree', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'slim-'));
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  async function write(rel: string, bytes: number): Promise<void> {
    const file = path.join(dir, ...rel.split('/'));
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, Buffer.alloc(bytes, 65));
  }

  it('deletes what the plan says and reports files and bytes per rule', async () => {
    await write('pkg/__init__.py', 10);
    await write('pkg/lib.cpython-312-x86_64-linux-gnu.so', 500);
    await write('pkg/tests/test_a.py', 100);
    await write('pkg/tests/sub/test_b.py', 200);
    await write('pkg/__init__.pyi', 40);
    await write('types_x-stubs/__init__.pyi', 60);
    await write('pkg-1.0.dist-info/RECORD', 30);

    const result = await slimTree(dir);
    expect(result).toEqual({
      bytesBefore: 940,
      removedFiles: 4,
      bytesSaved: 400,
      byRule: {
        tests: { files: 2, bytes: 300 },
        stubs: { files: 1, bytes: 40 },
        'stub-package': { files: 1, bytes: 60 },
      },
    });
    const left = (await fs.readdir(dir, { recursive: true }))
      .map((p) => p.split(path.sep).join('/'))
      .sort();
    expect(left).toEqual([
      'pkg',
      'pkg-1.0.dist-info',
      'pkg-1.0.dist-info/RECORD',
      'pkg/__init__.py',
      'pkg/lib.cpython-312-x86_64-linux-gnu.so',
    ]);
  });

  it('does nothing on a tree with nothing to remove', async () => {
    await write('a/__init__.py', 1);
    expect(await slimTree(dir)).toEqual({
      bytesBefore: 1,
      removedFiles: 0,
      bytesSaved: 0,
      byRule: {},
    });
  });
});
