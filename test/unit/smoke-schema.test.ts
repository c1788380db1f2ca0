import * as fs from 'node:fs';
import * as path from 'node:path';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { SPEC_FIELDS, parseSmokeSpec } from '../../src/release/smoke/smoke-spec.js';

/**
 * schema/smoke-spec.schema.json is what editors validate specs with: it must accept every shipped
 * example and agree with the action's own parser on what is valid.
 */

const SCHEMA_PATH = path.join('schema', 'smoke-spec.schema.json');
const schema = JSON.parse(fs.readFileSync(SCHEMA_PATH, 'utf8'));
const ajv = new Ajv({
  strict: true,
  strictRequired: false, // oneOf: [{required: [event]}, {required: [http]}] is plain draft-07
  allErrors: true,
  allowUnionTypes: true,
});
const validate = ajv.compile(schema);

/** Every smoke spec the project ships: the examples and the README's snippets with `cases`. */
function shippedSpecs(): Array<[string, string]> {
  const specs: Array<[string, string]> = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (/smoke.*\.(ya?ml|json)$/.test(entry.name))
        specs.push([full, fs.readFileSync(full, 'utf8')]);
    }
  };
  walk('examples');
  const readme = fs.readFileSync('README.md', 'utf8');
  for (const [i, m] of [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].entries())
    if (/^cases:/m.test(m[1]!)) specs.push([`README.md snippet ${i}`, m[1]!]);
  return specs;
}

const parserAccepts = (data: unknown) => {
  try {
    parseSmokeSpec(JSON.stringify(data), 'spec.json');
    return true;
  } catch {
    return false;
  }
};

test('the schema is a valid draft-07 schema that compiles in strict mode', () => {
  expect(schema.$schema).toBe('http://json-schema.org/draft-07/schema#');
  expect(typeof validate).toBe('function');
});

test('the example spec points editors at the schema', () => {
  const text = fs.readFileSync(path.join('examples', 'iris', 'smoke-tests.yml'), 'utf8');
  const ref = /^# yaml-language-server: \$schema=(\S+)$/m.exec(text)?.[1];
  expect(ref).toBeDefined();
  expect(path.resolve('examples/iris', ref!)).toBe(path.resolve(SCHEMA_PATH));
});

test('the README tells users how to use the schema', () => {
  expect(fs.readFileSync('README.md', 'utf8')).toContain(
    '# yaml-language-server: $schema=https://raw.githubusercontent.com/org/lambda-ml-deploy/v1/schema/smoke-spec.schema.json',
  );
});

test.each(shippedSpecs())('%s validates against the schema and the parser', (_, text) => {
  const data = parse(text);
  validate(data);
  expect(validate.errors ?? []).toEqual([]);
  expect(parseSmokeSpec(text, 'spec').cases.length).toBeGreaterThan(0);
});

test('the schema names exactly the fields the parser allows, at every level', () => {
  const keys = (node: { properties: object }) => Object.keys(node.properties).sort();
  expect(keys(schema)).toEqual([...SPEC_FIELDS.top].sort());
  expect(keys(schema.properties.defaults)).toEqual([...SPEC_FIELDS.defaults].sort());
  expect(keys(schema.definitions.case)).toEqual([...SPEC_FIELDS.case].sort());
  expect(keys(schema.definitions.http)).toEqual([...SPEC_FIELDS.http].sort());
  expect(keys(schema.definitions.expect)).toEqual([...SPEC_FIELDS.expect].sort());
  expect(keys(schema.definitions.endpointCase)).toEqual([...SPEC_FIELDS.endpoint].sort());
  expect(keys(schema.definitions.endpointExpect)).toEqual(
    [...SPEC_FIELDS['endpoint-expect']].sort(),
  );
});

const ok = { name: 'a', event: {} };
const INVALID: Array<[string, unknown]> = [
  ['no cases', {}],
  ['empty cases', { cases: [] }],
  ['unknown top-level field', { cases: [ok], case: [] }],
  ['misspelt case field', { cases: [{ ...ok, expct: {} }] }],
  ['case without a name', { cases: [{ event: {} }] }],
  ['blank name', { cases: [{ name: '  ', event: {} }] }],
  ['neither event nor http', { cases: [{ name: 'a' }] }],
  ['both event and http', { cases: [{ ...ok, http: { method: 'GET', path: '/' } }] }],
  ['null event', { cases: [{ name: 'a', event: null }] }],
  ['unknown method', { cases: [{ name: 'a', http: { method: 'FETCH', path: '/' } }] }],
  ['path without a slash', { cases: [{ name: 'a', http: { method: 'GET', path: 'predict' } }] }],
  ['path with a query', { cases: [{ name: 'a', http: { method: 'GET', path: '/p?x=1' } }] }],
  [
    'header that is a list',
    { cases: [{ name: 'a', http: { method: 'GET', path: '/', headers: { a: [1] } } }] },
  ],
  ['status out of range', { cases: [{ ...ok, expect: { status: 700 } }] }],
  ['status as text', { cases: [{ ...ok, expect: { status: '200' } }] }],
  ['negative tolerance', { cases: [{ ...ok, expect: { tolerance: -1 } }] }],
  ['zero latency budget', { cases: [{ ...ok, expect: { 'max-latency-ms': 0 } }] }],
  ['error with a status', { cases: [{ ...ok, expect: { error: true, status: 500 } }] }],
  ['null payload', { cases: [{ ...ok, expect: { payload: null } }] }],
  ['concurrency over 64', { cases: [ok], concurrency: 65 }],
  ['fractional timeout', { cases: [{ ...ok, 'timeout-ms': 1.5 }] }],
  ['unknown default', { cases: [ok], defaults: { retries: 2 } }],
  ['empty endpoint list', { cases: [ok], endpoint: [] }],
  ['endpoint case without http', { cases: [ok], endpoint: [{ name: 'e', event: {} }] }],
  [
    'endpoint case expecting a payload',
    {
      cases: [ok],
      endpoint: [{ name: 'e', http: { method: 'GET', path: '/' }, expect: { payload: {} } }],
    },
  ],
  [
    'endpoint case expecting an error',
    {
      cases: [ok],
      endpoint: [{ name: 'e', http: { method: 'GET', path: '/' }, expect: { error: true } }],
    },
  ],
];

test.each(INVALID)('both reject: %s', (_, data) => {
  expect([validate(data), parserAccepts(data)]).toEqual([false, false]);
});

const VALID: Array<[string, unknown]> = [
  [
    'lowercase method and list query',
    { cases: [{ name: 'a', http: { method: 'post', path: '/p', query: { k: ['1', 2] } } }] },
  ],
  [
    'text body, error false with status',
    { cases: [{ ...ok, expect: { body: 'ok', status: 200, error: false } }] },
  ],
  [
    'error true with a payload',
    { cases: [{ ...ok, expect: { error: true, payload: { errorType: 'X' } } }] },
  ],
  [
    'defaults and concurrency',
    { cases: [ok], concurrency: 4, defaults: { tolerance: 0, 'timeout-ms': 10 } },
  ],
  [
    'an endpoint section',
    {
      cases: [ok],
      endpoint: [
        {
          name: 'predict over HTTP',
          http: { method: 'POST', path: '/', body: { x: 1 } },
          expect: { status: 200, body: { y: 2 }, tolerance: 0.1, 'max-latency-ms': 100 },
          'timeout-ms': 1000,
        },
      ],
    },
  ],
];

test.each(VALID)('both accept: %s', (_, data) => {
  expect([validate(data), parserAccepts(data)]).toEqual([true, true]);
});
