import { Command } from 'commander';
import type { Client } from '@temporalio/client';
import { evalWorkflowId, type EvaluationResult } from '../core/evaluation';
import { pipelineWorkflowId } from '../core/pipeline';
import { trainWorkflowId } from '../core/training';
import type { PipelineResult } from '../workflows/distill-pipeline';
import { evalStatusQuery, type EvalStatus } from '../workflows/evaluate-student';
import { generateWorkflowId } from '../workflows/generate-debates';
import { progressQuery } from '../workflows/signals';
import type { TrainStudentResult } from '../workflows/train-signals';
import { workflowUiUrl } from '../workers/temporal-env';
import { connectClient } from './client';
import { progressReport } from './progress';
import { stageLine } from './run';
import { liveStatus, trainingReport } from './train';

const evalLine = (e: EvalStatus): string => `evaluate ${e.stage}: ${e.pairs.map((p) => `${p.model}/${p.testSet} ${p.state}`).join(', ')}`;

/** `agentark status <runId>`: where a run stands — the pipeline, its debates, training and evaluation — from its workflows. */
export function registerStatus(program: Command): void {
  program
    .command('status')
    .description("show a run's progress (running) or its result (finished): debates and training jobs")
    .argument('<runId>', 'the run id of the config')
    .action(async (runId: string) => {
      const { client, close } = await connectClient();
      try {
        const pipeline = await show(client, pipelineWorkflowId(runId), async (h) => (await stageLine(client, h)) ?? '', async (h) => ((await h.result()) as PipelineResult).table, 'agentark resume');
        const debates = await show(client, generateWorkflowId(runId), async (h) => progressReport(await h.query(progressQuery)), async (h) => progressReport(await h.result()), 'agentark generate');
        const training = await show(client, trainWorkflowId(runId), async (h) => trainingReport(await liveStatus(h)), async (h) => trainingReport((await h.result()) as TrainStudentResult), 'agentark train');
        const evaluation = await show(client, evalWorkflowId(runId), async (h) => evalLine(await h.query(evalStatusQuery)), async (h) => `${((await h.result()) as EvaluationResult).scores.length} scores (agentark report ${runId})`, 'agentark resume');
        const shown = [pipeline, debates, training, evaluation];
        if (shown.every((x) => x === null)) throw new Error(`no run ${runId} (workflows ${pipelineWorkflowId(runId)}, ${generateWorkflowId(runId)}, ${trainWorkflowId(runId)}, ${evalWorkflowId(runId)}) on this Temporal namespace`);
        if (shown.includes(false)) process.exitCode = 1;
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
