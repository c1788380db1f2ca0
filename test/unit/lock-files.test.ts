import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { computeLayerKey, gatherRequirements } from '../../src/packaging/layer-key.js';
import { unpinnedWarning } from '../../src/packaging/layer.js';
import {
  LOCKED_SET_PATH,
  lockedRequirementsText,
  lockedSetFromRequirements,
  lockFormat,
  parseLockFile,
  requirementLine,
  unpinnedRequirements,
  type LockedRequirement,
} from '../../src/packaging/lock-files.js';
import { hashFailureMessage, hashMismatches } from '../../src/packaging/pip-hash-errors.js';
import { InputError } from '../../src/errors.js';

const FIXTURES = path.join(process.cwd(), 'test', 'fixtures', 'locks');
const h = (digit: string) => `sha256:${digit.repeat(64)}`;

/** The production set every fixture locks: dev packages (pytest) left out, tzdata only on Windows. */
const EXPECTED: LockedRequirement[] = [
  { name: 'irisfeat', version: '0.1.0', hashes: [h('1'), h('2')] },
  { name: 'typing-extensions', version: '4.12.2', hashes: [h('3')] },
  { name: 'tzdata', version: '2024.2', hashes: [h('4')], marker: "sys_platform == 'win32'" },
];

const read = (name: string) => fs.readFile(path.join(FIXTURES, name), 'utf8');

describe('lockFormat', () => {
  it.each([
    ['uv.lock', 'uv'],
    ['app/poetry.lock', 'poetry'],
    ['pylock.toml', 'pylock'],
    ['pylock.prod.toml', 'pylock'],
    ['Pipfile.lock', 'pipfile'],
    ['requirements.txt', undefined],
    ['requirements.lock', undefined],
    ['pylock.a.b.toml', undefined],
  ])('%s -> %s', (file, format) => {
    expect(lockFormat(file)).toBe(format);
  });
});

describe.each([
  ['uv.lock', 'uv'],
  ['poetry.lock', 'poetry'],
  ['pylock.toml', 'pylock'],
  ['Pipfile.lock', 'pipfile'],
] as const)('%s', (file, format) => {
  it('gives the production locked set: pinned, hashed, names normalised, dev left out', async () => {
    expect(parseLockFile(format, await read(file), file)).toEqual(EXPECTED);
  });
});

describe('uv.lock', () => {
  const lock = (body: string) => parseLockFile('uv', body, 'uv.lock');
  const root = (deps: string) =>
    `[[package]]\nname = "app"\nversion = "1"\nsource = { editable = "." }\ndependencies = [${deps}]\n`;
  const pkg = (name: string, extra = '') =>
    `[[package]]\nname = "${name}"\nversion = "1.0"\nsource = { registry = "x" }\n` +
    `wheels = [{ url = "u", hash = "sha256:${'a'.repeat(64)}" }]\n${extra}`;

  it('follows extras and ANDs markers along a path, ORs them across paths', () => {
    const set = lock(
      root(`{ name = "a", extra = ["fast"] }, { name = "c", marker = "os_name == 'nt'" }`) +
        pkg(
          'a',
          `[package.optional-dependencies]\nfast = [{ name = "b", marker = "x == '1'" }]\n`,
        ) +
        pkg('b') +
        pkg('c', `dependencies = [{ name = "d", marker = "y == '2'" }]\n`) +
        pkg('d') +
        pkg('unused'),
    );
    expect(set.map((r) => [r.name, r.marker])).toEqual([
      ['a', undefined],
      ['b', "x == '1'"],
      ['c', "os_name == 'nt'"],
      ['d', "(os_name == 'nt') and (y == '2')"],
    ]);
  });

  it('a package reached without a marker on one path is always installed', () => {
    const set = lock(
      root(`{ name = "a" }, { name = "b", marker = "os_name == 'nt'" }`) +
        pkg('a', `dependencies = [{ name = "b" }]\n`) +
        pkg('b'),
    );
    expect(set.find((r) => r.name === 'b')?.marker).toBeUndefined();
  });

  it('names a git dependency, which has no hash pip can check', () => {
    expect(() =>
      lock(
        root(`{ name = "g" }`) +
          `[[package]]\nname = "g"\nversion = "1"\nsource = { git = "https://h/g.git?rev=1" }\n`,
      ),
    ).toThrow(/package g comes from a git source/);
  });

  it('names a package without hashes', () => {
    expect(() =>
      lock(root(`{ name = "n" }`) + `[[package]]\nname = "n"\nversion = "1"\nsource = {}\n`),
    ).toThrow(/package n has no sha256\/sha384\/sha512 hash/);
  });

  it('rejects a lock with no project, or TOML that does not parse, naming the input', () => {
    expect(() => lock(pkg('a'))).toThrow(InputError);
    expect(() => lock(pkg('a'))).toThrow(/requirements.*uv.lock: has no project package/);
    expect(() => lock('[[package]\nname=')).toThrow(/uv.lock: is not valid TOML/);
  });
});

