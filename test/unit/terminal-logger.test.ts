import { terminalLogger, type CliIo } from '../../src/cli.js';

function io(interactive: boolean, columns = 40): CliIo & { err: string[] } {
  const err: string[] = [];
  return { err, stdout: () => undefined, stderr: (t) => void err.push(t), interactive, columns };
}

const CLEAR = '\r\x1b[2K';

describe('terminalLogger', () => {
  it('interactive: a status line is drawn in place, then erased by the next log line', () => {
    const out = io(true);
    const logger = terminalLogger(out, false);
    logger.status?.('uploading a.zip: 1 MB of 4 MB (25%)');
    logger.status?.('uploading a.zip: 2 MB of 4 MB (50%)');
    logger.info('Uploaded');
    expect(out.err).toEqual([
      `${CLEAR}uploading a.zip: 1 MB of 4 MB (25%)`,
      `${CLEAR}uploading a.zip: 2 MB of 4 MB (50%)`,
      `${CLEAR}Uploaded\n`,
    ]);
  });

  it('interactive: a status wider than the terminal is cut, and secrets are masked', () => {
    const out = io(true, 21);
    const logger = terminalLogger(out, false);
    logger.mask('s3cr3t');
    logger.status?.('token s3cr3t and a long tail of text');
    expect(out.err).toEqual([`${CLEAR}token *** and a lon…`]);
  });

  it('not a terminal (a CI log file): no status lines at all, no control characters', () => {
    const out = io(false);
    const logger = terminalLogger(out, false);
    expect(logger.status).toBeUndefined();
    logger.info('plain');
    expect(out.err).toEqual(['plain\n']);
  });
});
