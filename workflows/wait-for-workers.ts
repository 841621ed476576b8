import { ApplicationFailure, proxyActivities, sleep } from '@temporalio/workflow';
import type * as mainActivities from '../activities/main';

const { taskQueuePollers } = proxyActivities<typeof mainActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 5 },
});

export interface WaitForWorkersInput {
  taskQueue: string;
  /** What the queue serves, for the messages ("llm", "gpu"). */
  role: string;
  timeoutMinutes: number;
  /** Shows the waiting state (a line) while no worker polls, and null once one does. */
  show: (waiting: string | null) => void;
}

/**
 * Before a run schedules work on a queue, wait until some worker polls it: re-checked every tenth of
 * the timeout (1 s to 30 s), then a non-retryable failure naming the queue, so a mistyped queue name
 * fails visibly instead of leaving every child waiting in silence.
 */
export async function waitForWorkers(input: WaitForWorkersInput): Promise<void> {
  const timeoutMs = input.timeoutMinutes * 60_000;
  const everyMs = Math.min(30_000, Math.max(1000, Math.round(timeoutMs / 10)));
  const since = Date.now();
  for (;;) {
    const { pollers } = await taskQueuePollers({ taskQueue: input.taskQueue });
    if (pollers > 0) return input.show(null);
    const waited = Date.now() - since;
    if (waited >= timeoutMs) {
      throw ApplicationFailure.nonRetryable(
        `no ${input.role} worker polls task queue '${input.taskQueue}' after ${input.timeoutMinutes} minute(s): `
          + `start one on that queue or fix the queue name in the run's config`,
        'NoWorkersOnQueue',
      );
    }
    input.show(`waiting for ${input.role} workers on queue ${input.taskQueue}`);
    await sleep(Math.min(everyMs, timeoutMs - waited));
  }
}
