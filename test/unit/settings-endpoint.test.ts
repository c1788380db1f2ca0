import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from 'yaml';
import { EXECUTE_API_ARN } from '../../src/settings-endpoint.js';
import { readSettings, SettingsError, type DeploySettings } from '../../src/settings.js';

const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'settings-endpoint-'));
afterAll(() => fs.rmSync(workspace, { recursive: true, force: true }));

const base: Record<string, string> = {
  'aws-region': 'us-east-1',
  'function-name': 'iris',
  's3-bucket': 'artifacts',
};

function read(inputs: Record<string, string>): DeploySettings {
  const settings = readSettings(
    (name) => ({ ...base, ...inputs })[name] ?? '',
    { eventName: 'push', payload: {} },
    workspace,
  );
  if (settings.mode !== 'deploy') throw new Error('expected deploy');
  return settings;
}

function problemsOf(inputs: Record<string, string>): string[] {
  try {
    read(inputs);
  } catch (error) {
    if (error instanceof SettingsError) return error.problems;
    throw error;
  }
  return [];
}

/** action.yml's defaults, as the runner passes them for inputs a workflow leaves out. */
const actionDefaults: Record<string, string> = Object.fromEntries(
  Object.entries(
    (
      parse(fs.readFileSync('action.yml', 'utf8')) as {
        inputs: Record<string, { default?: string }>;
      }
    ).inputs,
  )
    .filter(([, spec]) => spec.default !== undefined && !spec.default.includes('${{'))
    .map(([name, spec]) => [name, String(spec.default)]),
);

describe('endpoint inputs', () => {
  it("with action.yml's defaults filled in (as the runner does): no URL and no problem", () => {
    expect(actionDefaults['url-auth']).toBe('AWS_IAM');
    expect(read({ ...actionDefaults }).endpoint).toEqual({
      url: false,
      urlAuth: 'AWS_IAM',
      cors: {},
      checks: true,
    });
  });

  it('default to no URL, AWS_IAM, no CORS, no API Gateway permission, checks on', () => {
    expect(read({}).endpoint).toEqual({ url: false, urlAuth: 'AWS_IAM', cors: {}, checks: true });
  });

  it('read a URL with NONE auth, CORS in YAML and an execute-api ARN', () => {
    const settings = read({
      url: 'true',
      'url-auth': 'NONE',
      'url-cors':
        'allow-origins: [https://app.example.com, "http://localhost:3000"]\n' +
        'allow-methods: post, get\nallow-headers: [content-type]\nmax-age: 300\n' +
        'allow-credentials: true',
      'api-gateway-source-arn':
        'arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/*/POST/predict',
      'endpoint-checks': 'false',
    });
    expect(settings.endpoint).toEqual({
      url: true,
      urlAuth: 'NONE',
      cors: {
        AllowOrigins: ['https://app.example.com', 'http://localhost:3000'],
        AllowMethods: ['POST', 'GET'],
        AllowHeaders: ['content-type'],
        MaxAge: 300,
        AllowCredentials: true,
      },
      apiGatewaySourceArn: 'arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/*/POST/predict',
      checks: false,
    });
  });

  it('reads CORS written as JSON', () => {
    expect(
      read({ url: 'true', 'url-cors': '{"allow-origins": ["*"], "max-age": 0}' }).endpoint.cors,
    ).toEqual({ AllowOrigins: ['*'], MaxAge: 0 });
  });

  const bad: Array<[string, Record<string, string>, RegExp]> = [
    [
      'url-auth other than AWS_IAM/NONE',
      { url: 'true', 'url-auth': 'IAM' },
      /'url-auth': must be one of AWS_IAM, NONE/,
    ],
    ['url-auth without a URL', { 'url-auth': 'NONE' }, /'url-auth': applies to .* needs url: true/],
    [
      'url-cors without a URL',
      { 'url-cors': '{max-age: 5}' },
      /'url-cors': applies to .* needs url: true/,
    ],
    [
      'url-cors that is not a map',
      { url: 'true', 'url-cors': '[a, b]' },
      /'url-cors': must be a YAML or JSON map .* is not a map/,
    ],
    [
      'url-cors that does not parse',
      { url: 'true', 'url-cors': '{allow-origins: [' },
      /'url-cors': must be a YAML or JSON map .* does not parse/,
    ],
    [
      'an unknown CORS key',
      { url: 'true', 'url-cors': '{origins: ["*"]}' },
      /'url-cors': has key 'origins'; allowed keys: allow-origins/,
    ],
    [
      'an origin with a path',
      { url: 'true', 'url-cors': '{allow-origins: [https://a.com/x]}' },
      /has allow-origins value 'https:\/\/a.com\/x', which is not an origin/,
    ],
    [
      'an unknown method',
      { url: 'true', 'url-cors': '{allow-methods: [FETCH]}' },
      /has allow-methods value 'FETCH', which is not an HTTP method/,
    ],
    [
      'a max age over a day',
      { url: 'true', 'url-cors': '{max-age: 90000}' },
      /has max-age that is not a whole number of seconds from 0 to 86400/,
    ],
    [
      'credentials with any origin',
      { url: 'true', 'url-cors': '{allow-origins: ["*"], allow-credentials: true}' },
      /allow-credentials: true with allow-origins '\*'/,
    ],
    [
      'allow-credentials as text',
      { url: 'true', 'url-cors': '{allow-credentials: "yes"}' },
      /has allow-credentials that is not true or false/,
    ],
    [
      'a Lambda ARN as the source',
      { 'api-gateway-source-arn': 'arn:aws:lambda:us-east-1:123456789012:function:x' },
      /'api-gateway-source-arn': must be an execute-api ARN/,
    ],
    [
      'a wildcard account',
      { 'api-gateway-source-arn': 'arn:aws:execute-api:us-east-1:*:a1b2c3d4e5/*' },
      /the account is required/,
    ],
    [
      'endpoint-checks that is not a boolean',
      { 'endpoint-checks': 'maybe' },
      /'endpoint-checks': must be true or false/,
    ],
  ];
  it.each(bad)('refuse %s, naming the input', (_, inputs, message) => {
    const problems = problemsOf(inputs);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(message);
  });
});

describe('EXECUTE_API_ARN', () => {
  it.each([
    'arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/*/POST/predict',
    'arn:aws:execute-api:eu-west-3:123456789012:a1b2c3d4e5/prod/*/*',
    'arn:aws:execute-api:*:123456789012:*',
    'arn:aws-cn:execute-api:cn-north-1:123456789012:a1b2c3d4e5/$default/POST/{proxy+}',
  ])('accepts %s', (arn) => expect(EXECUTE_API_ARN.test(arn)).toBe(true));
  it.each([
    'arn:aws:execute-api:us-east-1:12345:a1b2c3d4e5/*',
    'arn:aws:execute-api:us-east-1:123456789012:short/*',
    'arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod POST',
    '*',
  ])('refuses %s', (arn) => expect(EXECUTE_API_ARN.test(arn)).toBe(false));
});
