import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  collectBundleFiles,
  compileGlobs,
  normaliseModelDest,
  SymlinkEscapeError,
  type BundleFilesOptions,
} from '../../src/packaging/bundle-files.js';
import { DEFAULT_EXCLUDES } from '../../src/settings.js';
import { InputError } from '../../src/errors.js';

let tmp: string;
beforeAll(async () => {
  tmp = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'bundle-files-test-')));
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

let counter = 0;
/** A fresh workspace with the given files ('content' or [content, mode]). */
async function workspace(files: Record<string, string | [string, number]>): Promise<string> {
  const root = path.join(tmp, `ws-${counter++}`);
  await fs.mkdir(root, { recursive: true });
  for (const [rel, spec] of Object.entries(files)) {
    const [content, mode] = Array.isArray(spec) ? spec : [spec, 0o644];
    const file = path.join(root, rel);
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, content);
    await fs.chmod(file, mode);
  }
  return root;
}

function options(root: string, overrides: Partial<BundleFilesOptions> = {}): BundleFilesOptions {
  return {
    workspace: root,
    sourceDir: '.',
    include: [],
    exclude: DEFAULT_EXCLUDES,
    model: [],
    modelDest: 'model',
    ...overrides,
  };
}

async function zipPaths(opts: BundleFilesOptions): Promise<string[]> {
  return (await collectBundleFiles(opts)).map((file) => file.zipPath);
}

describe('compileGlobs', () => {
  test('gitignore-like rules: bare names at any depth, anchored with /, folders cover their contents', () => {
    const match = compileGlobs(['*.pyc', '/build', 'docs/']);
    expect(match('a.pyc')).toBe(true);
    expect(match('pkg/sub/a.pyc')).toBe(true);
    expect(match('build')).toBe(true);
    expect(match('pkg/build')).toBe(false);
    expect(match('docs')).toBe(true);
    expect(match('pkg/docs')).toBe(true);
    expect(match('a.py')).toBe(false);
    expect(compileGlobs([])('anything')).toBe(false);
    expect(compileGlobs(['  ', ''])('anything')).toBe(false);
  });

  test('DEFAULT_EXCLUDES match at any depth, dot folders included', () => {
    const match = compileGlobs(DEFAULT_EXCLUDES);
    for (const excluded of [
      '.git',
      'vendor/lib/.git',
      '__pycache__',
      'pkg/__pycache__',
      'x.pyc',
      'pkg/sub/x.pyc',
      'tests',
      'pkg/tests',
    ]) {
      expect([excluded, match(excluded)]).toEqual([excluded, true]);
    }
    for (const kept of ['app.py', 'tests.py', 'pkg/test_utils.py', '.env.example', 'gitignore']) {
      expect([kept, match(kept)]).toEqual([kept, false]);
    }
  });
});

