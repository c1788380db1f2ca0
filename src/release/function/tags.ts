import {
  ListTagsCommand,
  TagResourceCommand,
  UntagResourceCommand,
  type LambdaClient,
} from '@aws-sdk/client-lambda';
import { ActionError, errorMessage } from '../../errors.js';
import { callAws } from '../../aws/call.js';
import type { Sleep } from '../../retry.js';
import { MANAGED_TAGS_KEY } from '../../settings-function.js';
import type { ChangeRow } from './change.js';

/**
 * Tags are merged onto the function: this action sets the keys of its `tags` input and removes
 * only keys it set before and the input no longer has. Which keys it manages is recorded on the
 * function itself, in the MANAGED_TAGS_KEY tag (space-separated), so the next run knows.
 */

export interface TagPlan {
  set: Record<string, string>;
  remove: string[];
  rows: ChangeRow[];
}

const managedKeys = (tags: Record<string, string>) =>
  (tags[MANAGED_TAGS_KEY] ?? '').split(' ').filter(Boolean);

/** The tags of a function created by this run: the input plus the managed-keys record. Pure. */
export function tagsForCreate(desired: Record<string, string>): Record<string, string> {
  const keys = Object.keys(desired).sort();
  return keys.length ? { ...desired, [MANAGED_TAGS_KEY]: keys.join(' ') } : {};
}

/** TagResource / UntagResource calls that bring `current` to the input `desired`. Pure. */
export function planTags(
  current: Record<string, string>,
  desired: Record<string, string>,
): TagPlan {
  const set: Record<string, string> = {};
  const rows: ChangeRow[] = [];
  for (const [key, value] of Object.entries(desired)) {
    if (current[key] === value) continue;
    set[key] = value;
    rows.push({
      field: 'tags',
      label: `tag ${key}`,
      before: current[key] ?? '(not set)',
      after: value,
    });
  }
  const remove = managedKeys(current).filter((key) => !(key in desired) && key in current);
  for (const key of remove)
    rows.push({ field: 'tags', label: `tag ${key}`, before: current[key], after: '(removed)' });
  const record = Object.keys(desired).sort().join(' ');
  if (record === '') {
    if (MANAGED_TAGS_KEY in current) remove.push(MANAGED_TAGS_KEY);
  } else if (current[MANAGED_TAGS_KEY] !== record) {
    set[MANAGED_TAGS_KEY] = record;
  }
  return { set, remove, rows };
}

export async function readTags(
  lambda: LambdaClient,
  functionArn: string,
  sleep?: Sleep,
): Promise<Record<string, string>> {
  const response = await callAws(
    'ListTags',
    () => lambda.send(new ListTagsCommand({ Resource: functionArn })),
    { sleep },
  ).catch((error: unknown) => {
    throw new ActionError(
      `Could not read the tags of ${functionArn} (the role needs lambda:ListTags): ${errorMessage(error)}`,
    );
  });
  return { ...(response.Tags ?? {}) };
}

export async function applyTags(
  lambda: LambdaClient,
  functionArn: string,
  plan: TagPlan,
  sleep?: Sleep,
): Promise<void> {
  const fail = (what: string) => (error: unknown) => {
    throw new ActionError(
      `Could not ${what} on ${functionArn} (the role needs lambda:TagResource and lambda:UntagResource): ${errorMessage(error)}`,
    );
  };
  if (Object.keys(plan.set).length > 0) {
    await callAws(
      'TagResource',
      () => lambda.send(new TagResourceCommand({ Resource: functionArn, Tags: plan.set })),
      { sleep },
    ).catch(fail('set tags'));
  }
  if (plan.remove.length > 0) {
    await callAws(
      'UntagResource',
      () => lambda.send(new UntagResourceCommand({ Resource: functionArn, TagKeys: plan.remove })),
      { sleep },
    ).catch(fail('remove tags'));
  }
}
