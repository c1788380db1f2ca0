import { runCommand } from '../../src/exec.js';

describe('runCommand', () => {
  it('passes an argument list without a shell and reports every line, the last one included', async () => {
    const lines: string[] = [];
    const result = await runCommand(
      process.execPath,
      ['-e', 'process.stdout.write("a\\nb; echo $HOME\\nlast")', '$(whoami)'],
      { onLine: (l) => lines.push(l) },
    );
    expect(result.exitCode).toBe(0);
    expect(lines).toEqual(['a', 'b; echo $HOME', 'last']);
  });

  it('returns the exit code and stderr of a failing program', async () => {
    const result = await runCommand(process.execPath, [
      '-e',
      'console.error("boom"); process.exit(3)',
    ]);
    expect(result).toMatchObject({ exitCode: 3, stderr: 'boom\n' });
  });

  it('names a program that is not on PATH', async () => {
    await expect(runCommand('no-such-program-xyz', [])).rejects.toThrow(
      "'no-such-program-xyz' was not found on PATH",
    );
  });
});
