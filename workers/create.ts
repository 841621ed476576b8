import { NativeConnection, Worker, type ActivityExecuteInput, type ActivityInboundCallsInterceptor, type Next } from '@temporalio/worker';
import * as llmActivities from '../activities/llm';
import { teacherEndpoints } from '../activities/llm/endpoints';
import * as mainActivities from '../activities/main';
import { LLM_QUEUE, MAIN_QUEUE } from '../core/task-queues';
import { createGpuWorker, progressClient } from './gpu-worker';
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
export async function createLlmWorker(opts: {
  connection: NativeConnection; taskQueue?: string; namespace?: string; concurrency?: number;
  /** Called after each teacher call this worker completes (live progress of an in-process worker). */
  onCall?: () => void;
}): Promise<Worker> {
  const concurrency = opts.concurrency ?? Number(process.env.AGENTARK_LLM_CONCURRENCY ?? 8);
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new Error(`AGENTARK_LLM_CONCURRENCY must be a positive integer, got ${process.env.AGENTARK_LLM_CONCURRENCY}`);
  }
  teacherEndpoints(); // a bad AGENTARK_TEACHERS / allowlist stops the worker at start, with the variable named
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace ?? temporalEnv().namespace,
    taskQueue: opts.taskQueue ?? process.env.AGENTARK_LLM_QUEUE ?? LLM_QUEUE,
    activities: llmActivities,
    maxConcurrentActivityTaskExecutions: concurrency,
    ...(opts.onCall ? { interceptors: { activity: [() => ({ inbound: new CallCounter(opts.onCall!) })] } } : {}),
  });
}

class CallCounter implements ActivityInboundCallsInterceptor {
  constructor(private readonly onCall: () => void) {}

  async execute(input: ActivityExecuteInput, next: Next<ActivityInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    const result = await next(input);
    this.onCall();
    return result;
  }
}

export type WorkerKind = 'main' | 'llm' | 'gpu';

/** Run one worker in the foreground until SIGINT/SIGTERM (the Runtime's default shutdown signals). */
export async function runWorker(kind: WorkerKind, opts: { concurrency?: number } = {}): Promise<void> {
  if (kind === 'gpu') return runGpuWorker();
  const connection = await connect();
  try {
    const worker = kind === 'main' ? await createMainWorker({ connection }) : await createLlmWorker({ connection, ...opts });
    console.error(`agentark ${kind} worker polling task queue "${worker.options.taskQueue}"`);
    await worker.run();
  } finally {
    await connection.close();
  }
}

/**
 * The gpu worker in the foreground. On SIGTERM/SIGINT (a preempted node, a rolling deploy) every
 * running trainer gets SIGTERM, writes its checkpoint, the checkpoint is uploaded, the job fails
 * retryably (to resume elsewhere), and then the worker exits.
 */
async function runGpuWorker(): Promise<void> {
  const connection = await connect();
  const { client, close } = await progressClient();
  try {
    const { worker, trainer, plan } = await createGpuWorker({ connection, client });
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      process.once(signal, () => {
        console.error(`agentark gpu worker: ${signal}: stopping ${trainer.running()} trainer job(s) at their next checkpoint`);
        trainer.drain();
      });
    }
    const where = plan.mode === 'cpu' ? 'CPU (no GPU found)' : plan.mode === 'node' ? `${plan.gpus} GPUs, one torchrun job` : `${plan.slots} of ${plan.gpus} GPUs, one job each`;
    console.error(`agentark gpu worker polling task queue "${worker.options.taskQueue}": ${plan.slots} slot(s), ${where}`);
    await worker.run();
  } finally {
    await close();
    await connection.close();
  }
}