describe('collectBundleFiles: source selection', () => {
  test('default excludes drop .git, __pycache__, *.pyc and tests at any depth; result is sorted', async () => {
    const root = await workspace({
      'lambda_function.py': 'x',
      'pkg/__init__.py': '',
      'pkg/core.py': 'y',
      'pkg/core.pyc': 'bytecode',
      'pkg/__pycache__/core.cpython-312.pyc': 'bytecode',
      'pkg/tests/test_core.py': 't',
      'tests/test_handler.py': 't',
      '.git/config': '[core]',
      '.env.example': 'A=1',
      'Zeta.txt': 'upper case sorts first',
    });
    expect(await zipPaths(options(root))).toEqual([
      '.env.example',
      'Zeta.txt',
      'lambda_function.py',
      'pkg/__init__.py',
      'pkg/core.py',
    ]);
  });

  test('include narrows the selection: bare patterns at any depth, folders with their contents', async () => {
    const root = await workspace({
      'lambda_function.py': 'x',
      'app/model.py': 'y',
      'app/assets/logo.svg': '<svg/>',
      'notes.md': 'n',
      'scripts/train.py': 't',
    });
    expect(await zipPaths(options(root, { include: ['*.py'] }))).toEqual([
      'app/model.py',
      'lambda_function.py',
      'scripts/train.py',
    ]);
    expect(await zipPaths(options(root, { include: ['app', '/lambda_function.py'] }))).toEqual([
      'app/assets/logo.svg',
      'app/model.py',
      'lambda_function.py',
    ]);
    expect(await zipPaths(options(root, { include: ['app/**/*.svg'] }))).toEqual([
      'app/assets/logo.svg',
    ]);
  });

  test('exclude wins over include; user excludes add to the defaults', async () => {
    const root = await workspace({
      'lambda_function.py': 'x',
      'scripts/train.py': 't',
      'data/big.csv': 'd',
      'pkg/x.pyc': 'b',
    });
    const opts = options(root, {
      include: ['*.py', 'data'],
      exclude: [...DEFAULT_EXCLUDES, 'scripts', '*.csv'],
    });
    expect(await zipPaths(opts)).toEqual(['lambda_function.py']);
  });

  test('source-dir becomes the zip root', async () => {
    const root = await workspace({
      'README.md': 'r',
      'src/handler/app.py': 'a',
      'src/handler/lib/u.py': 'u',
    });
    expect(await zipPaths(options(root, { sourceDir: 'src/handler' }))).toEqual([
      'app.py',
      'lib/u.py',
    ]);
  });

  test('modes follow the executable bit; sizes and absolute paths are reported', async () => {
    const root = await workspace({
      'run.sh': ['#!/bin/sh\n', 0o700],
      'app.py': ['print(1)\n', 0o664],
      'key.txt': ['k', 0o600],
    });
    const files = await collectBundleFiles(options(root));
    expect(files).toEqual([
      {
        zipPath: 'app.py',
        absPath: path.join(root, 'app.py'),
        size: 9,
        mode: 0o644,
        origin: 'source',
      },
      {
        zipPath: 'key.txt',
        absPath: path.join(root, 'key.txt'),
        size: 1,
        mode: 0o644,
        origin: 'source',
      },
      {
        zipPath: 'run.sh',
        absPath: path.join(root, 'run.sh'),
        size: 10,
        mode: 0o755,
        origin: 'source',
      },
    ]);
  });

  test('an empty selection is an error that names the folder and the include patterns', async () => {
    const root = await workspace({ 'a.txt': 'a' });
    await expect(collectBundleFiles(options(root, { include: ['*.py'] }))).rejects.toThrow(
      /empty.*include \[\*\.py\]/,
    );
  });

  test('a missing source-dir is an input error', async () => {
    const root = await workspace({ 'a.py': 'a' });
    await expect(collectBundleFiles(options(root, { sourceDir: 'nope' }))).rejects.toThrow(
      InputError,
    );
    await expect(collectBundleFiles(options(root, { sourceDir: 'nope' }))).rejects.toThrow(
      /Input 'source-dir': 'nope' does not exist/,
    );
    await expect(collectBundleFiles(options(root, { sourceDir: 'a.py' }))).rejects.toThrow(
      /Input 'source-dir': 'a.py' is not a folder/,
    );
  });
});

