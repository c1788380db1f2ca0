import {
  DeleteFunctionCommand,
  ListAliasesCommand,
  ListVersionsByFunctionCommand,
  type AliasConfiguration,
  type FunctionConfiguration,
  type LambdaClient,
} from '@aws-sdk/client-lambda';
import { callAws, isNotFound } from '../../aws/call.js';
import { errorCode, errorMessage } from '../../errors.js';
import type { Logger } from '../../log.js';
import { isTransient, type Sleep } from '../../retry.js';
import { parseAliasDescription } from '../traffic/alias-plan.js';

export interface VersionInfo {
  version: string;
  codeSha256?: string;
  description?: string;
}

/**
 * The values of `variable` in the environment of every version of the function, $LATEST
 * included (the model manifests the versions pin).
 */
export async function pinnedValues(
  lambda: LambdaClient,
  functionName: string,
  variable: string,
  sleep?: Sleep,
): Promise<Set<string>> {
  const values = new Set<string>();
  for (const v of await allVersions(lambda, functionName, sleep)) {
    const value = v.Environment?.Variables?.[variable];
    if (value) values.add(value);
  }
  return values;
}

export async function listVersions(
  lambda: LambdaClient,
  functionName: string,
  sleep?: Sleep,
): Promise<VersionInfo[]> {
  return (await allVersions(lambda, functionName, sleep))
    .filter((v) => v.Version && v.Version !== '$LATEST')
    .map((v) => ({
      version: v.Version as string,
      codeSha256: v.CodeSha256,
      description: v.Description,
    }));
}

/** Every version's configuration, $LATEST included, page by page. */
async function allVersions(
  lambda: LambdaClient,
  functionName: string,
  sleep?: Sleep,
): Promise<FunctionConfiguration[]> {
  const versions: FunctionConfiguration[] = [];
  let marker: string | undefined;
  do {
    const page = await callAws(
      `ListVersionsByFunction ${functionName}`,
      () =>
        lambda.send(
          new ListVersionsByFunctionCommand({ FunctionName: functionName, Marker: marker }),
        ),
      { sleep },
    );
    versions.push(...(page.Versions ?? []));
    marker = page.NextMarker;
  } while (marker);
  return versions;
}

export async function listAliases(
  lambda: LambdaClient,
  functionName: string,
  sleep?: Sleep,
): Promise<AliasConfiguration[]> {
  const aliases: AliasConfiguration[] = [];
  let marker: string | undefined;
  do {
    const page = await callAws(
      `ListAliases ${functionName}`,
      () => lambda.send(new ListAliasesCommand({ FunctionName: functionName, Marker: marker })),
      { sleep },
    );
    aliases.push(...(page.Aliases ?? []));
    marker = page.NextMarker;
  } while (marker);
  return aliases;
}

/**
 * Why each version must stay, from every alias but `except`: it is served by an alias (weights
 * included), or an alias records it as its `previous` version (what `rollback-to: previous` uses).
 * Pure.
 */
export function protectedVersions(
  aliases: readonly AliasConfiguration[],
  except?: string,
): Map<string, string> {
  const reasons = new Map<string, string>();
  const protect = (version: string | undefined, why: string) => {
    if (version && !reasons.has(version)) reasons.set(version, why);
  };
  for (const alias of aliases) {
    if (alias.Name === except) continue;
    protect(alias.FunctionVersion, `served by alias ${alias.Name}`);
    for (const version of Object.keys(alias.RoutingConfig?.AdditionalVersionWeights ?? {}))
      protect(version, `weighted in alias ${alias.Name}`);
  }
  for (const alias of aliases) {
    if (alias.Name === except) continue;
    protect(
      parseAliasDescription(alias.Description)?.previous,
      `alias ${alias.Name} records it as its previous version (rollback target)`,
    );
  }
  return reasons;
}

/** The unprotected versions beyond the newest `keep`, oldest first. Pure. */
export function versionsToDelete(
  versions: readonly string[],
  referenced: ReadonlySet<string>,
  keep: number,
): string[] {
  const unaliased = versions
    .filter((v) => /^\d+$/.test(v) && !referenced.has(v))
    .sort((a, b) => Number(b) - Number(a));
  return unaliased.slice(keep).sort((a, b) => Number(a) - Number(b));
}

/** Lambda's answer when a version to delete is still referenced by an alias. */
const ALIASED = /aliases reference it/i;

export type DeleteOutcome = 'deleted' | 'gone' | 'in-use';

/**
 * Deletes one version. One already gone is `gone`; one an alias references (Lambda refuses with a
 * ResourceConflictException naming the aliases) is `in-use` at once: that is not transient, and
 * the version must stay. Throttling and "update in progress" conflicts are retried.
 */
export async function deleteVersion(
  lambda: LambdaClient,
  functionName: string,
  version: string,
  sleep?: Sleep,
): Promise<DeleteOutcome> {
  if (!/^\d+$/.test(version))
    throw new Error(`refusing to delete '${version}': not a version number`);
  const inUse = (error: unknown) =>
    errorCode(error) === 'ResourceConflictException' && ALIASED.test(errorMessage(error));
  try {
    await callAws(
      `DeleteFunction ${functionName}:${version}`,
      () =>
        lambda.send(new DeleteFunctionCommand({ FunctionName: functionName, Qualifier: version })),
      { sleep, isRetryable: (error) => !inUse(error) && isTransient(error) },
    );
    return 'deleted';
  } catch (error) {
    if (isNotFound(error)) return 'gone';
    if (inUse(error)) return 'in-use';
    throw error;
  }
}

/**
 * Deletes versions one by one; one an alias has started to reference since the plan was made
 * stays (logged), one already gone is fine. Returns the versions actually deleted.
 */
export async function deleteVersions(
  lambda: LambdaClient,
  functionName: string,
  versions: readonly string[],
  logger: Logger,
  why = '',
): Promise<string[]> {
  const deleted: string[] = [];
  for (const version of versions) {
    const outcome = await deleteVersion(lambda, functionName, version);
    if (outcome === 'in-use') {
      logger.info(`Keeping version ${version}: an alias references it now.`);
      continue;
    }
    if (outcome === 'deleted') deleted.push(version);
    logger.info(`Deleted version ${version}${outcome === 'gone' ? ' (already gone)' : ''}${why}`);
  }
  return deleted;
}
