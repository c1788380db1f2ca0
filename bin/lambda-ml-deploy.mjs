#!/usr/bin/env node
// The command line (`npx lambda-ml-deploy deploy ...`): the action's bundle, told it runs as a CLI.
globalThis.lambdaMlDeployCli = true;
await import('../dist/index.js');
