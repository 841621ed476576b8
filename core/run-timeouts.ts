import { teacherCallTimeoutMs } from './teacher-timeouts';

/**
 * The longest a debateProblem child may run before it ends timed out, naming itself, instead of
 * waiting forever (a teacher that never answers, a queue no worker polls): every call of its rounds,
 * the summarizer, verifier and judge, each for the per-call timeout and once more for waiting behind
 * the worker's other calls, plus a margin for retries' backoff and the store.
 */
const MARGIN_MS = 10 * 60_000;

export function debateTimeoutMs(d: { agents: number; rounds: number; maxTokens: number }): number {
  const calls = d.agents * d.rounds + 3;
  return 2 * calls * teacherCallTimeoutMs(d.maxTokens) + MARGIN_MS;
}