describe('poetry.lock', () => {
  it('keeps main-group packages only; older locks by category; optional extras left out', () => {
    const text =
      `[[package]]\nname = "a"\nversion = "1"\ncategory = "main"\noptional = false\nfiles = [{file = "a.whl", hash = "${h('1')}"}]\n` +
      `[[package]]\nname = "b"\nversion = "1"\ncategory = "dev"\noptional = false\nfiles = [{file = "b.whl", hash = "${h('2')}"}]\n` +
      `[[package]]\nname = "c"\nversion = "1"\ncategory = "main"\noptional = true\nfiles = [{file = "c.whl", hash = "${h('3')}"}]\n` +
      `[[package]]\nname = "d"\nversion = "1"\ngroups = ["main"]\nmarkers = { main = "python_version < '3.12'" }\nfiles = [{file = "d.whl", hash = "${h('4')}"}]\n`;
    expect(parseLockFile('poetry', text, 'poetry.lock').map((r) => [r.name, r.marker])).toEqual([
      ['a', undefined],
      ['d', "python_version < '3.12'"],
    ]);
  });

  it('names a package from a git source', () => {
    const text = `[[package]]\nname = "g"\nversion = "1"\nfiles = []\n[package.source]\ntype = "git"\nurl = "https://h/g.git"\n`;
    expect(() => parseLockFile('poetry', text, 'poetry.lock')).toThrow(
      /package g comes from a git/,
    );
  });
});

describe('pylock.toml', () => {
  it('needs lock-version 1.x and a version per package', () => {
    expect(() => parseLockFile('pylock', 'lock-version = "2.0"\n', 'pylock.toml')).toThrow(
      /lock-version 2.0/,
    );
    expect(() =>
      parseLockFile(
        'pylock',
        `lock-version = "1.0"\n[[packages]]\nname = "x"\narchive = { url = "u", hashes = { sha256 = "${'1'.repeat(64)}" } }\n`,
        'pylock.toml',
      ),
    ).toThrow(/package x has no version/);
  });

  it('rejects markers on extras or dependency groups, which pip cannot evaluate', () => {
    const text = `lock-version = "1.0"\n[[packages]]\nname = "x"\nversion = "1"\nmarker = "'dev' in dependency_groups"\nwheels = [{ hashes = { sha256 = "${'1'.repeat(64)}" } }]\n`;
    expect(() => parseLockFile('pylock', text, 'pylock.toml')).toThrow(/package x .*dependency/);
  });

  it('keeps sha384/sha512, drops md5', () => {
    const text = `lock-version = "1.0"\n[[packages]]\nname = "x"\nversion = "1"\nwheels = [{ hashes = { md5 = "ab", sha512 = "CD" } }]\n`;
    expect(parseLockFile('pylock', text, 'pylock.toml')[0].hashes).toEqual(['sha512:cd']);
  });
});

describe('Pipfile.lock', () => {
  it('rejects unpinned and path entries, naming the package', () => {
    const lock = (entry: object) =>
      parseLockFile('pipfile', JSON.stringify({ default: { p: entry } }), 'Pipfile.lock');
    expect(() => lock({ version: '*', hashes: [h('1')] })).toThrow(/package p is not pinned/);
    expect(() => lock({ path: '.', editable: true })).toThrow(/package p comes from a path/);
    expect(() => parseLockFile('pipfile', '{', 'Pipfile.lock')).toThrow(/not valid JSON/);
  });
});

describe('requirements.txt as a locked set', () => {
  it('is one when every line is pinned with hashes', () => {
    expect(
      lockedSetFromRequirements([
        'Typing_Extensions==4.12.2 --hash=sha256:' + '3'.repeat(64),
        "tzdata==2024.2 ; sys_platform == 'win32' --hash=sha256:" + '4'.repeat(64),
      ]),
    ).toEqual(EXPECTED.slice(1));
  });

  it.each([
    ['a line without hashes', ['numpy==2.1.0']],
    ['an unpinned line', ['numpy>=2 --hash=sha256:' + '1'.repeat(64)]],
    ['an option line', ['--no-index', 'numpy==2 --hash=sha256:' + '1'.repeat(64)]],
    ['an md5 hash', ['numpy==2 --hash=md5:ab']],
  ])('is not one with %s', (_, lines) => {
    expect(lockedSetFromRequirements(lines)).toBeUndefined();
  });

  it('renders back to lines pip reads (marker before the hashes)', () => {
    expect(requirementLine(EXPECTED[2])).toBe(
      `tzdata==2024.2 ; sys_platform == 'win32' --hash=${h('4')}`,
    );
    expect(lockedRequirementsText(EXPECTED).split('\n')[0]).toBe('--require-hashes');
  });
});

