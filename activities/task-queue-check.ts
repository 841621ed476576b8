import { Context } from '@temporalio/activity';

/** temporal.api.enums.v1 values (the proto package is not a direct dependency). */
const TASK_QUEUE_KIND_NORMAL = 1;
const TASK_QUEUE_TYPE = { workflow: 1, activity: 2 } as const;

/**
 * How many workers poll a task queue (DescribeTaskQueue, through the worker's own client), so a run
 * aimed at a queue nobody serves says so instead of scheduling work that waits forever.
 */
export async function taskQueuePollers(input: { taskQueue: string; type?: 'activity' | 'workflow' }): Promise<{ pollers: number }> {
  const { client } = Context.current();
  const response = await client.workflowService.describeTaskQueue({
    namespace: client.options.namespace,
    taskQueue: { name: input.taskQueue, kind: TASK_QUEUE_KIND_NORMAL },
    taskQueueType: TASK_QUEUE_TYPE[input.type ?? 'activity'],
  });
  return { pollers: response.pollers?.length ?? 0 };
}
