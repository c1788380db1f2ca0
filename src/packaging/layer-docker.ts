import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { hashFailureMessage } from './pip-hash-errors.js';
import { ActionError, InputError, errorMessage } from '../errors.js';
import { describeCommand, tailKeeper, type CommandRunner, type UserIds } from '../exec.js';
import type { Logger } from '../log.js';
import type { Architecture } from '../settings.js';
import { dockerPlatform, runtimePythonVersion, type DockerPlatform } from './runtime.js';
import { stageRequirements } from './layer-stage.js';

/**
 * The Docker side of the layer build: `pip install` runs inside the build image with a copy of
 * the requirements (and what they reference) mounted read-only and the output owned by the runner's user. Every docker
 * command is an argument list; nothing from the inputs is ever parsed by a shell.
 */

export interface Mount {
  source: string;
  target: string;
  readOnly?: boolean;
}

export interface DockerRunSpec {
  image: string;
  platform: DockerPlatform;
  mounts: Mount[];
  user?: UserIds;
  /** Fixed variables set in the container (never secrets: they appear in the argument list). */
  env?: Record<string, string>;
  /** Variables copied from the docker CLI's environment by name (`-e NAME`), so values never appear in argv. */
  passEnv?: string[];
  workdir?: string;
  entrypoint?: string;
  command: string[];
}

/** `docker run` arguments for a spec. Pure. */
export function dockerRunArgs(spec: DockerRunSpec): string[] {
  const args = ['run', '--rm', '--platform', spec.platform];
  for (const mount of spec.mounts) {
    if (!path.isAbsolute(mount.source))
      throw new Error(`docker mount source must be absolute: ${mount.source}`);
    if (mount.source.includes(':')) {
      throw new ActionError(
        `The path ${mount.source} contains ':', which docker -v cannot mount. Move the files to a path without ':'.`,
      );
    }
    args.push('-v', `${mount.source}:${mount.target}${mount.readOnly ? ':ro' : ''}`);
  }
  if (spec.user) args.push('-u', `${spec.user.uid}:${spec.user.gid}`);
  for (const [name, value] of Object.entries(spec.env ?? {})) args.push('-e', `${name}=${value}`);
  for (const name of spec.passEnv ?? []) args.push('-e', name);
  if (spec.workdir) args.push('-w', spec.workdir);
  if (spec.entrypoint) args.push('--entrypoint', spec.entrypoint);
  args.push(spec.image, ...spec.command);
  return args;
}

function dockerMissing(error: unknown): ActionError {
  return new ActionError(
    `build: docker needs the docker CLI and a running Docker engine on the runner (${errorMessage(error)}). ` +
      `Use a runner with Docker (ubuntu-latest has it), or set build: pip to build from binary wheels without Docker.`,
  );
}

const ARCH_NAMES: Record<DockerPlatform, string> = {
  'linux/amd64': 'amd64',
  'linux/arm64': 'arm64',
};

/**
 * Makes sure the build image is available: a local image is used as it is (a locally built image
 * works); it is pulled only when missing, or present for another architecture.
 */
export async function ensureImage(options: {
  run: CommandRunner;
  image: string;
  platform: DockerPlatform;
  logger: Logger;
}): Promise<'local' | 'pulled'> {
  const { run, image, platform, logger } = options;
  let inspect;
  try {
    inspect = await run('docker', ['image', 'inspect', '--format', '{{.Architecture}}', image]);
  } catch (error) {
    throw dockerMissing(error);
  }
  const wanted = ARCH_NAMES[platform];
  if (inspect.exitCode === 0) {
    const arch = inspect.stdout.trim();
    if (!arch || arch === wanted) {
      logger.info(
        `Build image ${image} is present locally (${arch || 'unknown architecture'}); not pulling.`,
      );
      return 'local';
    }
    logger.info(
      `Build image ${image} is present locally for ${arch}, but the layer is for ${wanted}: pulling the ${wanted} variant.`,
    );
  } else if (
    /cannot connect to the docker daemon|is the docker daemon running|permission denied.*docker/i.test(
      inspect.stderr,
    )
  ) {
    throw dockerMissing(inspect.stderr.trim());
  } else {
    logger.info(`Build image ${image} is not present locally: pulling it for ${platform}.`);
  }
  const tail = tailKeeper(10);
  const pull = await run('docker', ['pull', '--platform', platform, image], {
    onLine: (line) => (tail.push(line), logger.debug(line)),
  });
  if (pull.exitCode !== 0) {
    const detail = (pull.stderr.trim() || tail.text()).split('\n').slice(-5).join('\n');
    throw new InputError(
      'build-image',
      `the image ${image} (${platform}) is not available locally and could not be pulled:\n${detail}\n` +
        `Check the image name and that the registry is reachable (and logged in, for a private registry), or build/pull it in an earlier step.`,
    );
  }
  return 'pulled';
}

