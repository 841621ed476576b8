import { Command } from 'commander';
import type { Client } from '@temporalio/client';
import { trainWorkflowId } from '../core/training';
import { generateWorkflowId } from '../workflows/generate-debates';
import { progressQuery } from '../workflows/signals';
import type { TrainStudentResult } from '../workflows/train-signals';
import { workflowUiUrl } from '../workers/temporal-env';
import { connectClient } from './client';
import { progressReport } from './progress';
import { liveStatus, trainingReport } from './train';

/** `agentark status <runId>`: where a run stands — its debates and its training — from its workflows. */
export function registerStatus(program: Command): void {
  program
    .command('status')
    .description("show a run's progress (running) or its result (finished): debates and training jobs")
    .argument('<runId>', 'the run id of the config')
    .action(async (runId: string) => {
      const { client, close } = await connectClient();
      try {
        const debates = await show(client, generateWorkflowId(runId), async (h) => progressReport(await h.query(progressQuery)), async (h) => progressReport(await h.result()), 'agentark generate');
        const training = await show(client, trainWorkflowId(runId), async (h) => trainingReport(await liveStatus(h)), async (h) => trainingReport((await h.result()) as TrainStudentResult), 'agentark train');
        if (debates === null && training === null) throw new Error(`no run ${runId} (workflows ${generateWorkflowId(runId)}, ${trainWorkflowId(runId)}) on this Temporal namespace`);
        if (debates === false || training === false) process.exitCode = 1;
      } finally {
        await close();
      }
    });
}

type Handle = ReturnType<Client['workflow']['getHandle']>;

/** Prints one workflow's state; null when it does not exist, false when it did not complete. */
async function show(client: Client, workflowId: string, running: (h: Handle) => Promise<string>, completed: (h: Handle) => Promise<string>, command: string): Promise<boolean | null> {
  const handle = client.workflow.getHandle(workflowId);
  let description;
  try {
    description = await handle.describe();
  } catch {
    return null;
  }
  const status = description.status.name;
  console.log(`workflow   ${workflowId}: ${status}\n           ${workflowUiUrl(workflowId)}`);
  if (status === 'RUNNING') console.log(await running(handle));
  else if (status === 'COMPLETED') console.log(await completed(handle));
  else {
    console.log(`Start it again with \`${command} --config <file>\` and the same run id to resume.`);
    return false;
  }
  return true;
}
