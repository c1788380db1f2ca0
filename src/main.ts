import * as core from '@actions/core';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { destroyAwsClients, type AwsClients } from './aws/clients.js';
import { verifyIdentity } from './aws/identity.js';
import { errorMessage } from './errors.js';
import { readGithubContext } from './github-context.js';
import { runContext } from './pipelines/context.js';
import { runPipeline } from './pipelines/index.js';
import { JobReport } from './report/job-report.js';
import { reportingResult } from './report/outputs.js';
import { connect, coreLogger } from './runner.js';
import { readSettings } from './settings.js';

/** The main step: settings -> credentials -> clients -> the mode's pipeline. The one setFailed. */
export async function runMain(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const logger = coreLogger();
  const github = readGithubContext(env);
  const report = new JobReport('lambda-ml-deploy');
  // Each output is written as soon as it is known (reportingResult): the one setOutput.
  const result = reportingResult((name, value) => core.setOutput(name, value));
  let clients: AwsClients | undefined;
  let workDir: string | undefined;
  try {
    const settings = readSettings((name) => core.getInput(name), github, github.workspace);
    result.mode = settings.mode; // what `auto` resolved to, for later steps
    report.setHeadline(
      `Mode **${settings.mode}** for function \`${settings.functionName}\` in ${settings.auth.region}.`,
    );
    clients = await connect(settings.auth, env, logger);
    const identity = await verifyIdentity(clients.sts);
    logger.info(`AWS identity: ${identity.arn} (account ${identity.account}).`);
    report.section('AWS identity', [
      `Deploying as \`${identity.arn}\` (account ${identity.account}).`,
    ]);

    workDir = fs.mkdtempSync(path.join(github.tempDir, 'lambda-ml-deploy-'));
    const ctx = runContext(
      {
        settings,
        clients,
        logger,
        github,
        report,
        result,
        state: { save: (name, value) => core.saveState(name, value) },
        workDir,
      },
      env,
    );
    await runPipeline(ctx);
  } catch (error) {
    const message = errorMessage(error);
    // With debug logging on, the stack (mapped to src/*.ts by the bundle's source map).
    if (error instanceof Error && error.stack) core.debug(error.stack);
    report.section('Failed', ['```', message, '```']);
    core.setFailed(message);
  } finally {
    if (clients) destroyAwsClients(clients);
    if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
    await writeSummary(report);
  }
}

async function writeSummary(report: JobReport): Promise<void> {
  if (!process.env.GITHUB_STEP_SUMMARY) return;
  try {
    await core.summary.addRaw(report.toMarkdown(), true).write();
  } catch (error) {
    core.warning(`Could not write the job summary: ${errorMessage(error)}`);
  }
}
