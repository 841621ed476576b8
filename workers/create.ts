import { NativeConnection, Worker } from '@temporalio/worker';
import * as llmActivities from '../activities/llm';
import * as mainActivities from '../activities/main';
import { LLM_QUEUE, MAIN_QUEUE } from '../core/task-queues';
import { temporalEnv } from './temporal-env';

/** The worker processes, as factories so tests run exactly what production runs. */

export async function connect(): Promise<NativeConnection> {
  const env = temporalEnv();
  return NativeConnection.connect({
    address: env.address,
    ...(env.tls ? { tls: env.tls } : {}),
    ...(env.apiKey ? { apiKey: env.apiKey } : {}),
  });
}

/** Workflows + CPU activities. */
export async function createMainWorker(opts: { connection: NativeConnection; taskQueue?: string; namespace?: string }): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace ?? temporalEnv().namespace,
    taskQueue: opts.taskQueue ?? process.env.AGENTARK_TASK_QUEUE ?? MAIN_QUEUE,
    workflowsPath: require.resolve('../workflows'),
    activities: mainActivities,
    maxConcurrentActivityTaskExecutions: Number(process.env.AGENTARK_MAIN_CONCURRENCY ?? 32),
  });
}

/**
 * LLM calls only. Its concurrency is how many calls the teacher gets at once: high enough to keep a
 * vLLM server's batch full, low enough not to overload it (AGENTARK_LLM_CONCURRENCY, default 8).
 */
export async function createLlmWorker(opts: { connection: NativeConnection; taskQueue?: string; namespace?: string; concurrency?: number }): Promise<Worker> {
  const concurrency = opts.concurrency ?? Number(process.env.AGENTARK_LLM_CONCURRENCY ?? 8);
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new Error(`AGENTARK_LLM_CONCURRENCY must be a positive integer, got ${process.env.AGENTARK_LLM_CONCURRENCY}`);
  }
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace ?? temporalEnv().namespace,
    taskQueue: opts.taskQueue ?? process.env.AGENTARK_LLM_QUEUE ?? LLM_QUEUE,
    activities: llmActivities,
    maxConcurrentActivityTaskExecutions: concurrency,
  });
}

/** Run one worker in the foreground until SIGINT/SIGTERM (the Runtime's default shutdown signals). */
export async function runWorker(kind: 'main' | 'llm', opts: { concurrency?: number } = {}): Promise<void> {
  const connection = await connect();
  try {
    const worker = kind === 'main' ? await createMainWorker({ connection }) : await createLlmWorker({ connection, ...opts });
    console.error(`agentark ${kind} worker polling task queue "${worker.options.taskQueue}"`);
    await worker.run();
  } finally {
    await connection.close();
  }
}
