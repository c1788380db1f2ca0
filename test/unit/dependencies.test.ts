import * as fs from 'node:fs';
import * as path from 'node:path';

/** Every runtime dependency is imported by src/ (so it is bundled for a reason); see docs/decisions/dependencies.md. */

const pkg = JSON.parse(fs.readFileSync('package.json', 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const source = fs
  .readdirSync('src', { recursive: true })
  .map(String)
  .filter((f) => f.endsWith('.ts'))
  .map((f) => fs.readFileSync(path.join('src', f), 'utf8'))
  .join('\n');
// Value imports only: `import type` is erased and bundles nothing.
const imported = new Set(
  [...source.matchAll(/^import (?!type )[^;]*?from '([^'.][^']*)';/gms)]
    .map((m) => m[1]!)
    .filter((spec) => !spec.startsWith('node:'))
    .map((spec) =>
      spec
        .split('/')
        .slice(0, spec.startsWith('@') ? 2 : 1)
        .join('/'),
    ),
);

test('every package in dependencies is imported by src/', () => {
  expect(Object.keys(pkg.dependencies).filter((name) => !imported.has(name))).toEqual([]);
});

test('every package src/ imports is a runtime dependency (not only a dev one)', () => {
  const missing = [...imported].filter((name) => !(name in pkg.dependencies));
  expect(missing).toEqual([]);
});

test('each runtime dependency is explained in the decision note', () => {
  const note = fs.readFileSync(path.join('docs', 'decisions', 'dependencies.md'), 'utf8');
  for (const name of Object.keys(pkg.dependencies)) {
    const family = name.startsWith('@aws-sdk/') ? '@aws-sdk/' : name;
    expect([name, note.includes(family)]).toEqual([name, true]);
  }
});
