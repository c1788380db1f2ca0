#!/usr/bin/env node
// The command line (`npx lambda-ml-deploy deploy ...`): the action's bundle, told it runs as a CLI.
globalThis.lambdaMlDeployEntry = 'cli';
await import('../dist/index.js');
