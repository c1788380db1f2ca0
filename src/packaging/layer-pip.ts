import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { ActionError } from '../errors.js';
import { type CommandRunner, describeCommand, tailKeeper } from '../exec.js';
import { hashFailureMessage } from './pip-hash-errors.js';
import type { Logger } from '../log.js';
import type { Architecture } from '../settings.js';
import { pipFailureHints } from './layer-docker.js';
import { runtimePythonVersion } from './runtime.js';

/**
 * `build: pip`: the host's pip downloads binary wheels for Lambda's platform and Python instead of
 * running in a build image. For runners without Docker. Only packages that publish manylinux wheels
 * can be installed this way; the error names the first one that does not.
 */

const AMAZON_LINUX_2_GLIBC = 26; // python3.9 - python3.11
const AMAZON_LINUX_2023_GLIBC = 34; // python3.12 and later

/** The glibc minor version of the OS a Lambda Python runtime runs on. */
export function runtimeGlibcMinor(runtime: string): number {
  const [major, minor] = runtimePythonVersion(runtime).split('.').map(Number);
  return major > 3 || minor >= 12 ? AMAZON_LINUX_2023_GLIBC : AMAZON_LINUX_2_GLIBC;
}

/**
 * The `--platform` tags pip may pick for the runtime: every manylinux_2_N the runtime's glibc
 * supports (newest first), then manylinux2014 (which pip widens to manylinux2010/1). pip does not
 * widen a manylinux_2_N tag by itself, so without the list a wheel tagged only manylinux_2_28
 * would be missed on python3.12+.
 */
export function pipPlatforms(runtime: string, architecture: Architecture): string[] {
  const arch = architecture === 'arm64' ? 'aarch64' : 'x86_64';
  const platforms: string[] = [];
  for (let minor = runtimeGlibcMinor(runtime); minor >= 17; minor--)
    platforms.push(`manylinux_2_${minor}_${arch}`);
  platforms.push(`manylinux2014_${arch}`);
  return platforms;
}

/** Arguments after `python`: `-m pip install ...` for Lambda's platform. Pure. */
export function pipInstallArgs(options: {
  requirementsFile: string;
  target: string;
  runtime: string;
  architecture: Architecture;
  pipArgs: readonly string[];
}): string[] {
  const args = [
    '-m',
    'pip',
    'install',
    '--disable-pip-version-check',
    '--no-compile',
    '-r',
    options.requirementsFile,
    '-t',
    options.target,
  ];
  for (const platform of pipPlatforms(options.runtime, options.architecture))
    args.push('--platform', platform);
  args.push(
    '--only-binary=:all:',
    '--python-version',
    runtimePythonVersion(options.runtime),
    '--implementation',
    'cp',
    ...options.pipArgs,
  );
  return args;
}

/** The package pip could not find a binary wheel for, from its output; undefined when that is not the failure. */
export function missingWheel(output: string): { requirement: string; name: string } | undefined {
  const match =
    /No matching distribution found for\s+(\S+)/.exec(output) ??
    /Could not find a version that satisfies the requirement\s+(\S+)/.exec(output);
  if (!match) return undefined;
  const requirement = match[1].replace(/[.,]$/, '');
  const name = /^[A-Za-z0-9][A-Za-z0-9._-]*/.exec(requirement)?.[0] ?? requirement;
  return { requirement, name };
}

export interface PipInstallOptions {
  run: CommandRunner;
  logger: Logger;
  /** Host Python command (python3, or python on Windows). */
  python: string;
  runtime: string;
  architecture: Architecture;
  requirementsPath: string;
  /** The file pip reads when it is not requirementsPath (a lock file's generated requirements). */
  requirementsFile?: string;
  /** Packages land in <outDir>/python. */
  outDir: string;
  pipArgs: readonly string[];
  env?: NodeJS.ProcessEnv;
}

/** Installs the requirements with the host's pip for Lambda's platform; cwd is the requirements folder. */
export async function installWithHostPip(options: PipInstallOptions): Promise<void> {
  const { run, logger } = options;
  const target = path.join(options.outDir, 'python');
  await fs.mkdir(target, { recursive: true });
  const requirementsFile = path.basename(options.requirementsPath);
  const args = pipInstallArgs({
    requirementsFile: options.requirementsFile ?? requirementsFile,
    target,
    runtime: options.runtime,
    architecture: options.architecture,
    pipArgs: options.pipArgs,
  });
  logger.info(describeCommand(options.python, args));
  const tail = tailKeeper(25);
  let result;
  try {
    result = await run(options.python, args, {
      cwd: path.dirname(options.requirementsPath),
      env: {
        ...(options.env ?? process.env),
        PIP_NO_INPUT: '1',
        PIP_DISABLE_PIP_VERSION_CHECK: '1',
      },
      onLine: (line) => {
        tail.push(line);
        logger.info(line);
      },
    });
  } catch (error) {
    throw new ActionError(
      `build: pip needs a Python with pip on the runner ('${options.python}' could not be run: ${String((error as Error).message ?? error)}). Add actions/setup-python, or use build: docker.`,
    );
  }
  if (result.exitCode === 0) return;
  const output = `${result.stdout}\n${result.stderr}`;
  const missing = missingWheel(output);
  const platform = `${pipPlatforms(options.runtime, options.architecture)[0]} (or older manylinux)`;
  const python = `CPython ${runtimePythonVersion(options.runtime)}`;
  if (missing) {
    throw new ActionError(
      `build: pip could not install ${requirementsFile}: package ${missing.name} (${missing.requirement}) has no binary wheel for ${platform} / ${python} ` +
        `(or it is not on the configured index). build: pip only installs pre-built wheels; use build: docker to build it from source in the Lambda build image, ` +
        `or pin a version that publishes manylinux wheels.\nLast lines of pip's output:\n${tail.text()}`,
    );
  }
  const hashFailure = hashFailureMessage(output, requirementsFile);
  if (hashFailure)
    throw new ActionError(`${hashFailure}\nLast lines of pip's output:\n${tail.text()}`);
  const hints = pipFailureHints(output);
  throw new ActionError(
    `pip install -r ${requirementsFile} failed (exit code ${result.exitCode}) for requirements file ${options.requirementsPath}. ` +
      `Last lines of pip's output:\n${tail.text() || output.trim().split('\n').slice(-25).join('\n')}${hints.length ? `\n${hints.join('\n')}` : ''}`,
  );
}
