import type { AuthSettings } from '../../../src/settings.js';

/** prod served version 3 before the run, which recorded 2 as previous. */
export const snapshot = {
  functionName: 'iris',
  alias: 'prod',
  exists: true,
  functionVersion: '3',
  weights: {},
  revisionId: 'rev-1',
  description: 'lambda-ml-deploy: previous=2',
};

/** prod mid-canary: 3 primary, the interrupted run's version 4 at 10%. */
export const midShift = {
  Name: 'prod',
  FunctionVersion: '3',
  RoutingConfig: { AdditionalVersionWeights: { '4': 0.1 } },
  RevisionId: 'rev-2',
  Description: 'lambda-ml-deploy: previous=3',
};

export const auth: AuthSettings = {
  region: 'eu-west-1',
  roleToAssume: 'arn:aws:iam::123456789012:role/deploy',
  audience: 'sts.amazonaws.com',
  roleSessionName: 'lambda-ml-deploy',
  roleDurationSeconds: 3600,
};
