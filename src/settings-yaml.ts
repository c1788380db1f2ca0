import { isMap, isScalar, parseDocument, type Scalar } from 'yaml';
import { errorMessage } from './errors.js';

export interface TextMap {
  entries: Array<[string, string]>;
  /** Each problem as a sentence fragment; the caller names the input. */
  problems: string[];
}

// What YAML's core schema reads as null: the user's text is lost, so we ask for quotes instead.
const YAML_NULL = /^(~|null|Null|NULL|)$/;

/**
 * A YAML or JSON map of string values, keeping each value's text as written: `1.10` stays
 * `1.10`, `0123` stays `0123`, `yes` stays `yes` (YAML would read numbers and booleans).
 * Quoted values are taken as given. A plain value YAML reads as null (`~`, `null`, nothing) is a
 * problem: nobody can tell whether the text or an empty value was meant.
 */
export function parseTextMap(text: string): TextMap | { error: string } {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) {
    return {
      error: `does not parse: ${errorMessage(doc.errors[0]).split('\n')[0]}`,
    };
  }
  if (!isMap(doc.contents)) return { error: 'is not a map' };
  const entries: Array<[string, string]> = [];
  const problems: string[] = [];
  for (const pair of doc.contents.items) {
    const key = isScalar(pair.key) ? scalarText(pair.key) : undefined;
    if (key === undefined || key === '') {
      problems.push('has a key that is not plain text');
      continue;
    }
    const value = pair.value;
    if (value === null || value === undefined) {
      problems.push(nullProblem(key, ''));
      continue;
    }
    if (!isScalar(value)) {
      problems.push(
        `has key '${key}' with a nested value; values must be text, numbers or booleans`,
      );
      continue;
    }
    if (value.type === 'PLAIN' && YAML_NULL.test(String(value.source ?? ''))) {
      problems.push(nullProblem(key, String(value.source ?? '')));
      continue;
    }
    entries.push([key, scalarText(value)]);
  }
  return { entries, problems };
}

function nullProblem(key: string, written: string): string {
  const shown = written === '' ? 'no value' : `\`${written}\``;
  return (
    `has key '${key}' with ${shown}, which YAML reads as null; quote the value ` +
    `(${key}: '${written}') to mean that text, or write ${key}: '' for an empty value`
  );
}

/** The text as written for a plain scalar; the decoded string for quoted and block ones. */
function scalarText(node: Scalar): string {
  if (node.type === 'PLAIN' && typeof node.source === 'string') return node.source;
  return typeof node.value === 'string' ? node.value : String(node.value);
}
