// The invariant checker run after every chaos run. Pure: it reads what the run left (AWS state
// before and after, the proxy's log of alias writes and deletions, the steps' logs and outputs)
// and returns the broken invariants:
//   (a) an alias never pointed, even by weight, at a version whose smoke tests did not pass in
//       that run (allowed: what the alias served before the run, and versions that passed);
//   (b) no version that an alias references or records as previous was deleted;
//   (c) the run ended green, or red with a message naming the step (the post step too);
//   (d) no secret in the logs, the summary or the outputs;
//   (restore) after a SIGTERM and the post step, no alias is left half-shifted and each serves
//       what it served before or a version that passed in the run.

/** Versions an alias routes traffic to: its version and every weighted one. */
export function routed(alias) {
  return [alias.version, ...Object.keys(alias.weights ?? {})].filter(Boolean);
}

/** `lambda-ml-deploy: previous=12 sha=...` -> '12'. */
export function recordedPrevious(description) {
  return /lambda-ml-deploy: previous=(\d+)/.exec(description ?? '')?.[1];
}

const PREVIEW = /^pr-\d+$/;

/**
 * Words that name a step of the pipelines. A red run's error must say where it failed; a bare SDK
 * error ("socket hang up", "ServiceException: ...") does not.
 */
const STEP_WORDS =
  /credential|oidc|assume|identity|smoke|spec|layer|bundle|upload|publish|version \d+|alias|shift|bake|alarm|roll(?:ed)? ?back|retention|preview|function url|comment|configuration|function code|function '/i;

export function namesAStep(message) {
  return STEP_WORDS.test(message);
}

function errorOf(run) {
  return run?.annotations?.find((a) => a.level === 'error')?.message ?? '';
}

/** Versions whose smoke tests passed in this run (from the step's outputs). */
export function passedVersions(run) {
  const out = run?.outputs ?? {};
  return out['smoke-result'] === 'passed' && out.version ? [out.version] : [];
}

/**
 * Checks one run. `record`: { before, after (AWS state: {aliases: [{name, version, weights,
 * description}], versions: [..]}), proxy: {aliasWrites, versionDeletes, secrets}, main, post,
 * passed (versions that passed), bad (versions known to be bad), killed, expectRed, secrets }.
 */
export function checkRun(record) {
  const violations = [];
  const add = (invariant, message) => violations.push({ invariant, message });
  const before = new Map(record.before.aliases.map((a) => [a.name, a]));
  const passed = new Set(record.passed);
  const allowedFor = (name) => new Set([...routed(before.get(name) ?? {}), ...passed]);

  // (a) every alias write that landed, and every alias as it ends.
  for (const write of record.proxy.aliasWrites) {
    if (!write.landed || write.operation === 'DeleteAlias') continue;
    const allowed = allowedFor(write.alias);
    for (const version of routed(write)) {
      if (!allowed.has(version))
        add(
          'a',
          `${write.operation} ${write.alias} -> ${version} (weights ${JSON.stringify(write.weights)}) landed, but version ${version} did not pass its smoke tests in this run`,
        );
    }
  }
  for (const alias of record.after.aliases) {
    const allowed = allowedFor(alias.name);
    for (const version of routed(alias))
      if (!allowed.has(version))
        add('a', `alias ${alias.name} ends on version ${version}, which did not pass in this run`);
  }
  for (const version of record.bad ?? [])
    if (passed.has(version)) add('a', `bad version ${version} passed its smoke tests`);

  // (b) what every alias serves or records as previous still exists.
  const existing = new Set(record.after.versions);
  for (const alias of record.after.aliases) {
    const needed = routed(alias).map((v) => [v, 'serves']);
    const previous = recordedPrevious(alias.description);
    // A preview alias records the version it superseded, which the preview deletes by design
    // (one version per PR); rollback targets are recorded on the deploy alias.
    if (previous && !PREVIEW.test(alias.name)) needed.push([previous, 'records as previous']);
    for (const [version, how] of needed)
      if (!existing.has(version)) {
        const deleted = record.proxy.versionDeletes.some((d) => d.version === version);
        add(
          'b',
          `version ${version}, which alias ${alias.name} ${how}, ${deleted ? 'was deleted in this run' : 'does not exist'}`,
        );
      }
  }

  // (c) green, or red naming the step; the post step never fails silently.
  const main = record.main;
  if (main.timedOut) add('c', 'the main step hung until its timeout');
  else if (!record.killed && main.exitCode !== 0) {
    const message = errorOf(main);
    if (!message) add('c', `red (exit ${main.exitCode}) without an error message`);
    else if (!namesAStep(message)) add('c', `red with a message that names no step: ${message}`);
  }
  if (!record.killed && main.exitCode === 0 && record.expectRed)
    add('c', `green, but this run had to fail (${record.expectRed})`);
  if (record.post?.outputs?.version)
    add(
      'restore',
      `the post step ran the whole pipeline again (published version ${record.post.outputs.version})`,
    );
  if (record.post && record.post.exitCode !== 0)
    add('c', `post step failed: ${errorOf(record.post) || `exit ${record.post.exitCode}`}`);

  // (d) no secret visible.
  const visible = [main, record.post]
    .filter(Boolean)
    .flatMap((run) => [run.visibleLog, run.summary, ...Object.values(run.outputs ?? {})]);
  for (const secret of record.secrets) {
    if (!secret || secret.length < 8) continue;
    if (visible.some((text) => text.includes(secret)))
      add('d', `a secret (${secret.slice(0, 4)}…, ${secret.length} chars) is visible in the logs`);
  }

  // (restore) after a SIGTERM: whole routing, on where it was or on a version that passed.
  if (record.killed) {
    for (const alias of record.after.aliases) {
      const was = before.get(alias.name);
      if (Object.keys(alias.weights).length > 0)
        add(
          'restore',
          `after SIGTERM and the post step, alias ${alias.name} is left split: ${alias.version} + ${JSON.stringify(alias.weights)}`,
        );
      else if (was && alias.version !== was.version && !passed.has(alias.version))
        add(
          'restore',
          `after SIGTERM and the post step, alias ${alias.name} serves ${alias.version} (was ${was.version})`,
        );
    }
  }
  return violations;
}

