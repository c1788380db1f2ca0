import * as core from '@actions/core';
import { runMain } from './main.js';
import { runPost } from './post.js';

// action.yml runs this file as both `main` and `post`; the main step leaves a flag for the post.
if (core.getState('isPost') === 'true') {
  await runPost();
} else {
  core.saveState('isPost', 'true');
  await runMain();
}
