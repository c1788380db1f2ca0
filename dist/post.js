// The action's post step (action.yml `post:`): the bundle of the main step, told it is the
// post step, so that it never runs the main pipeline (written by scripts/build.mjs).
globalThis.lambdaMlDeployEntry = 'post';
await import('./index.js');
