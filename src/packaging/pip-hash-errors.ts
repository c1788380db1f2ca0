/**
 * pip's hash-checking failures, read from its output and said plainly: which package, what the
 * lock expected, what was downloaded, and what to do.
 */

export interface HashMismatch {
  requirement: string;
  expected: string[];
  got?: string;
}

/** Packages whose downloaded file did not match a locked hash. Pure. */
export function hashMismatches(output: string): HashMismatch[] {
  const start = output.search(/THESE PACKAGES DO NOT MATCH THE HASHES/);
  if (start < 0) return [];
  const found: HashMismatch[] = [];
  let current: HashMismatch | undefined;
  for (const line of output.slice(start).split('\n').slice(1)) {
    const head = /^\s+(\S+?)(?:\s+from\s+\S+.*)?:\s*$/.exec(line);
    if (head && !/^\s*(Expected|Got)\b/.test(line)) {
      current = { requirement: head[1], expected: [] };
      found.push(current);
      continue;
    }
    const expected = /^\s*(?:Expected|or)\s+(\w+)\s+([0-9a-f]+)/.exec(line);
    if (expected && current) current.expected.push(`${expected[1]}:${expected[2]}`);
    const got = /^\s*Got\s+([0-9a-f]+)/.exec(line);
    if (got && current) current.got = got[1];
  }
  return found;
}

/** Requirements pip found with no hash while hashes were required (a lock missing a dependency). */
export function missingHashes(output: string): string[] {
  const start = output.search(/Hashes are required in --require-hashes mode/);
  if (start < 0) return [];
  const lines: string[] = [];
  for (const line of output.slice(start).split('\n').slice(1)) {
    const match = /^\s+(\S+==\S+)\s+--hash=/.exec(line);
    if (match) lines.push(match[1]);
    else if (line.trim() && !/^\s/.test(line)) break;
  }
  return lines;
}

/**
 * The head of the error for a failed pip install under hash checking; undefined when that is not
 * the failure.
 */
export function hashFailureMessage(output: string, requirementsName: string): string | undefined {
  const mismatches = hashMismatches(output);
  if (mismatches.length > 0) {
    const detail = mismatches
      .map((m) => {
        const expected = m.expected.join(' or ') || '(a locked hash)';
        return `${m.requirement}: expected ${expected}, got sha256:${m.got ?? '?'}`;
      })
      .join('; ');
    const names = mismatches.map((m) => m.requirement.split(/[=<>!~ ]/)[0]).join(', ');
    return (
      `Hash check failed for ${names}: the file pip downloaded is not the one locked in ` +
      `${requirementsName} (${detail}). Either the package was changed after it was locked ` +
      '(do not deploy it: find out why) or the lock is stale: lock again (uv lock, poetry lock, ' +
      'pipenv lock, pip-compile --generate-hashes) and review the diff.'
    );
  }
  const missing = missingHashes(output);
  if (missing.length > 0) {
    return (
      `${requirementsName} does not lock ${missing.join(', ')}, which another locked package ` +
      'needs; with hashes required, pip installs nothing unlocked. Lock again so the lock covers ' +
      'every dependency.'
    );
  }
  return undefined;
}