describe('collectBundleFiles: model', () => {
  test('a model folder keeps its layout under model-dest; a model file lands at model-dest/<name>', async () => {
    const root = await workspace({
      'lambda_function.py': 'x',
      'artifacts/classifier/config.json': '{}',
      'artifacts/classifier/weights/part-1.bin': 'w1',
      'artifacts/classifier/.git/HEAD': 'ref',
      'exports/tokenizer.json': '{"v": 1}',
    });
    const files = await collectBundleFiles(
      options(root, {
        sourceDir: '.',
        include: ['lambda_function.py'],
        model: ['artifacts/classifier', path.join(root, 'exports/tokenizer.json')],
        modelDest: 'opt/ml/',
      }),
    );
    expect(files.map((file) => [file.zipPath, file.origin])).toEqual([
      ['lambda_function.py', 'source'],
      ['opt/ml/config.json', 'model'],
      ['opt/ml/tokenizer.json', 'model'],
      ['opt/ml/weights/part-1.bin', 'model'],
    ]);
  });

  test('a model folder inside source-dir is bundled once, under model-dest', async () => {
    const root = await workspace({
      'lambda_function.py': 'x',
      'model/weights.bin': 'w',
      'artifacts/clf.pkl': 'p',
    });
    expect(await zipPaths(options(root, { model: ['model'] }))).toEqual([
      'artifacts/clf.pkl',
      'lambda_function.py',
      'model/weights.bin',
    ]);
    // A model elsewhere in the tree moves to model-dest rather than appearing twice.
    expect(
      await zipPaths(
        options(root, { model: ['artifacts/clf.pkl'], exclude: [...DEFAULT_EXCLUDES, 'model'] }),
      ),
    ).toEqual(['lambda_function.py', 'model/clf.pkl']);
  });

  test("model-dest '.' puts model files at the zip root; model-dest that leaves the zip is refused", async () => {
    const root = await workspace({ 'lambda_function.py': 'x', 'm/weights.bin': 'w' });
    expect(await zipPaths(options(root, { model: ['m'], modelDest: '.' }))).toEqual([
      'lambda_function.py',
      'weights.bin',
    ]);
    expect(normaliseModelDest('./a//b/')).toBe('a/b');
    expect(normaliseModelDest('')).toBe('');
    expect(() => normaliseModelDest('../up')).toThrow(/Input 'model-dest'.*'\.\.'/);
    expect(() => normaliseModelDest('/abs')).toThrow(/Input 'model-dest'.*absolute/);
  });

  test('a missing model path is an input error naming it', async () => {
    const root = await workspace({ 'lambda_function.py': 'x' });
    await expect(
      collectBundleFiles(options(root, { model: ['models/missing.bin'] })),
    ).rejects.toThrow(/Input 'model': 'models\/missing.bin' does not exist/);
  });

  test('a model file colliding with a source file is refused, naming both', async () => {
    const root = await workspace({
      'lambda_function.py': 'x',
      'model/config.json': 'source',
      'downloads/config.json': 'model',
    });
    const error = await collectBundleFiles(
      options(root, { model: ['downloads/config.json'] }),
    ).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    const message = (error as Error).message;
    expect(message).toContain("'model/config.json'");
    expect(message).toContain(path.join(root, 'model/config.json'));
    expect(message).toContain(path.join(root, 'downloads/config.json'));
    expect(message).toMatch(/model-dest/);
  });

  test('two model paths with the same file name collide', async () => {
    const root = await workspace({ 'a/w.bin': '1', 'b/w.bin': '2', 'h.py': 'x' });
    await expect(
      collectBundleFiles(options(root, { model: ['a/w.bin', 'b/w.bin'] })),
    ).rejects.toThrow(/'model\/w\.bin'.*a\/w\.bin.*b\/w\.bin/);
  });
});

