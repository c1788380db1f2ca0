// `npm run bench`: compiles bench/bundle-bench.ts (and the src/ modules it uses) with ncc into a
// temp folder, as the action itself is compiled, then runs it. Plain Node 20+, no extra packages.
// --transpile-only: type errors are npm run typecheck's job (ncc would check the whole project).
// Arguments after `--` go to the bench: npm run bench -- --skip-big --level 6
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const ncc = path.join(root, 'node_modules', '@vercel', 'ncc', 'dist', 'ncc', 'cli.js');
if (!existsSync(ncc)) {
  console.error('bench: @vercel/ncc is not installed (run npm ci first).');
  process.exit(1);
}
const out = mkdtempSync(path.join(os.tmpdir(), 'lambda-ml-deploy-bench-build-'));
try {
  const build = spawnSync(
    process.execPath,
    [
      ncc,
      'build',
      path.join('bench', 'bundle-bench.ts'),
      '-o',
      out,
      '--quiet',
      '--transpile-only',
      '--target',
      'es2022',
    ],
    {
      cwd: root,
      stdio: 'inherit',
    },
  );
  if (build.status !== 0) {
    console.error('bench: compiling bench/bundle-bench.ts with ncc failed.');
    process.exitCode = build.status ?? 1;
  } else {
    const run = spawnSync(
      process.execPath,
      [path.join(out, 'index.js'), ...process.argv.slice(2)],
      { cwd: root, stdio: 'inherit' },
    );
    process.exitCode = run.status ?? 1;
  }
} finally {
  rmSync(out, { recursive: true, force: true });
}
