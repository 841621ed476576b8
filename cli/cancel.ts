import { Command } from 'commander';
import { evalWorkflowId } from '../core/evaluation';
import { pipelineWorkflowId } from '../core/pipeline';
import { trainWorkflowId } from '../core/training';
import { generateWorkflowId } from '../workflows/generate-debates';
import { connectClient } from './client';

/**
 * `agentark cancel <runId>`: requests cancellation of the run's running workflows (the pipeline,
 * its debates, training and evaluation). A training job then checkpoints, uploads the checkpoint and reports cancelled; starting
 * the same run id again continues from there.
 */
export function registerCancel(program: Command): void {
  program
    .command('cancel')
    .description("cancel a run's running workflows; training jobs checkpoint first (start the run again to continue)")
    .argument('<runId>', 'the run id')
    .option('--no-wait', 'return once cancellation is requested')
    .action(async (runId: string, opts: { wait: boolean }) => {
      const { client, close } = await connectClient();
      try {
        const handles = [];
        // The pipeline first: cancelling it cancels the child it waits on, which cancels its training jobs.
        for (const workflowId of [pipelineWorkflowId(runId), generateWorkflowId(runId), trainWorkflowId(runId), evalWorkflowId(runId)]) {
          const handle = client.workflow.getHandle(workflowId);
          const status = await handle.describe().then((d) => d.status.name).catch(() => null);
          if (status !== 'RUNNING') continue;
          await handle.cancel();
          console.log(`cancellation requested: ${workflowId}`);
          handles.push(handle);
        }
        if (handles.length === 0) throw new Error(`run ${runId} has no running workflow`);
        if (!opts.wait) return;
        for (const handle of handles) {
          await handle.result().catch(() => undefined);
          console.log(`${handle.workflowId}: ${(await handle.describe()).status.name}`);
        }
      } finally {
        await close();
      }
    });
}
