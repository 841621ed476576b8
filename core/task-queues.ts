/**
 * Task queues. Workflows and CPU activities run on the main queue; every LLM call runs on the llm
 * queue (its own worker process sets the concurrency the teacher can take); trainer jobs run only
 * on workers of the GPU queue.
 */
export const MAIN_QUEUE = 'agentark';
export const LLM_QUEUE = 'agentark-llm';
export const GPU_QUEUE = 'agentark-h100';
