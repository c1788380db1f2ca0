import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

// dist/ is committed (GitHub runs it as is), so it must be exactly what the sources build to.
describe('dist/', () => {
  it('equals a fresh ncc build of src/', () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'dist-check-'));
    try {
      // The same script as `npm run build` (ncc with a source map, sourcesContent dropped).
      execFileSync('node', ['scripts/build.mjs', out, '--quiet'], { stdio: 'pipe' });
      const built = fs.readdirSync(out).sort();
      expect(fs.readdirSync('dist').sort()).toEqual(built);
      for (const file of built) {
        const same = fs
          .readFileSync(path.join(out, file))
          .equals(fs.readFileSync(path.join('dist', file)));
        if (!same)
          throw new Error(
            `dist/${file} differs from a fresh build: run npm run build and commit dist/`,
          );
      }
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  }, 180_000);

  it('ships a source map that names the TypeScript sources, registered at the top of the bundle', () => {
    const map = JSON.parse(fs.readFileSync('dist/index.js.map', 'utf8')) as {
      sources: string[];
      sourcesContent?: unknown;
    };
    expect(map.sources).toEqual(expect.arrayContaining(['.././src/main.ts', '.././src/index.ts']));
    expect(map.sourcesContent).toBeUndefined();
    const bundle = fs.readFileSync('dist/index.js', 'utf8');
    expect(bundle.startsWith("import './sourcemap-register.cjs';")).toBe(true);
    expect(bundle.trimEnd().endsWith('//# sourceMappingURL=index.js.map')).toBe(true);
  });

  it('declares node24 with main on dist/index.js and post on dist/post.js', () => {
    const action = fs.readFileSync('action.yml', 'utf8');
    expect(action).toMatch(/using: node24\n\s+main: dist\/index\.js\n\s+post: dist\/post\.js/);
  });
});
