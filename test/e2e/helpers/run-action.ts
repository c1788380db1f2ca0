/**
 * Runs the built action as the GitHub runner does (action.yml's `runs.main`, dist/index.js, then
 * its `runs.post`, dist/post.js), against the sandbox:
 * INPUT_* (action.yml defaults applied), GITHUB_OUTPUT / GITHUB_STATE / GITHUB_STEP_SUMMARY /
 * GITHUB_ENV files, the event payload, and for the post step STATE_* from the main step's state.
 *
 *   const run = await runAction({ inputs: { 'function-name': 'iris', ... } });
 *   run.exitCode, run.outputs.version, run.summary, run.log, run.state
 *   const post = await runPost(run);                       // the post step of the same job
 *   const step = startAction({ inputs, killOn: { pattern: /canary/ } });  // SIGTERM mid-way
 *   const killed = await step.done;                        // killed.signal === 'SIGTERM'
 *
 * The implementation is shared with scripts/demo-run.mjs (scripts/sandbox/action-runner.mjs).
 */
export {
  actionDefaults,
  actionEntries,
  describeEvent,
  inputVariable,
  maskLog,
  parseAnnotations,
  parseFileCommands,
  parseMasks,
  prepareJob,
  runAction,
  runActionWithPost,
  runPost,
  startAction,
  startStep,
} from '../../../scripts/sandbox/action-runner.mjs';
export type {
  ActionRun,
  Annotation,
  DescribedEvent,
  EventSpec,
  InputValue,
  JobOptions,
  PreparedJob,
  RunningStep,
  StepOptions,
} from '../../../scripts/sandbox/action-runner.mjs';
