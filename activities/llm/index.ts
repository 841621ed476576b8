// Activities of the llm worker (task queue agentark-llm): every call to the teacher.
import { debateRoundActivity } from '../debate/round';
import { finishDebateActivity } from '../debate/finish';
import { chatCompletionActivity } from './chat';
import { CallLimiter } from './limiter';

export interface LlmActivityOptions {
  /** Teacher calls in flight at once across all of this worker's activities. */
  concurrency: number;
  /** Called after each call the teacher answered (live progress of an in-process worker). */
  onCall?: () => void;
}

/** One set per worker: its activities share one limiter, so the worker's concurrency is in calls, not activities. */
export function createLlmActivities(opts: LlmActivityOptions) {
  const ctx = { limiter: new CallLimiter(opts.concurrency), ...(opts.onCall ? { onCall: opts.onCall } : {}) };
  return {
    chatCompletion: chatCompletionActivity(ctx),
    debateRound: debateRoundActivity(ctx),
    finishDebate: finishDebateActivity(ctx),
  };
}

export type LlmActivities = ReturnType<typeof createLlmActivities>;