describe('unpinned requirements', () => {
  it('lists the lines that do not pin one version', () => {
    expect(
      unpinnedRequirements([
        'numpy',
        'pandas>=2',
        'scipy==1.14.0',
        'torch==2.*',
        'boto3>=1,<2',
        'attrs===23.1.0',
        "tzdata==2024.2 ; sys_platform == 'win32'",
        '--no-index',
        '-r other.txt',
        './pkg',
        'pkg @ https://h/pkg.whl',
      ]),
    ).toEqual(['numpy', 'pandas>=2', 'torch==2.*', 'boto3>=1,<2']);
  });

  it('the warning says what that means for the cache and how to pin', () => {
    const text = unpinnedWarning(['numpy', 'pandas>=2']);
    expect(text).toMatch(/^2 requirements are not pinned to one version \(numpy, pandas>=2\)/);
    expect(text).toMatch(/cache key .* does not change/);
    expect(text).toMatch(/uv.lock, poetry.lock, pylock.toml, Pipfile.lock/);
  });
});

describe('the layer key of a locked set', () => {
  const rest = {
    runtime: 'python3.12',
    architecture: 'x86_64' as const,
    build: 'docker' as const,
    buildImage: 'img',
    pipArgs: [],
    slim: true,
  };
  const keyOf = async (file: string) => {
    const gathered = await gatherRequirements({
      requirementsPath: path.join(FIXTURES, file),
      pipArgs: [],
    });
    return { gathered, key: computeLayerKey({ ...gathered, ...rest }) };
  };

  it('is the same for each lock format and the equivalent hashed requirements.txt', async () => {
    const reference = await keyOf('requirements.txt');
    expect(reference.gathered.files).toEqual([
      { path: LOCKED_SET_PATH, lines: EXPECTED.map(requirementLine) },
    ]);
    for (const file of ['uv.lock', 'poetry.lock', 'pylock.toml', 'Pipfile.lock'])
      expect([file, (await keyOf(file)).key]).toEqual([file, reference.key]);
  });

  it('changes when a locked hash or version changes', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'lmd-lock-'));
    try {
      const original = await read('uv.lock');
      const before = await keyOf('uv.lock');
      for (const edited of [
        original.replace('1'.repeat(64), '5'.repeat(64)),
        original.replace('version = "4.12.2"', 'version = "4.12.3"'),
      ]) {
        await fs.writeFile(path.join(dir, 'uv.lock'), edited);
        const after = await gatherRequirements({
          requirementsPath: path.join(dir, 'uv.lock'),
          pipArgs: [],
        });
        expect(computeLayerKey({ ...after, ...rest })).not.toBe(before.key);
      }
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('flags unpinned lines of a plain requirements file', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'lmd-lock-'));
    try {
      await fs.writeFile(path.join(dir, 'requirements.txt'), 'numpy\nscipy==1.14.0\n');
      const gathered = await gatherRequirements({
        requirementsPath: path.join(dir, 'requirements.txt'),
        pipArgs: [],
      });
      expect(gathered.unpinned).toEqual(['numpy']);
      expect(gathered.locked).toBeUndefined();
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});

describe('pip hash failures', () => {
  const output = [
    'Processing ./wheels/irisfeat-0.1.0-py3-none-any.whl',
    'ERROR: THESE PACKAGES DO NOT MATCH THE HASHES FROM THE REQUIREMENTS FILE. If you have updated the package versions, please update the hashes. Otherwise, examine the package contents carefully; someone may have tampered with them.',
    '    irisfeat==0.1.0 from file:///var/req/wheels/irisfeat-0.1.0-py3-none-any.whl (from -r /var/locked/requirements.txt (line 2)):',
    `        Expected sha256 ${'1'.repeat(64)}`,
    `             Got        ${'9'.repeat(64)}`,
    '',
  ].join('\n');

  it('reads the package, the expected and the actual hash', () => {
    expect(hashMismatches(output)).toEqual([
      { requirement: 'irisfeat==0.1.0', expected: [h('1')], got: '9'.repeat(64) },
    ]);
  });

  it('says which package, against which lock file, and what to do', () => {
    const message = hashFailureMessage(output, 'uv.lock') as string;
    expect(message).toMatch(/^Hash check failed for irisfeat: .* locked in uv.lock/);
    expect(message).toContain(`got sha256:${'9'.repeat(64)}`);
    expect(message).toMatch(/lock again/);
  });

  it('names a dependency the lock does not cover', () => {
    const missing =
      'ERROR: Hashes are required in --require-hashes mode, but they are missing from some requirements. Here is a list:\n' +
      `    six==1.16.0 --hash=sha256:${'a'.repeat(64)}\n`;
    expect(hashFailureMessage(missing, 'poetry.lock')).toMatch(
      /poetry.lock does not lock six==1.16.0/,
    );
    expect(hashFailureMessage('ERROR: No matching distribution', 'x')).toBeUndefined();
  });
});
