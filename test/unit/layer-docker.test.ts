import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  type CommandRunner,
  describeCommand,
  redactCredentials,
  type RunOptions,
  type RunResult,
} from '../../src/exec.js';
import {
  PIP_STEP_PY,
  dockerRunArgs,
  ensureImage,
  installInDocker,
  pipInstallRunArgs,
} from '../../src/packaging/layer-docker.js';
import { runtimePythonVersion } from '../../src/packaging/runtime.js';
import { memoryLogger } from '../../src/log.js';

interface Call {
  command: string;
  args: readonly string[];
  options?: RunOptions;
}

function scriptedRunner(respond: (call: Call) => Partial<RunResult> & { lines?: string[] }): {
  run: CommandRunner;
  calls: Call[];
} {
  const calls: Call[] = [];
  const run: CommandRunner = async (command, args, options) => {
    const call = { command, args, options };
    calls.push(call);
    const result = respond(call);
    for (const line of result.lines ?? []) options?.onLine?.(line);
    return {
      exitCode: result.exitCode ?? 0,
      stdout: result.stdout ?? (result.lines ?? []).join('\n'),
      stderr: result.stderr ?? '',
    };
  };
  return { run, calls };
}

const reqDir = path.join(os.tmpdir(), 'proj');
const options = {
  image: 'public.ecr.aws/sam/build-python3.12:latest-arm64',
  architecture: 'arm64' as const,
  runtime: 'python3.12',
  requirementsPath: path.join(reqDir, 'requirements.txt'),
  outDir: path.join(os.tmpdir(), 'out'),
  pipArgs: [
    '--extra-index-url',
    'https://example.com/simple',
    '--find-links',
    './wheels; rm -rf /',
  ],
  user: { uid: 1001, gid: 121 },
  env: { PIP_INDEX_URL: 'https://user:secret@private/simple' },
};

describe('pipInstallRunArgs', () => {
  const args = pipInstallRunArgs(options);

  it('runs docker with --rm, the platform, a read-only requirements mount, the output mount and the runner user', () => {
    expect(args.slice(0, 4)).toEqual(['run', '--rm', '--platform', 'linux/arm64']);
    expect(args).toContain(`${reqDir}:/var/req:ro`);
    expect(args).toContain(`${options.outDir}:/var/out`);
    expect(args[args.indexOf('-u') + 1]).toBe('1001:121');
    expect(args[args.indexOf('-w') + 1]).toBe('/var/req');
    expect(args).toContain('HOME=/tmp');
    expect(args).toContain('PIP_NO_CACHE_DIR=1');
  });

  it('passes index credentials by name only, so their values never appear in the argument list', () => {
    expect(args.join(' ')).not.toContain('secret');
    const i = args.indexOf('PIP_INDEX_URL');
    expect(args[i - 1]).toBe('-e');
    expect(args).not.toContain('PIP_EXTRA_INDEX_URL');
  });

  it('runs a fixed python script with pip install -r <file> -t /var/out/python and each pip-arg as its own argv entry', () => {
    const image = args.indexOf(options.image);
    expect(args[args.indexOf('--entrypoint') + 1]).toBe('python3');
    expect(args.slice(image + 1)).toEqual([
      '-c',
      PIP_STEP_PY,
      '3.12',
      'install',
      '--no-compile',
      '-r',
      'requirements.txt',
      '-t',
      '/var/out/python',
      '--extra-index-url',
      'https://example.com/simple',
      '--find-links',
      './wheels; rm -rf /',
    ]);
    // Nothing is handed to a shell: no sh -c anywhere.
    expect(args).not.toContain('sh');
    expect(args).not.toContain('bash');
  });

  it('maps x86_64 to linux/amd64 and leaves -u out when there is no user', () => {
    const amd = pipInstallRunArgs({ ...options, architecture: 'x86_64', user: undefined });
    expect(amd[amd.indexOf('--platform') + 1]).toBe('linux/amd64');
    expect(amd).not.toContain('-u');
  });

  it('for a lock file: the lock folder stays the cwd, the generated requirements are mounted read-only and read', () => {
    const locked = pipInstallRunArgs({
      ...options,
      requirementsPath: path.join(reqDir, 'uv.lock'),
      requirementsFile: '/work/run/layer/locked/requirements.txt',
    });
    expect(locked).toContain(`${reqDir}:/var/req:ro`);
    expect(locked).toContain(
      '/work/run/layer/locked/requirements.txt:/var/locked/requirements.txt:ro',
    );
    expect(locked[locked.indexOf('-r') + 1]).toBe('/var/locked/requirements.txt');
    expect(locked[locked.indexOf('-w') + 1]).toBe('/var/req');
  });
});

describe('dockerRunArgs', () => {
  it('refuses a mount path with a colon (docker -v cannot express it)', () => {
    expect(() =>
      dockerRunArgs({
        image: 'i',
        platform: 'linux/amd64',
        mounts: [{ source: '/a:b', target: '/x' }],
        command: [],
      }),
    ).toThrow(/contains ':'/);
  });
});

