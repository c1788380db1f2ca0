import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

// dist/ is committed (GitHub runs it as is), so it must be exactly what the sources build to.
describe('dist/', () => {
  it('equals a fresh ncc build of src/', () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'dist-check-'));
    try {
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
          '--quiet',
        ],
        {
          stdio: 'pipe',
        },
      );
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

  it('declares node24 with main and post on dist/index.js', () => {
    const action = fs.readFileSync('action.yml', 'utf8');
    expect(action).toMatch(/using: node24\n\s+main: dist\/index\.js\n\s+post: dist\/index\.js/);
  });
});
