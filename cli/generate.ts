import { Command } from 'commander';
import { workflowUiUrl } from '../workers/temporal-env';
import { progressQuery } from '../workflows/signals';
import { connectClient } from './client';
import { runOptions, startOrAttach } from './start-run';
import { readRunConfig } from './config-file';
import { follow } from './follow';
import { progressReport } from './progress';

/** `agentark generate --config <file>`: start (or resume) a run's debates and follow its progress. */
export function registerGenerate(program: Command): void {
  runOptions(program
    .command('generate')
    .description('debate every problem of a dataset and build the distillation datasets (resumes a failed run with the same run id)')
    .requiredOption('--config <file>', 'run config JSON (see README: runId, dataset, teacher, debate, …)'))
    .action(async (opts: { config: string; runId?: string; detach?: boolean; taskQueue: string }) => {
      const config = readRunConfig(opts.config, opts.runId ? { runId: opts.runId } : {});
      const { client, close } = await connectClient();
      try {
        const { handle, attached } = await startOrAttach(client, config, opts.taskQueue);
        const workflowId = handle.workflowId;
        console.log(attached ? `run ${config.runId} is already running; following it` : `run ${config.runId} started`);
        console.log(`  workflow ${workflowId}\n  ${workflowUiUrl(workflowId)}`);
        if (opts.detach) return;
        const result = await follow(() => handle.query(progressQuery), () => handle.result());
        console.log(`\n${progressReport(result)}`);
        console.log(`datasets   ${Object.values(result.datasets.keys).join('\n           ')}`);
        if (result.failed > 0) process.exitCode = 1;
      } finally {
        await close();
      }
    });
}
