import * as core from '@actions/core';
import { runCli } from './cli.js';
import { runMain } from './main.js';
import { runPost } from './post.js';

// One bundle, two entries: bin/lambda-ml-deploy.mjs marks a command-line run before importing
// it; otherwise action.yml runs this file as both `main` and `post`, and the main step leaves a
// flag for the post.
const cliRun = (globalThis as { lambdaMlDeployCli?: boolean }).lambdaMlDeployCli === true;
if (cliRun) {
  process.exitCode = await runCli(process.argv.slice(2));
} else if (core.getState('isPost') === 'true') {
  await runPost();
} else {
  core.saveState('isPost', 'true');
  await runMain();
}
