import * as core from '@actions/core';
import { errorMessage } from './errors.js';

/**
 * The post step: the safety net that puts the alias back if the main step died mid-shift.
 * It only acts on state the main step saved while an alias was being moved.
 */
export async function runPost(): Promise<void> {
  try {
    const shift = core.getState('alias-shift');
    if (!shift) {
      core.info('Nothing to clean up: the main step left no traffic shift in progress.');
      return;
    }
    core.warning('The main step stopped in the middle of a traffic shift, but alias restore is not implemented yet.');
  } catch (error) {
    core.setFailed(`Post step: ${errorMessage(error)}`);
  }
}
