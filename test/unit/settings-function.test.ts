import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  readSettings,
  SettingsError,
  type DeploySettings,
  type EventContext,
} from '../../src/settings.js';

const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'settings-fn-'));
fs.mkdirSync(path.join(workspace, 'app'));
fs.writeFileSync(path.join(workspace, 'app', 'lambda_function.py'), 'def h(e, c):\n  return 1\n');
fs.writeFileSync(path.join(workspace, 'app', 'requirements.txt'), 'numpy\n');
afterAll(() => fs.rmSync(workspace, { recursive: true, force: true }));

const push: EventContext = { eventName: 'push', payload: {} };
const valid: Record<string, string> = {
  'aws-region': 'us-east-1',
  'function-name': 'iris',
  's3-bucket': 'my-artifacts',
  'source-dir': 'app',
};
const layer = (name: string, v: number) =>
  `arn:aws:lambda:us-east-1:123456789012:layer:${name}:${v}`;

function fnOf(inputs: Record<string, string>): DeploySettings['fn'] {
  const s = readSettings((name) => ({ ...valid, ...inputs })[name] ?? '', push, workspace);
  if (s.mode !== 'deploy') throw new Error('expected deploy');
  return s.fn;
}

function problemsOf(inputs: Record<string, string>): string[] {
  try {
    fnOf(inputs);
  } catch (error) {
    if (error instanceof SettingsError) return error.problems;
    throw error;
  }
  return [];
}

describe('environment keeps the text as written', () => {
  it('YAML: numbers, octal-looking, hex, exponents and yes stay as typed', () => {
    const fn = fnOf({
      environment: 'A: 1.10\nB: 0123\nC: 1e3\nD: 0x1F\nE: yes\nF: .inf\nG: "quoted: ~"\nH: true',
    });
    expect(fn.environment).toEqual({
      A: '1.10',
      B: '0123',
      C: '1e3',
      D: '0x1F',
      E: 'yes',
      F: '.inf',
      G: 'quoted: ~',
      H: 'true',
    });
  });

  it('JSON: strings as given, numbers as written', () => {
    expect(fnOf({ environment: '{"A": "0123", "B": 1.10, "C": "~"}' }).environment).toEqual({
      A: '0123',
      B: '1.10',
      C: '~',
    });
  });

  it('a value YAML reads as null is an error that names the input and says to quote', () => {
    const problems = problemsOf({ environment: 'A: ~\nB:\nC: null\nD: ok' });
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(/^Input 'environment': has key 'A' with `~`.*quote the value/);
    expect(problems[0]).toContain(`A: '~'`);
    expect(problems[1]).toMatch(/has key 'B' with no value.*B: ''/);
    expect(problems[2]).toMatch(/has key 'C' with `null`/);
  });
});

