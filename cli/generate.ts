import { Command } from 'commander';
import { SingleBar } from 'cli-progress';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { MAIN_QUEUE } from '../core/task-queues';
import { RUN_ID } from '../core/search-attributes';
import { workflowUiUrl } from '../workers/temporal-env';
import { generateWorkflowId, type generateDebates } from '../workflows/generate-debates';
import { progressQuery, type GenerateProgress } from '../workflows/signals';
import { connectClient } from './client';
import { readRunConfig } from './config-file';
import { progressLine, progressReport } from './progress';

/** `agentark generate --config <file>`: start (or resume) a run's debates and follow its progress. */
export function registerGenerate(program: Command): void {
  program
    .command('generate')
    .description('debate every problem of a dataset and build the distillation datasets (resumes a failed run with the same run id)')
    .requiredOption('--config <file>', 'run config JSON (see README: runId, dataset, teacher, debate, …)')
    .option('--run-id <id>', 'override the config\'s runId')
    .option('--detach', 'start and return at once instead of showing progress')
    .option('--task-queue <queue>', 'task queue of the main workers', MAIN_QUEUE)
    .action(async (opts: { config: string; runId?: string; detach?: boolean; taskQueue: string }) => {
      const config = readRunConfig(opts.config, opts.runId ? { runId: opts.runId } : {});
      const { client, close } = await connectClient();
      try {
        const workflowId = generateWorkflowId(config.runId);
        let handle;
        try {
          handle = await client.workflow.start<typeof generateDebates>('generateDebates', {
            taskQueue: opts.taskQueue,
            workflowId,
            args: [config],
            typedSearchAttributes: [{ key: RUN_ID, value: config.runId }],
          });
          console.log(`run ${config.runId} started`);
        } catch (err) {
          if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
          handle = client.workflow.getHandle<typeof generateDebates>(workflowId);
          console.log(`run ${config.runId} is already running; following it`);
        }
        console.log(`  workflow ${workflowId}\n  ${workflowUiUrl(workflowId)}`);
        if (opts.detach) return;
        const result = await follow(
          () => handle.query(progressQuery),
          () => handle.result(),
        );
        console.log(`\n${progressReport(result)}`);
        console.log(`datasets   ${Object.values(result.datasets.keys).join('\n           ')}`);
        if (result.failed > 0) process.exitCode = 1;
      } finally {
        await close();
      }
    });
}

/** A live progress bar from the progress query until the workflow's result arrives. */
async function follow<R extends GenerateProgress>(query: () => Promise<GenerateProgress>, result: () => Promise<R>): Promise<R> {
  const interactive = process.stderr.isTTY;
  const bar = new SingleBar({ format: '{bar} {percentage}% | {line}', hideCursor: true, noTTYOutput: true, notTTYSchedule: 10_000 });
  let started = false;
  let last = '';
  const poll = setInterval(() => {
    query()
      .then((p) => {
        const value = p.done + p.alreadyDone + p.failed;
        if (!started) {
          bar.start(Math.max(p.total, 1), value, { line: progressLine(p) });
          started = true;
        } else bar.update(value, { line: progressLine(p) });
        if (!interactive && progressLine(p) !== last) last = progressLine(p);
      })
      .catch(() => undefined); // the workflow may be between runs (continue-as-new) or not started yet
  }, 1000);
  try {
    return await result();
  } finally {
    clearInterval(poll);
    if (started) bar.stop();
  }
}