describe('collectBundleFiles: symlinks', () => {
  test('links inside the workspace are followed (files and folders)', async () => {
    const root = await workspace({
      'lambda_function.py': 'x',
      'shared/util.py': 'u',
      'shared/data/v.json': '{}',
    });
    await fs.symlink('shared/util.py', path.join(root, 'util.py'));
    await fs.symlink(path.join(root, 'shared/data'), path.join(root, 'data'));
    const files = await collectBundleFiles(options(root));
    expect(files.map((file) => file.zipPath)).toEqual([
      'data/v.json',
      'lambda_function.py',
      'shared/data/v.json',
      'shared/util.py',
      'util.py',
    ]);
    expect(files.find((file) => file.zipPath === 'util.py')?.size).toBe(1);
  });

  test('a link pointing outside the workspace is refused with its path', async () => {
    const outside = await workspace({ 'secret.txt': 'token' });
    const root = await workspace({ 'lambda_function.py': 'x' });
    await fs.mkdir(path.join(root, 'conf'));
    await fs.symlink(path.join(outside, 'secret.txt'), path.join(root, 'conf/creds'));
    await expect(collectBundleFiles(options(root))).rejects.toThrow(
      /Symlink '.*conf\/creds' resolves to .*, outside source-dir '\.'/,
    );
  });

  test('a folder link pointing outside the workspace is refused too; excluding it avoids the error', async () => {
    const outside = await workspace({ id_rsa: 'key' });
    const root = await workspace({ 'lambda_function.py': 'x' });
    await fs.symlink(outside, path.join(root, 'home'));
    await expect(collectBundleFiles(options(root))).rejects.toThrow(
      /Symlink '.*home' resolves to .*, outside source-dir '\.'/,
    );
    expect(await zipPaths(options(root, { exclude: [...DEFAULT_EXCLUDES, 'home'] }))).toEqual([
      'lambda_function.py',
    ]);
  });

  test('broken links and link loops are errors naming the link', async () => {
    const root = await workspace({ 'lambda_function.py': 'x' });
    await fs.symlink('missing.py', path.join(root, 'dangling.py'));
    await expect(collectBundleFiles(options(root))).rejects.toThrow(
      /Symlink '.*dangling\.py' cannot be followed/,
    );
    await fs.rm(path.join(root, 'dangling.py'));
    await fs.mkdir(path.join(root, 'pkg'));
    await fs.symlink('..', path.join(root, 'pkg/loop'));
    await expect(collectBundleFiles(options(root))).rejects.toThrow(/Symlink loop: '.*pkg\/loop'/);
  });

  test('explicit model paths may be links; links inside a model folder stay inside that folder', async () => {
    const store = await workspace({ 'blobs/abc': 'weights', 'snap/config.json': '{}' });
    await fs.symlink('../blobs/abc', path.join(store, 'snap/model.bin'));
    const root = await workspace({ 'lambda_function.py': 'x' });
    await fs.symlink(path.join(store, 'blobs/abc'), path.join(root, 'model.bin'));
    // An explicitly named file link is followed, named after the link.
    expect(await zipPaths(options(root, { model: ['model.bin'] }))).toEqual([
      'lambda_function.py',
      'model/model.bin',
    ]);
    // A link inside the model folder that leaves it is refused, naming the model path.
    await fs.rm(path.join(root, 'model.bin'));
    await expect(
      collectBundleFiles(options(root, { model: [path.join(store, 'snap')] })),
    ).rejects.toThrow(/Symlink '.*snap\/model\.bin' resolves to .*, outside model path '.*snap'/);
    // Links that stay inside the named model folder are fine.
    await fs.rm(path.join(store, 'snap/model.bin'));
    await fs.symlink('config.json', path.join(store, 'snap/alias.json'));
    expect(await zipPaths(options(root, { model: [path.join(store, 'snap')] }))).toEqual([
      'lambda_function.py',
      'model/alias.json',
      'model/config.json',
    ]);
  });

  test('a link in a model folder to elsewhere in the workspace is refused', async () => {
    const root = await workspace({
      'lambda_function.py': 'x',
      'models/iris/w.bin': 'w',
      '.env': 'API_KEY=secret',
    });
    await fs.symlink('../../.env', path.join(root, 'models/iris/env.txt'));
    const error = await collectBundleFiles(options(root, { model: ['models/iris'] })).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SymlinkEscapeError);
    expect(String(error)).toMatch(/outside model path 'models\/iris'/);
  });
});