describe('function configuration inputs', () => {
  it('reads every setting', () => {
    const fn = fnOf({
      'ephemeral-storage': '4096',
      'vpc-subnet-ids': 'subnet-0123abcd, subnet-4567ef01',
      'vpc-security-group-ids': 'sg-0123abcd',
      'vpc-ipv6-dual-stack': 'true',
      'dead-letter-target-arn': 'arn:aws:sqs:us-east-1:123456789012:iris-dlq',
      'kms-key-arn': 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab',
      tracing: 'Active',
      layers: `${layer('otel', 3)}\n{deps}\n${layer('extras', 1)}`,
      'file-systems':
        '- arn: arn:aws:elasticfilesystem:us-east-1:123456789012:access-point/fsap-0123456789abcdef0\n  local-mount-path: /mnt/models',
      'log-format': 'JSON',
      'log-group': '/ml/iris',
      'application-log-level': 'WARN',
      'system-log-level': 'INFO',
      'code-signing-config-arn':
        'arn:aws:lambda:us-east-1:123456789012:code-signing-config:csc-0123456789abcdef0',
      tags: '{team: ml, cost-center: 0042}',
    });
    expect(fn).toMatchObject({
      ephemeralStorage: 4096,
      vpc: {
        subnetIds: ['subnet-0123abcd', 'subnet-4567ef01'],
        securityGroupIds: ['sg-0123abcd'],
        ipv6DualStack: true,
      },
      deadLetterTargetArn: 'arn:aws:sqs:us-east-1:123456789012:iris-dlq',
      kmsKeyArn: 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab',
      tracing: 'Active',
      layers: { before: [layer('otel', 3)], after: [layer('extras', 1)] },
      fileSystems: [
        {
          arn: 'arn:aws:elasticfilesystem:us-east-1:123456789012:access-point/fsap-0123456789abcdef0',
          localMountPath: '/mnt/models',
        },
      ],
      logging: {
        format: 'JSON',
        logGroup: '/ml/iris',
        applicationLevel: 'WARN',
        systemLevel: 'INFO',
      },
      codeSigningConfigArn:
        'arn:aws:lambda:us-east-1:123456789012:code-signing-config:csc-0123456789abcdef0',
      tags: { team: 'ml', 'cost-center': '0042' },
    });
  });

  it('leaves everything unset when no input is given', () => {
    const fn = fnOf({});
    for (const key of ['ephemeralStorage', 'vpc', 'tracing', 'layers', 'logging', 'tags'] as const)
      expect(fn[key]).toBeUndefined();
  });

  it('extra layers without {deps} go ahead of the dependency layer', () => {
    expect(fnOf({ layers: `${layer('a', 1)}, ${layer('b', 2)}` }).layers).toEqual({
      before: [layer('a', 1), layer('b', 2)],
      after: [],
    });
  });

  it('reports every bad input at once, each named with the fix', () => {
    const problems = problemsOf({
      'ephemeral-storage': '256',
      'vpc-subnet-ids': 'subnet-zz',
      'dead-letter-target-arn': 'arn:aws:s3:::bucket',
      'kms-key-arn': 'alias/my-key',
      tracing: 'on',
      layers: `${layer('a', 1)}\n${layer('a', 2)}\nnot-an-arn\n${layer('b', 1)}\n${layer('c', 1)}\n${layer('d', 1)}`,
      'file-systems': '[{arn: x, local-mount-path: /data}]',
      'application-log-level': 'INFO',
      'log-format': 'Text',
      'code-signing-config-arn': 'csc-1',
      tags: '{aws:team: x, "has space": y, ok: ~}',
    });
    const named = (input: string) => problems.filter((p) => p.startsWith(`Input '${input}'`));
    expect(named('ephemeral-storage')[0]).toMatch(/512 to 10240/);
    expect(named('vpc-subnet-ids')[0]).toMatch(/subnet IDs such as subnet-0123abcd/);
    expect(named('vpc-security-group-ids')[0]).toMatch(/required with vpc-subnet-ids/);
    expect(named('dead-letter-target-arn')[0]).toMatch(/SQS queue or SNS topic ARN/);
    expect(named('kms-key-arn')[0]).toMatch(/KMS key ARN/);
    expect(named('tracing')[0]).toMatch(/Active, PassThrough/);
    expect(named('layers').join('\n')).toMatch(/layer version ARNs/);
    expect(named('layers').join('\n')).toMatch(/names layer a twice/);
    expect(named('layers').join('\n')).toMatch(/7 layers .* at most 5/);
    expect(named('file-systems').join('\n')).toMatch(/EFS access point ARN/);
    expect(named('file-systems').join('\n')).toMatch(/directly under \/mnt/);
    expect(named('application-log-level')[0]).toMatch(/needs log-format: JSON/);
    expect(named('code-signing-config-arn')[0]).toMatch(/code signing configuration ARN/);
    expect(named('tags').join('\n')).toMatch(/'aws:team', which is reserved/);
    expect(named('tags').join('\n')).toMatch(/'has space'.*no spaces/);
    expect(named('tags').join('\n')).toMatch(/'ok' with `~`.*quote/);
  });

  it('the managed-keys record is reserved as a tag key', () => {
    expect(problemsOf({ tags: '{"lambda-ml-deploy:managed-tags": x}' })[0]).toMatch(/reserved/);
  });
});
