// Builds the action bundle: ncc over src/index.ts into OUT (default dist), with a source map so
// stack traces point at src/*.ts (ncc's sourcemap-register.cjs installs source-map-support at the
// top of index.js; that works on every Node the runner has, with no flag). The map keeps the
// mappings and drops sourcesContent: a stack trace needs file and line, not 3.5 MB of copied
// sources (src/ ships in the action's repository anyway). Beside it, post.js: the `post:` entry of
// action.yml, the same bundle told it runs as the post step.
//   node scripts/build.mjs [OUT]
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const out = path.resolve(process.argv[2] ?? 'dist');
const quiet = process.argv.includes('--quiet');
execFileSync(
  'npx',
  [
    'ncc',
    'build',
    'src/index.ts',
    '-o',
    out,
    '--license',
    'licenses.txt',
    '--target',
    'es2022',
    '--source-map',
    ...(quiet ? ['--quiet'] : []),
  ],
  { stdio: quiet ? 'pipe' : 'inherit' },
);
fs.writeFileSync(
  path.join(out, 'post.js'),
  [
    "// The action's post step (action.yml `post:`): the bundle of the main step, told it is the",
    '// post step, so that it never runs the main pipeline (written by scripts/build.mjs).',
    "globalThis.lambdaMlDeployEntry = 'post';",
    "await import('./index.js');",
    '',
  ].join('\n'),
);
const mapFile = path.join(out, 'index.js.map');
const map = JSON.parse(fs.readFileSync(mapFile, 'utf8'));
delete map.sourcesContent;
fs.writeFileSync(mapFile, JSON.stringify(map));
if (!quiet)
  console.log(
    `${path.relative(process.cwd(), mapFile)}: ${fs.statSync(mapFile).size} bytes (no sourcesContent)`,
  );
