import { GetCallerIdentityCommand, type STSClient } from '@aws-sdk/client-sts';
import { ActionError, errorMessage } from '../errors.js';
import type { Sleep } from '../retry.js';
import { callAws } from './call.js';

export interface CallerIdentity {
  account: string;
  arn: string;
}

/** Confirms the credentials work before anything is built, and says whose they are. */
export async function verifyIdentity(
  sts: Pick<STSClient, 'send'>,
  sleep?: Sleep,
): Promise<CallerIdentity> {
  try {
    const response = await callAws(
      'GetCallerIdentity',
      () => sts.send(new GetCallerIdentityCommand({})),
      { sleep },
    );
    return { account: response.Account ?? '', arn: response.Arn ?? '' };
  } catch (error) {
    throw new ActionError(
      `The AWS credentials do not work (sts:GetCallerIdentity failed: ${errorMessage(error)}). ` +
        'Set role-to-assume for GitHub OIDC, or provide credentials in the environment.',
    );
  }
}
