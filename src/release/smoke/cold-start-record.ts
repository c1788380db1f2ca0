import {
  ListTagsCommand,
  TagResourceCommand,
  UntagResourceCommand,
  type LambdaClient,
} from '@aws-sdk/client-lambda';
import type { Sleep } from '../../retry.js';
import { callAws } from '../../aws/call.js';
import type { Baseline } from './cold-start.js';

/**
 * Each version's measured cold start lives in a tag on the function, keyed by version:
 * `lambda-ml-deploy:cold-start-ms:7 = 912.40`. A version's description cannot change after publish
 * (and the measurement comes after), versions cannot be tagged, and an alias description records
 * only the version it serves now, so a rollback would lose the figure. Tags keyed by version
 * survive rollbacks and previews; the action keeps at most RECORDS_KEPT of them.
 */
export const RECORD_PREFIX = 'lambda-ml-deploy:cold-start-ms:';
export const RECORDS_KEPT = 10;

export function recordKey(version: string): string {
  return `${RECORD_PREFIX}${version}`;
}

/** version -> cold-start ms, from the function's tags. Pure. */
export function parseRecords(tags: Record<string, string> | undefined): Map<string, number> {
  const records = new Map<string, number>();
  for (const [key, value] of Object.entries(tags ?? {})) {
    if (!key.startsWith(RECORD_PREFIX)) continue;
    const version = key.slice(RECORD_PREFIX.length);
    const ms = Number(value);
    if (/^\d+$/.test(version) && Number.isFinite(ms) && ms >= 0) records.set(version, ms);
  }
  return records;
}

/**
 * Record keys to remove after `added` is recorded: all but the newest RECORDS_KEPT versions, and
 * never `added` nor a version in `keep` (the served one). Pure.
 */
export function recordsToPrune(
  existing: Iterable<string>,
  added: string,
  keep: ReadonlySet<string>,
): string[] {
  const versions = [...new Set([...existing, added])].sort((a, b) => Number(b) - Number(a));
  const kept = new Set<string>([...versions.slice(0, RECORDS_KEPT), added, ...keep]);
  return versions.filter((v) => !kept.has(v)).map(recordKey);
}

export interface RecordStore {
  lambda: LambdaClient;
  /** The function's unqualified ARN (tags live on the function). */
  functionArn: string;
  sleep?: Sleep;
}

export async function readRecords(store: RecordStore): Promise<Map<string, number>> {
  const tags = await callAws(
    'ListTags',
    () => store.lambda.send(new ListTagsCommand({ Resource: store.functionArn })),
    { sleep: store.sleep },
  );
  return parseRecords(tags.Tags);
}

/** The served version's recorded cold start, if there is one. */
export function baselineFor(
  records: ReadonlyMap<string, number>,
  servedVersion: string | undefined,
): Baseline | undefined {
  if (!servedVersion) return undefined;
  const ms = records.get(servedVersion);
  return ms === undefined ? undefined : { version: servedVersion, coldStartMs: ms };
}

/** Records `version`'s cold start and prunes old records (keeping the served version's). */
export async function writeRecord(
  store: RecordStore,
  existing: ReadonlyMap<string, number>,
  version: string,
  ms: number,
  servedVersion: string | undefined,
): Promise<string[]> {
  await callAws(
    'TagResource',
    () =>
      store.lambda.send(
        new TagResourceCommand({
          Resource: store.functionArn,
          Tags: { [recordKey(version)]: ms.toFixed(2) },
        }),
      ),
    { sleep: store.sleep },
  );
  const prune = recordsToPrune(
    existing.keys(),
    version,
    new Set(servedVersion ? [servedVersion] : []),
  );
  if (prune.length > 0) {
    await callAws(
      'UntagResource',
      () =>
        store.lambda.send(
          new UntagResourceCommand({ Resource: store.functionArn, TagKeys: prune }),
        ),
      { sleep: store.sleep },
    );
  }
  return prune;
}
