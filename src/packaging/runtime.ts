import { InputError } from '../errors.js';
import type { Architecture } from '../settings.js';

export type DockerPlatform = 'linux/amd64' | 'linux/arm64';

export function dockerPlatform(architecture: Architecture): DockerPlatform {
  return architecture === 'arm64' ? 'linux/arm64' : 'linux/amd64';
}

/** The Python version a Lambda runtime name carries: python3.12 -> 3.12. */
export function runtimePythonVersion(runtime: string): string {
  const match = /^python(\d+)\.(\d+)$/.exec(runtime);
  if (!match)
    throw new InputError(
      'runtime',
      `'${runtime}' is not a Python runtime (expected e.g. python3.12)`,
    );
  return `${match[1]}.${match[2]}`;
}