/**
 * Runs inside the build image: checks that the image's Python is the runtime's, then runs pip with
 * the arguments it was given. A fixed script; the inputs arrive as argv entries, never as code.
 */
export const PIP_STEP_PY = `
import subprocess, sys
have = "%d.%d" % sys.version_info[:2]
want = sys.argv[1]
print("lmd-python=" + have, flush=True)
if want and have != want:
    print("lmd-python-mismatch: the build image runs Python %s, the runtime needs %s" % (have, want), flush=True)
    sys.exit(86)
sys.exit(subprocess.call([sys.executable, "-m", "pip"] + sys.argv[2:]))
`;

/** Proxy and index settings copied by name from the runner (values never appear in the command line). */
export const PASS_THROUGH_ENV = [
  'PIP_INDEX_URL',
  'PIP_EXTRA_INDEX_URL',
  'PIP_TRUSTED_HOST',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'http_proxy',
  'https_proxy',
  'no_proxy',
];

/** Fixed environment for pip in the container: HOME must be writable for a non-root user that has no home. */
export const CONTAINER_ENV: Record<string, string> = {
  HOME: '/tmp',
  PIP_NO_CACHE_DIR: '1',
  PIP_DISABLE_PIP_VERSION_CHECK: '1',
  PIP_NO_INPUT: '1',
  PIP_ROOT_USER_ACTION: 'ignore',
  PYTHONDONTWRITEBYTECODE: '1',
};

export const CONTAINER_REQ_DIR = '/var/req';
export const CONTAINER_OUT_DIR = '/var/out';
/** Where the requirements generated from a lock file are mounted (the lock's folder stays the cwd). */
export const CONTAINER_LOCKED_FILE = '/var/locked/requirements.txt';

export interface DockerInstallOptions {
  run: CommandRunner;
  logger: Logger;
  image: string;
  architecture: Architecture;
  runtime: string;
  /** Absolute path of the requirements file (in the staged copy, once installInDocker made it). */
  requirementsPath: string;
  /** The folder mounted read-only at /var/req (default: the requirements file's folder). */
  mountDir?: string;
  /** The file pip reads when it is not requirementsPath (a lock file's generated requirements). */
  requirementsFile?: string;
  /** Host folder mounted at /var/out; packages land in <outDir>/python. */
  outDir: string;
  pipArgs: readonly string[];
  user?: UserIds;
  /** The runner's environment, to decide which pass-through variables exist. */
  env?: NodeJS.ProcessEnv;
}

/** The full `docker run` argument list of the pip step. Pure. */
export function pipInstallRunArgs(options: Omit<DockerInstallOptions, 'run' | 'logger'>): string[] {
  const env = options.env ?? {};
  const generated =
    options.requirementsFile && options.requirementsFile !== options.requirementsPath
      ? options.requirementsFile
      : undefined;
  const requirementsFile = generated
    ? CONTAINER_LOCKED_FILE
    : path.basename(options.requirementsPath);
  const mountDir = options.mountDir ?? path.dirname(options.requirementsPath);
  const fromMount = path.relative(mountDir, path.dirname(options.requirementsPath));
  return dockerRunArgs({
    image: options.image,
    platform: dockerPlatform(options.architecture),
    mounts: [
      { source: mountDir, target: CONTAINER_REQ_DIR, readOnly: true },
      ...(generated ? [{ source: generated, target: CONTAINER_LOCKED_FILE, readOnly: true }] : []),
      { source: options.outDir, target: CONTAINER_OUT_DIR },
    ],
    user: options.user,
    env: CONTAINER_ENV,
    passEnv: PASS_THROUGH_ENV.filter((name) => env[name] !== undefined && env[name] !== ''),
    workdir: path.posix.join(CONTAINER_REQ_DIR, ...fromMount.split(path.sep).filter(Boolean)),
    entrypoint: 'python3',
    command: [
      '-c',
      PIP_STEP_PY,
      runtimePythonVersion(options.runtime),
      'install',
      '--no-compile',
      '-r',
      requirementsFile,
      '-t',
      `${CONTAINER_OUT_DIR}/python`,
      ...options.pipArgs,
    ],
  });
}

