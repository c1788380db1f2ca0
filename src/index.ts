import { runCli } from './cli.js';
import { runMain } from './main.js';
import { runPost } from './post.js';

// One bundle, three entries: action.yml runs this file as the `main` step and dist/post.js as the
// `post` step; bin/lambda-ml-deploy.mjs runs it as the command line. The two wrappers mark their
// entry before importing the bundle, so the post step knows what it is even when the main step
// was killed before it could save anything (it then has nothing to undo, and must not deploy).
const entry = (globalThis as { lambdaMlDeployEntry?: string }).lambdaMlDeployEntry;
if (entry === 'cli') {
  process.exitCode = await runCli(process.argv.slice(2));
} else if (entry === 'post') {
  await runPost();
} else {
  await runMain();
}
