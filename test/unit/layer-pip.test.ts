import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import type { CommandRunner, RunOptions } from '../../src/exec.js';
import {
  installWithHostPip,
  missingWheel,
  pipInstallArgs,
  pipPlatforms,
} from '../../src/packaging/layer-pip.js';
import { memoryLogger } from '../../src/log.js';

describe('pipPlatforms', () => {
  it('lists manylinux tags up to the glibc of the runtime OS, newest first, then manylinux2014', () => {
    const al2 = pipPlatforms('python3.11', 'x86_64');
    expect(al2[0]).toBe('manylinux_2_26_x86_64');
    expect(al2).not.toContain('manylinux_2_28_x86_64');
    expect(al2.at(-1)).toBe('manylinux2014_x86_64');
    const al2023 = pipPlatforms('python3.12', 'arm64');
    expect(al2023[0]).toBe('manylinux_2_34_aarch64');
    expect(al2023).toContain('manylinux_2_28_aarch64');
    expect(al2023).toContain('manylinux_2_17_aarch64');
    expect(al2023.at(-1)).toBe('manylinux2014_aarch64');
  });
});

describe('pipInstallArgs', () => {
  it('asks for binary wheels of the runtime platform, Python and implementation, pip-args as separate entries', () => {
    const args = pipInstallArgs({
      requirementsFile: 'requirements.txt',
      target: '/tmp/out/python',
      runtime: 'python3.12',
      architecture: 'x86_64',
      pipArgs: ['--find-links', './wheels x'],
    });
    expect(args.slice(0, 9)).toEqual([
      '-m',
      'pip',
      'install',
      '--disable-pip-version-check',
      '--no-compile',
      '-r',
      'requirements.txt',
      '-t',
      '/tmp/out/python',
    ]);
    expect(args).toContain('manylinux2014_x86_64');
    expect(args[args.indexOf('manylinux2014_x86_64') - 1]).toBe('--platform');
    expect(args.slice(-7)).toEqual([
      '--only-binary=:all:',
      '--python-version',
      '3.12',
      '--implementation',
      'cp',
      '--find-links',
      './wheels x',
    ]);
  });
});

describe('missingWheel', () => {
  it('reads the package from pip output', () => {
    const output = [
      'ERROR: Could not find a version that satisfies the requirement pycocotools==2.0.7 (from versions: none)',
      'ERROR: No matching distribution found for pycocotools==2.0.7',
    ].join('\n');
    expect(missingWheel(output)).toEqual({
      requirement: 'pycocotools==2.0.7',
      name: 'pycocotools',
    });
    expect(
      missingWheel(
        'ERROR: Could not find a version that satisfies the requirement scikit_learn[all]>=1.5 (from versions: none)',
      ),
    ).toEqual({
      requirement: 'scikit_learn[all]>=1.5',
      name: 'scikit_learn',
    });
    expect(missingWheel('ERROR: something else')).toBeUndefined();
  });
});

describe('installWithHostPip', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'layer-pip-'));
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  const run =
    (
      exitCode: number,
      lines: string[],
      seen: Array<{ command: string; args: readonly string[]; options?: RunOptions }>,
    ): CommandRunner =>
    async (command, args, options) => {
      seen.push({ command, args, options });
      for (const line of lines) options?.onLine?.(line);
      return { exitCode, stdout: lines.join('\n'), stderr: '' };
    };

  it('runs the host pip in the requirements folder, never docker', async () => {
    const seen: Array<{ command: string; args: readonly string[]; options?: RunOptions }> = [];
    await installWithHostPip({
      run: run(0, ['Successfully installed a-1.0'], seen),
      logger: memoryLogger(),
      python: 'python3',
      runtime: 'python3.11',
      architecture: 'x86_64',
      requirementsPath: path.join(dir, 'requirements.txt'),
      outDir: path.join(dir, 'out'),
      pipArgs: [],
      env: {},
    });
    expect(seen).toHaveLength(1);
    expect(seen[0].command).toBe('python3');
    expect(seen[0].options?.cwd).toBe(dir);
    expect(seen[0].options?.env?.PIP_NO_INPUT).toBe('1');
    expect((await fs.stat(path.join(dir, 'out', 'python'))).isDirectory()).toBe(true);
  });

  it('names the package without a binary wheel and points to build: docker', async () => {
    const lines = [
      'ERROR: Could not find a version that satisfies the requirement pycocotools==2.0.7 (from versions: none)',
      'ERROR: No matching distribution found for pycocotools==2.0.7',
    ];
    const failure = installWithHostPip({
      run: run(1, lines, []),
      logger: memoryLogger(),
      python: 'python3',
      runtime: 'python3.12',
      architecture: 'arm64',
      requirementsPath: path.join(dir, 'requirements.txt'),
      outDir: path.join(dir, 'out'),
      pipArgs: [],
      env: {},
    });
    await expect(failure).rejects.toThrow(
      /package pycocotools \(pycocotools==2\.0\.7\) has no binary wheel for manylinux_2_34_aarch64 \(or older manylinux\) \/ CPython 3\.12.*use build: docker/s,
    );
  });

  it('explains a missing host Python', async () => {
    const failing: CommandRunner = async () => {
      throw new Error("'python3' was not found on PATH");
    };
    await expect(
      installWithHostPip({
        run: failing,
        logger: memoryLogger(),
        python: 'python3',
        runtime: 'python3.12',
        architecture: 'x86_64',
        requirementsPath: path.join(dir, 'requirements.txt'),
        outDir: path.join(dir, 'out'),
        pipArgs: [],
      }),
    ).rejects.toThrow(/actions\/setup-python, or use build: docker/);
  });
});
