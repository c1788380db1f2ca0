// Rewrites the input and output reference in README.md from action.yml, between
//   <!-- action-reference:start --> and <!-- action-reference:end -->
//   node scripts/docs.mjs            rewrite README.md
//   node scripts/docs.mjs --check    exit 1 when README.md is not what action.yml gives
import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

export const START = '<!-- action-reference:start -->';
export const END = '<!-- action-reference:end -->';

const cell = (text) =>
  String(text ?? '')
    .replace(/\s+/g, ' ')
    .replace(/\|/g, '\\|')
    .trim();

const defaultCell = (value) => {
  if (value === undefined || value === '') return '';
  return `\`${String(value).replace(/\|/g, '\\|')}\``;
};

/** The Markdown of the reference section for an action.yml text. */
export function renderReference(actionText) {
  const action = parse(actionText);
  const lines = [
    START,
    '<!-- Generated from action.yml by `npm run docs`; edit action.yml, not this table. -->',
    '',
    '| input | required | default | description |',
    '|---|---|---|---|',
  ];
  for (const [name, spec] of Object.entries(action.inputs ?? {})) {
    lines.push(
      `| \`${name}\` | ${spec.required ? 'yes' : 'no'} | ${defaultCell(spec.default)} | ${cell(spec.description)} |`,
    );
  }
  lines.push('', '| output | description |', '|---|---|');
  for (const [name, spec] of Object.entries(action.outputs ?? {}))
    lines.push(`| \`${name}\` | ${cell(spec.description)} |`);
  lines.push(END);
  return lines.join('\n');
}

/** README text with the marked section replaced. Throws when the markers are missing. */
export function updateReadme(readme, actionText) {
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  if (start < 0 || end < start)
    throw new Error(`README.md needs the markers ${START} and ${END} around the reference`);
  return readme.slice(0, start) + renderReference(actionText) + readme.slice(end + END.length);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const readme = fs.readFileSync('README.md', 'utf8');
  const updated = updateReadme(readme, fs.readFileSync('action.yml', 'utf8'));
  if (process.argv.includes('--check')) {
    if (updated !== readme) {
      console.error('README.md is out of date with action.yml: run npm run docs');
      process.exit(1);
    }
  } else if (updated !== readme) {
    fs.writeFileSync('README.md', updated);
    console.log('README.md: input and output reference rewritten from action.yml');
  } else {
    console.log('README.md: reference already up to date');
  }
}
