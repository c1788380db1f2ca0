import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import type { CommandRunner } from '../../src/exec.js';
import { installInDocker } from '../../src/packaging/layer-docker.js';
import { stageRequirements } from '../../src/packaging/layer-stage.js';
import { memoryLogger } from '../../src/log.js';

let ws: string;
beforeEach(async () => {
  ws = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'layer-stage-')));
  const files: Record<string, string> = {
    '.git/config': '[http] extraheader = AUTHORIZATION: basic c2VjcmV0',
    '.env': 'API_KEY=secret',
    'app/requirements.txt':
      '-r ../shared/base.txt\n-c constraints.txt\n--find-links ./wheels\n-e ./pkg\nirisfeat==0.1\n',
    'app/constraints.txt': 'numpy<3\n',
    'app/wheels/irisfeat-0.1-py3-none-any.whl': 'wheel',
    'app/pkg/setup.py': 'from setuptools import setup; setup()',
    'app/pkg/.git/config': 'nested token',
    'app/lambda_function.py': 'handler',
    'app/notes/secret.txt': 'not for pip',
    'shared/base.txt': 'scipy\n',
    'shared/other.txt': 'not referenced',
  };
  for (const [rel, content] of Object.entries(files)) {
    await fs.mkdir(path.dirname(path.join(ws, rel)), { recursive: true });
    await fs.writeFile(path.join(ws, rel), content);
  }
});
afterEach(() => fs.rm(ws, { recursive: true, force: true }));

async function tree(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string, rel: string) => {
    for (const e of await fs.readdir(d, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(path.join(d, e.name), r);
      else out.push(r);
    }
  };
  await walk(dir, '');
  return out.sort();
}

describe('stageRequirements', () => {
  test('copies the requirements tree and its local sources, in layout, and nothing else', async () => {
    const dest = path.join(ws, '..', `${path.basename(ws)}-stage`);
    const staged = await stageRequirements(
      path.join(ws, 'app/requirements.txt'),
      ['-f', './wheels'],
      dest,
    );
    try {
      expect(await tree(staged.root)).toEqual([
        'app/constraints.txt',
        'app/pkg/setup.py',
        'app/requirements.txt',
        'app/wheels/irisfeat-0.1-py3-none-any.whl',
        'shared/base.txt',
      ]);
      expect(staged.requirementsPath).toBe(path.join(dest, 'app/requirements.txt'));
    } finally {
      await fs.rm(dest, { recursive: true, force: true });
    }
  });
});

describe('installInDocker mounts only the staged copy', () => {
  test('the container never sees .git or unreferenced workspace files; the copy is removed after', async () => {
    let mounted: string[] = [];
    let workdir = '';
    let source = '';
    const run: CommandRunner = async (_command, args) => {
      source = args[args.indexOf('-v') + 1]!.replace(/:\/var\/req:ro$/, '');
      workdir = args[args.indexOf('-w') + 1]!;
      mounted = await tree(source);
      return { exitCode: 0, stdout: 'lmd-python=3.12', stderr: '' };
    };
    const out = path.join(ws, 'work', 'out');
    await installInDocker({
      run,
      logger: memoryLogger(),
      image: 'build-image',
      architecture: 'x86_64',
      runtime: 'python3.12',
      requirementsPath: path.join(ws, 'app/requirements.txt'),
      outDir: out,
      pipArgs: [],
    });
    expect(source.startsWith(ws + path.sep + 'work')).toBe(true);
    expect(mounted).not.toContainEqual(
      expect.stringMatching(/(^|\/)\.git\/|\.env|secret|lambda_function/),
    );
    expect(mounted).toContain('app/requirements.txt');
    expect(workdir).toBe('/var/req/app');
    await expect(fs.stat(source)).rejects.toThrow(/ENOENT/);
  });
});
