import { ApplicationFailure, Context } from '@temporalio/activity';
import { ChatRequest, type ChatResult } from '../../core/chat';
import { callTeacher, type TeacherContext } from './teacher';

/**
 * The chatCompletion activity: one teacher call, its whole reply returned (the probe, and debates
 * recorded before replies went through the store). Debates now call the teacher from
 * debateRound/finishDebate, which return reply keys instead.
 */
export function chatCompletionActivity(ctx: Omit<TeacherContext, 'signal'>): (input: ChatRequest) => Promise<ChatResult> {
  return async function chatCompletion(input: ChatRequest): Promise<ChatResult> {
    const parsed = ChatRequest.safeParse(input);
    if (!parsed.success) {
      throw ApplicationFailure.nonRetryable(`invalid chat request: ${parsed.error.message}`, 'InvalidChatRequest');
    }
    return withHeartbeat(async (signal) => (await callTeacher(parsed.data, { ...ctx, ...(signal ? { signal } : {}) })).result);
  };
}

/**
 * Heartbeat while waiting on the teacher and through the cache write, so a killed worker's calls are
 * retried within the heartbeat timeout instead of the whole start-to-close timeout.
 */
export async function withHeartbeat<T>(fn: (signal: AbortSignal | undefined) => Promise<T>): Promise<T> {
  let context: Context | undefined;
  try {
    context = Context.current();
  } catch {
    context = undefined; // outside an activity (unit tests, the CLI)
  }
  const beat = setInterval(() => context?.heartbeat(), 5000);
  try {
    return await fn(context?.cancellationSignal);
  } finally {
    clearInterval(beat);
  }
}