/**
 * Checks a concurrent pair: each run ends live or with a clear conflict, the alias ends on a
 * version that passed, no landed update overwrote a version it did not record as previous (a
 * lost update), and each run's version carries that run's own code.
 */
export function checkPair(pair) {
  const violations = [];
  const add = (invariant, message) => violations.push({ invariant, message });
  const passed = new Set(pair.runs.flatMap((r) => r.passed));
  const initial = pair.before.aliases.find((a) => a.name === pair.alias);
  const allowed = new Set([...routed(initial ?? {}), ...passed]);
  for (const [i, run] of pair.runs.entries()) {
    const label = `run ${i === 0 ? 'A' : 'B'} (version ${run.main.outputs.version ?? '?'})`;
    if (run.main.exitCode !== 0) {
      const message = errorOf(run.main);
      // moto runs concurrent invocations of one function in containers that share a volume;
      // when one removes it under the other, that is the sandbox failing, not the action.
      if (/error running docker: 404/.test(message))
        add('sandbox', `${label}: the sandbox's Lambda container failed: ${message}`);
      else if (!/changed by someone else|another (deploy|run)|conflict|concurrent/i.test(message))
        add('conflict', `${label} failed without a clear conflict: ${message || 'no message'}`);
    }
    const { version, 'code-sha256': sha } = run.main.outputs;
    const publishedAs = run.published.find((p) => p.version === version);
    if (version && sha && publishedAs && publishedAs.sha !== sha)
      add(
        'a',
        `${label}: version ${version} was published with code ${publishedAs.sha}, not this run's ${sha} (the other run's code, smoke-tested as this run's)`,
      );
  }
  const final = pair.after.aliases.find((a) => a.name === pair.alias);
  for (const version of routed(final ?? {}))
    if (!allowed.has(version)) add('a', `alias ends on version ${version}, which did not pass`);
  if (final && Object.keys(final.weights).length > 0)
    add('a', `alias ends split: ${JSON.stringify(final.weights)}`);

  // Replays the landed writes in the order they landed.
  let serving = initial?.version;
  const writes = pair.runs
    .flatMap((r, i) => r.aliasWrites.map((w) => ({ ...w, run: i === 0 ? 'A' : 'B' })))
    .filter((w) => w.landed && w.alias === pair.alias && w.operation !== 'DeleteAlias')
    .sort((x, y) => x.landedAt - y.landedAt);
  for (const write of writes) {
    const previous = recordedPrevious(write.description);
    if (previous && serving && previous !== serving && write.version !== serving)
      add(
        'lost-update',
        `run ${write.run} moved ${pair.alias} to ${write.version} recording previous=${previous}, but it served ${serving}: that update was overwritten unseen`,
      );
    serving = write.version;
  }
  for (const [i, run] of pair.runs.entries())
    for (const secret of pair.secrets)
      if (secret.length >= 8 && run.main.visibleLog.includes(secret))
        add('d', `run ${i === 0 ? 'A' : 'B'}: a secret is visible in the log`);
  return violations;
}