describe('logging helpers', () => {
  it('redacts credentials in URLs', () => {
    expect(redactCredentials('--index-url https://me:tok3n@pypi.example.com/simple')).toBe(
      '--index-url https://***:***@pypi.example.com/simple',
    );
    expect(describeCommand('docker', ['run', '-c', 'import x\nprint(1)', 'a b'])).toBe(
      "docker run -c <script> 'a b'",
    );
  });

  it('reads the Python version from a runtime name', () => {
    expect(runtimePythonVersion('python3.12')).toBe('3.12');
    expect(() => runtimePythonVersion('nodejs20.x')).toThrow(/Input 'runtime'/);
  });
});

describe('ensureImage', () => {
  it('uses a local image without pulling', async () => {
    const { run, calls } = scriptedRunner(() => ({ stdout: 'amd64\n' }));
    await expect(
      ensureImage({ run, image: 'lmd/build:1', platform: 'linux/amd64', logger: memoryLogger() }),
    ).resolves.toBe('local');
    expect(calls.map((c) => c.args[0])).toEqual(['image']);
  });

  it('pulls a missing image for the platform', async () => {
    const { run, calls } = scriptedRunner((call) =>
      call.args[0] === 'image' ? { exitCode: 1, stderr: 'Error: No such image: x' } : {},
    );
    await expect(
      ensureImage({ run, image: 'x', platform: 'linux/arm64', logger: memoryLogger() }),
    ).resolves.toBe('pulled');
    expect(calls[1].args).toEqual(['pull', '--platform', 'linux/arm64', 'x']);
  });

  it('names the build-image input when the pull fails', async () => {
    const { run } = scriptedRunner((call) =>
      call.args[0] === 'image'
        ? { exitCode: 1, stderr: 'No such image' }
        : { exitCode: 1, stderr: 'Error response from daemon: pull access denied for x' },
    );
    await expect(
      ensureImage({ run, image: 'x', platform: 'linux/amd64', logger: memoryLogger() }),
    ).rejects.toThrow(
      /Input 'build-image': the image x \(linux\/amd64\) is not available locally and could not be pulled:\n.*pull access denied/,
    );
  });

  it('explains a missing Docker engine', async () => {
    const { run } = scriptedRunner(() => ({
      exitCode: 1,
      stderr:
        'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?',
    }));
    await expect(
      ensureImage({ run, image: 'x', platform: 'linux/amd64', logger: memoryLogger() }),
    ).rejects.toThrow(/set build: pip/);
  });

  it('explains a missing docker CLI', async () => {
    const run: CommandRunner = async () => {
      throw new Error("'docker' was not found on PATH");
    };
    await expect(
      ensureImage({ run, image: 'x', platform: 'linux/amd64', logger: memoryLogger() }),
    ).rejects.toThrow(/needs the docker CLI/);
  });
});

describe('installInDocker', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'layer-docker-'));
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('streams pip output to the log and creates the output folder on the host first', async () => {
    const logger = memoryLogger();
    const { run, calls } = scriptedRunner(() => ({
      lines: ['lmd-python=3.12', 'Collecting numpy', 'Successfully installed numpy-2.1.0'],
    }));
    const out = path.join(dir, 'out');
    await expect(installInDocker({ ...options, outDir: out, run, logger })).resolves.toEqual({
      python: '3.12',
    });
    expect((await fs.stat(out)).isDirectory()).toBe(true);
    expect(calls).toHaveLength(1);
    expect(logger.lines).toContain('Collecting numpy');
    expect(logger.lines.join('\n')).not.toContain('secret');
  });

  it('shows the last lines of pip output and names the requirements file on failure', async () => {
    const lines = [
      'lmd-python=3.12',
      ...Array.from({ length: 40 }, (_, i) => `line ${i}`),
      'ERROR: No matching distribution found for nope==9',
    ];
    const { run } = scriptedRunner(() => ({ lines, exitCode: 1 }));
    const failure = installInDocker({
      ...options,
      outDir: path.join(dir, 'out'),
      run,
      logger: memoryLogger(),
    });
    await expect(failure).rejects.toThrow(
      /pip install -r requirements\.txt failed in .* \(exit code 1\) for requirements file .*requirements\.txt/,
    );
    await expect(failure).rejects.toThrow(
      /line 39\nERROR: No matching distribution found for nope==9\npip found no distribution for nope==9/,
    );
    await expect(failure).rejects.not.toThrow(/line 5\n/);
  });

  it('explains a build image whose Python is not the runtime one', async () => {
    const { run } = scriptedRunner(() => ({
      lines: ['lmd-python=3.9', 'lmd-python-mismatch: ...'],
      exitCode: 86,
    }));
    await expect(
      installInDocker({ ...options, outDir: path.join(dir, 'out'), run, logger: memoryLogger() }),
    ).rejects.toThrow(
      /Input 'build-image': .* runs Python 3\.9, but runtime python3\.12 needs Python 3\.12/,
    );
  });

  it('hints at wheels when a local package cannot be built on the read-only mount', async () => {
    const { run } = scriptedRunner(() => ({
      lines: ['lmd-python=3.12', "OSError: [Errno 30] Read-only file system: '/var/req/pkg/build'"],
      exitCode: 1,
    }));
    await expect(
      installInDocker({ ...options, outDir: path.join(dir, 'out'), run, logger: memoryLogger() }),
    ).rejects.toThrow(/pip wheel \.\/pkg -w wheels/);
  });
});
