import { WorkflowExecutionAlreadyStartedError, type Client, type WorkflowHandle } from '@temporalio/client';
import type { Command } from 'commander';
import { MAIN_QUEUE } from '../core/task-queues';
import type { RunConfig } from '../core/config';
import { RUN_ID } from '../core/search-attributes';
import { generateWorkflowId, type generateDebates } from '../workflows/generate-debates';

/**
 * Start a run's generateDebates, or attach to it when it is already running. Starting a finished or
 * failed run again is how it resumes: its workflow skips every problem already stored.
 */
export async function startOrAttach(client: Client, config: RunConfig, taskQueue: string): Promise<{ handle: WorkflowHandle<typeof generateDebates>; attached: boolean }> {
  const workflowId = generateWorkflowId(config.runId);
  try {
    const handle = await client.workflow.start<typeof generateDebates>('generateDebates', {
      taskQueue,
      workflowId,
      args: [config],
      typedSearchAttributes: [{ key: RUN_ID, value: config.runId }],
    });
    return { handle, attached: false };
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    return { handle: client.workflow.getHandle<typeof generateDebates>(workflowId), attached: true };
  }
}

/** The options every command that starts a workflow and follows it takes. */
export function startOptions(command: Command): Command {
  return command
    .option('--detach', 'start and return at once instead of showing progress')
    .option('--task-queue <queue>', 'task queue of the main workers', MAIN_QUEUE);
}

/** The options every command that starts a run from a config file takes. */
export function runOptions(command: Command): Command {
  return startOptions(command.option('--run-id <id>', "override the config's runId"));
}