/** Hints for the common pip failures, added under the last lines of its output. */
export function pipFailureHints(output: string): string[] {
  const hints: string[] = [];
  if (/read-only file system/i.test(output)) {
    hints.push(
      'A local package in the requirements is built in place, which needs a writable folder, but the requirements folder is mounted read-only. ' +
        'Build it into a wheel first (pip wheel ./pkg -w wheels) and install it with --find-links ./wheels.',
    );
  }
  const missing = /No matching distribution found for (\S+)/.exec(output);
  if (missing) {
    hints.push(
      `pip found no distribution for ${missing[1]}: check the name and version, and pip-args for the index (--extra-index-url, --find-links).`,
    );
  }
  if (
    /Temporary failure in name resolution|NewConnectionError|Network is unreachable|ConnectTimeout/i.test(
      output,
    )
  ) {
    hints.push(
      'The package index was not reachable from the build container; check the network/proxy settings, or install from a local wheelhouse with pip-args: --no-index --find-links ./wheels.',
    );
  }
  return hints;
}

/** Runs pip in the build image. Resolves with the container's Python version. */
export async function installInDocker(options: DockerInstallOptions): Promise<{ python: string }> {
  const { run, logger } = options;
  await fs.mkdir(options.outDir, { recursive: true });
  // A runner running as root that builds as another user: hand it the output folder.
  if (options.user && process.getuid?.() === 0 && options.user.uid !== 0)
    await fs.chown(options.outDir, options.user.uid, options.user.gid);
  // pip sees a copy of what the requirements name, never the workspace (.git included).
  const staged = await stageRequirements(
    options.requirementsPath,
    options.pipArgs,
    `${options.outDir}.req`,
  );
  const args = pipInstallRunArgs({
    ...options,
    requirementsPath: staged.requirementsPath,
    mountDir: staged.root,
  });
  logger.info(describeCommand('docker', args));
  const tail = tailKeeper(25);
  let python = '';
  let mismatch = '';
  let result;
  try {
    result = await run('docker', args, {
      onLine: (line) => {
        const marker = /^lmd-python=(\S+)/.exec(line);
        if (marker) {
          python = marker[1];
          return;
        }
        if (line.startsWith('lmd-python-mismatch')) mismatch = line;
        tail.push(line);
        logger.info(line);
      },
    });
  } catch (error) {
    throw dockerMissing(error);
  } finally {
    await fs.rm(staged.root, { recursive: true, force: true });
  }
  const requirementsName = path.basename(options.requirementsPath);
  if (result.exitCode !== 0) {
    if (mismatch || result.exitCode === 86) {
      throw new InputError(
        'build-image',
        `${options.image} runs Python ${python || '(unknown)'}, but runtime ${options.runtime} needs Python ${runtimePythonVersion(options.runtime)}: ` +
          `wheels and bytecode built with it would not load in Lambda. Use public.ecr.aws/sam/build-${options.runtime}:latest-${options.architecture} or an image with that Python.`,
      );
    }
    const output =
      tail.text() || `${result.stdout}\n${result.stderr}`.trim().split('\n').slice(-25).join('\n');
    const hashFailure = hashFailureMessage(`${result.stdout}\n${result.stderr}`, requirementsName);
    if (hashFailure)
      throw new ActionError(`${hashFailure}\nLast lines of pip's output:\n${output}`);
    const hints = pipFailureHints(`${result.stdout}\n${result.stderr}`);
    throw new ActionError(
      `pip install -r ${requirementsName} failed in ${options.image} (exit code ${result.exitCode}) for requirements file ${options.requirementsPath}. ` +
        `Last lines of pip's output:\n${output}${hints.length ? `\n${hints.join('\n')}` : ''}`,
    );
  }
  return { python };
}
