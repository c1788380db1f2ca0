import * as fs from 'node:fs';
import { parse } from 'yaml';
import { OUTPUT_FIELDS, outputsOf, reportingResult } from '../../src/report/outputs.js';

describe('outputs from the run result', () => {
  it('every output of action.yml has a result field, and nothing else is an output', () => {
    const action = parse(fs.readFileSync('action.yml', 'utf8')) as {
      outputs: Record<string, unknown>;
    };
    expect(Object.keys(OUTPUT_FIELDS).sort()).toEqual(Object.keys(action.outputs).sort());
  });

  it('known fields become text outputs; unknown ones are left out', () => {
    expect(
      outputsOf({ mode: 'deploy', version: '4', rolledBack: false, coldStartMs: 812 }),
    ).toEqual({ mode: 'deploy', version: '4', 'rolled-back': 'false', 'cold-start-ms': '812' });
    expect(outputsOf({})).toEqual({});
  });

  it('a reporting result writes each output the moment it is known (a killed run keeps them)', () => {
    const written: Array<[string, string]> = [];
    const result = reportingResult((name, value) => void written.push([name, value]), {
      mode: 'deploy',
    });
    result.version = '7';
    result.rolledBack = false;
    result.previousVersion = undefined;
    expect(written).toEqual([
      ['mode', 'deploy'],
      ['version', '7'],
      ['rolled-back', 'false'],
    ]);
    expect(outputsOf(result)).toEqual({ mode: 'deploy', version: '7', 'rolled-back': 'false' });
  });

  it('core.setOutput is called in one place only (main.ts), from the result', () => {
    const callers = fs
      .readdirSync('src', { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts'))
      .filter((f) => fs.readFileSync(`src/${f}`, 'utf8').includes('setOutput('));
    expect(callers).toEqual(['main.ts']);
  });
});