describe('collectBundleFiles: links that would ship workspace secrets', () => {
  /** A checkout: .git/config carries the token header actions/checkout writes. */
  async function checkout(): Promise<string> {
    return workspace({
      '.git/config': '[http] extraheader = AUTHORIZATION: basic c2VjcmV0',
      '.git/HEAD': 'ref: refs/heads/main',
      'src/lambda_function.py': 'x',
      'ci/deploy-key': 'key',
    });
  }

  test('a file link from source-dir into ../.git is refused with a named error', async () => {
    const root = await checkout();
    await fs.symlink('../.git/config', path.join(root, 'src/settings.ini'));
    const error = await collectBundleFiles(options(root, { sourceDir: 'src' })).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SymlinkEscapeError);
    expect(String(error)).toMatch(/Symlink '.*src\/settings\.ini' resolves to '.*\.git\/config'/);
    expect(String(error)).toMatch(/outside source-dir 'src'/);
  });

  test('a folder link from source-dir to ../.git is refused too (the .git exclude cannot see it)', async () => {
    const root = await checkout();
    await fs.symlink('../.git', path.join(root, 'src/vcs'));
    await expect(collectBundleFiles(options(root, { sourceDir: 'src' }))).rejects.toThrow(
      SymlinkEscapeError,
    );
  });

  test('a link to another folder of the workspace, outside source-dir, is refused', async () => {
    const root = await checkout();
    await fs.symlink('../ci/deploy-key', path.join(root, 'src/key'));
    await expect(collectBundleFiles(options(root, { sourceDir: 'src' }))).rejects.toThrow(
      /resolves to '.*ci\/deploy-key', outside source-dir 'src'/,
    );
  });

  test('excludes apply to where a link resolves: links to .git inside source-dir are left out', async () => {
    const root = await checkout();
    await fs.symlink('.git', path.join(root, 'vcs'));
    await fs.symlink('.git/config', path.join(root, 'settings.ini'));
    await fs.mkdir(path.join(root, 'conf'));
    await fs.symlink('../.git/HEAD', path.join(root, 'conf/head'));
    const files = await zipPaths(options(root, { exclude: [...DEFAULT_EXCLUDES, 'ci'] }));
    expect(files).toEqual(['src/lambda_function.py']);
  });

  test('files reached through a folder link are excluded by their real path too', async () => {
    const root = await workspace({
      'lambda_function.py': 'x',
      'vendor/pkg/mod.py': 'm',
      'vendor/pkg/secret.txt': 's',
    });
    await fs.symlink('vendor/pkg', path.join(root, 'pkg'));
    const files = await zipPaths(
      options(root, { exclude: [...DEFAULT_EXCLUDES, '/vendor/pkg/secret.txt'] }),
    );
    expect(files).toEqual(['lambda_function.py', 'pkg/mod.py', 'vendor/pkg/mod.py']);
  });
});

describe('collectBundleFiles: extra (generated) files', () => {
  test('extra files are added under their zip path, even when excludes would drop them', async () => {
    const root = await workspace({ 'lambda_function.py': 'x' });
    const generated = await workspace({ 'lambda_function.cpython-312.pyc': 'bytecode' });
    const files = await collectBundleFiles(
      options(root, {
        extra: [
          {
            zipPath: '__pycache__/lambda_function.cpython-312.pyc',
            absPath: path.join(generated, 'lambda_function.cpython-312.pyc'),
          },
        ],
      }),
    );
    expect(files.map((file) => [file.zipPath, file.origin, file.size])).toEqual([
      ['__pycache__/lambda_function.cpython-312.pyc', 'generated', 8],
      ['lambda_function.py', 'source', 1],
    ]);
  });

  test('invalid or colliding extra paths are refused', async () => {
    const root = await workspace({ 'lambda_function.py': 'x', 'other.py': 'y' });
    await expect(
      collectBundleFiles(
        options(root, { extra: [{ zipPath: '../evil.py', absPath: path.join(root, 'other.py') }] }),
      ),
    ).rejects.toThrow(/invalid zip path '\.\.\/evil\.py'/);
    await expect(
      collectBundleFiles(
        options(root, {
          extra: [{ zipPath: 'lambda_function.py', absPath: path.join(root, 'other.py') }],
        }),
      ),
    ).rejects.toThrow(/'lambda_function\.py'.*source file.*generated file/);
    // The same file reached twice is not a conflict.
    expect(
      await zipPaths(
        options(root, { extra: [{ zipPath: 'other.py', absPath: path.join(root, 'other.py') }] }),
      ),
    ).toEqual(['lambda_function.py', 'other.py']);
  });
});
