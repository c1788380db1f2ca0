import { isMap, isScalar, isSeq, parseDocument, type Node } from 'yaml';
import type { InputReader } from './settings-parse.js';

/** The inputs that put an HTTP endpoint in front of `alias` (deploy mode). */

export type UrlAuthType = 'AWS_IAM' | 'NONE';

/** Lambda's function URL Cors, as the API takes it. */
export interface UrlCors {
  AllowOrigins?: string[];
  AllowMethods?: string[];
  AllowHeaders?: string[];
  ExposeHeaders?: string[];
  MaxAge?: number;
  AllowCredentials?: boolean;
}

export interface EndpointSettings {
  /** `alias` gets a function URL. */
  url: boolean;
  urlAuth: UrlAuthType;
  /** Desired CORS; an empty object: none. */
  cors: UrlCors;
  /** execute-api ARN (or pattern) allowed to invoke `alias`. */
  apiGatewaySourceArn?: string;
  /** Run the smoke spec's `endpoint` cases through the URL after the shift. */
  checks: boolean;
}

/**
 * arn:aws:execute-api:REGION:ACCOUNT:API_ID/STAGE/METHOD/PATH. The account is always given (a
 * wildcard there would let any account's API invoke the function); `*` may stand for the region,
 * the API id and any part after it.
 */
export const EXECUTE_API_ARN =
  /^arn:aws[a-z-]*:execute-api:([a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}|\*):\d{12}:([a-z0-9]{10}|\*)(\/[A-Za-z0-9_.~*$\-{}+/]*)?$/;

const CORS_KEYS = {
  'allow-origins': 'AllowOrigins',
  'allow-methods': 'AllowMethods',
  'allow-headers': 'AllowHeaders',
  'expose-headers': 'ExposeHeaders',
  'max-age': 'MaxAge',
  'allow-credentials': 'AllowCredentials',
} as const;
const CORS_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', '*'];
const ORIGIN = /^(\*|https?:\/\/(\*\.)?[A-Za-z0-9.-]+(:\d{1,5})?)$/;
const HEADER = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,1024}$/;
const CORS_EXAMPLE =
  '{allow-origins: [https://app.example.com], allow-methods: [POST], max-age: 300}';

export function readEndpoint(r: InputReader): EndpointSettings {
  const settings: EndpointSettings = {
    url: r.bool('url', false),
    urlAuth: r.oneOf('url-auth', ['AWS_IAM', 'NONE'] as const, 'AWS_IAM'),
    cors: readCors(r),
    checks: r.bool('endpoint-checks', true),
  };
  const arn = r.pattern(
    'api-gateway-source-arn',
    r.optional('api-gateway-source-arn'),
    EXECUTE_API_ARN,
    'must be an execute-api ARN or pattern such as ' +
      'arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/*/POST/predict ' +
      '(the account is required; * may stand for the region, the API id, stage, method or path)',
  );
  if (arn) settings.apiGatewaySourceArn = arn;
  if (!settings.url) {
    // AWS_IAM is the input's default (the runner fills it in), so only NONE is a request.
    if (settings.urlAuth === 'NONE')
      r.fail('url-auth', 'applies to the function URL of alias, which needs url: true', 'NONE');
    if (Object.keys(settings.cors).length > 0)
      r.fail('url-cors', 'applies to the function URL of alias, which needs url: true');
  }
  return settings;
}

/** url-cors: a YAML or JSON map; every problem is reported at once, naming the key. */
function readCors(r: InputReader): UrlCors {
  const text = r.raw('url-cors');
  if (text === '') return {};
  const doc = parseDocument(text);
  if (doc.errors.length > 0 || !isMap(doc.contents)) {
    r.fail(
      'url-cors',
      `must be a YAML or JSON map such as \`${CORS_EXAMPLE}\`; it ${doc.errors.length > 0 ? `does not parse: ${doc.errors[0].message.split('\n')[0]}` : 'is not a map'}`,
    );
    return {};
  }
  const cors: UrlCors = {};
  for (const pair of doc.contents.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '';
    const field = CORS_KEYS[key as keyof typeof CORS_KEYS];
    if (!field) {
      r.fail('url-cors', `has key '${key}'; allowed keys: ${Object.keys(CORS_KEYS).join(', ')}`);
      continue;
    }
    const value = pair.value as Node | null;
    const problem = (detail: string) => r.fail('url-cors', `has ${key} ${detail}`);
    switch (field) {
      case 'MaxAge': {
        const n = isScalar(value) ? value.value : undefined;
        if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 86400)
          problem('that is not a whole number of seconds from 0 to 86400');
        else cors.MaxAge = n;
        break;
      }
      case 'AllowCredentials': {
        const b = isScalar(value) ? value.value : undefined;
        if (typeof b !== 'boolean') problem('that is not true or false');
        else cors.AllowCredentials = b;
        break;
      }
      case 'AllowOrigins':
      case 'AllowMethods':
      case 'AllowHeaders':
      case 'ExposeHeaders': {
        const list = textList(value);
        if (!list) {
          problem('that is not a list of texts (or one text, comma-separated)');
          break;
        }
        const check =
          field === 'AllowOrigins'
            ? (v: string) => ORIGIN.test(v)
            : field === 'AllowMethods'
              ? (v: string) => CORS_METHODS.includes(v.toUpperCase())
              : (v: string) => HEADER.test(v);
        const expected =
          field === 'AllowOrigins'
            ? "an origin such as https://app.example.com (scheme://host[:port], no path) or '*'"
            : field === 'AllowMethods'
              ? `an HTTP method (${CORS_METHODS.join(', ')})`
              : 'a header name';
        const bad = list.filter((v) => !check(v));
        if (bad.length > 0) problem(`value '${bad[0]}', which is not ${expected}`);
        else if (list.length > 100) problem('with more than 100 values (Lambda allows 100)');
        else cors[field] = field === 'AllowMethods' ? list.map((m) => m.toUpperCase()) : list;
      }
    }
  }
  if (cors.AllowCredentials && cors.AllowOrigins?.includes('*'))
    r.fail(
      'url-cors',
      "has allow-credentials: true with allow-origins '*', which browsers refuse; list the origins that may send credentials",
    );
  return cors;
}

function textList(value: Node | null): string[] | undefined {
  if (isScalar(value) && (typeof value.value === 'string' || typeof value.value === 'number'))
    return String(value.value)
      .split(',')
      .map((v) => v.trim())
      .filter(Boolean);
  if (isSeq(value)) {
    const items = value.items.map((item) =>
      isScalar(item) && typeof item.value === 'string' ? item.value.trim() : undefined,
    );
    if (items.every((item): item is string => item !== undefined && item !== '')) return items;
  }
  return undefined;
}
