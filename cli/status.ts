import { Command } from 'commander';
import { generateWorkflowId } from '../workflows/generate-debates';
import { progressQuery } from '../workflows/signals';
import { workflowUiUrl } from '../workers/temporal-env';
import { connectClient } from './client';
import { progressReport } from './progress';

/** `agentark status <runId>`: where a run stands, from its workflow. */
export function registerStatus(program: Command): void {
  program
    .command('status')
    .description("show a run's progress (running) or its result (finished)")
    .argument('<runId>', 'the run id of the config')
    .action(async (runId: string) => {
      const { client, close } = await connectClient();
      try {
        const workflowId = generateWorkflowId(runId);
        const handle = client.workflow.getHandle(workflowId);
        let description;
        try {
          description = await handle.describe();
        } catch {
          throw new Error(`no run ${runId} (workflow ${workflowId}) on this Temporal namespace`);
        }
        console.log(`workflow   ${workflowId}: ${description.status.name}\n           ${workflowUiUrl(workflowId)}`);
        if (description.status.name === 'RUNNING') {
          console.log(progressReport(await handle.query(progressQuery)));
        } else if (description.status.name === 'COMPLETED') {
          console.log(progressReport(await handle.result()));
        } else {
          console.log('Start it again with `agentark generate --config <file>` and the same run id to resume.');
          process.exitCode = 1;
        }
      } finally {
        await close();
      }
    });
}
