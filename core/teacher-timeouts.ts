/**
 * Time bounds of teacher calls, derived from maxTokens so a long reasoning reply is never cut off by
 * a timeout and paid for twice. Shared by the workflows (activity timeouts) and the llm worker (HTTP).
 * The slowest decode a loaded inference server gives one sequence is taken as ~16 tokens/s.
 */

const BASE_MS = 60_000;
const MS_PER_TOKEN = 60;

/** The HTTP timeout of one call (the llm worker's AGENTARK_LLM_TIMEOUT_MS overrides it). */
export const teacherCallTimeoutMs = (maxTokens: number): number => Math.max(120_000, BASE_MS + maxTokens * MS_PER_TOKEN);

/**
 * Start-to-close of an activity making `calls` teacher calls: each may wait behind the worker's
 * other calls for a slot, then run its own course. Heartbeats, not this bound, catch a dead worker.
 */
export const teacherActivityTimeoutMs = (maxTokens: number, calls: number): number => (calls + 1) * teacherCallTimeoutMs(maxTokens);
