import { NativeConnection, Worker } from '@temporalio/worker';
import { createLlmActivities } from '../activities/llm';
import { teacherActivityTimeoutMs } from '../core/teacher-timeouts';
import { teacherEndpoints } from '../activities/llm/endpoints';
import * as mainActivities from '../activities/main';
import { LLM_QUEUE, MAIN_QUEUE } from '../core/task-queues';
import { createGpuWorker, progressClient } from './gpu-worker';
import { dataConverter } from './codec';
import { deploymentOption, type DeploymentSetting } from './deployment';
import { startTelemetry } from './telemetry';
import { temporalEnv } from './temporal-env';

/** The worker processes, as factories so tests run exactly what production runs. */

export async function connect(): Promise<NativeConnection> {
  return NativeConnection.connect(temporalEnv().connection);
}

/** Workflows + CPU activities. */
export async function createMainWorker(opts: { connection: NativeConnection; taskQueue?: string; namespace?: string; deployment?: DeploymentSetting }): Promise<Worker> {
  const deployment = await deploymentOption(opts.deployment);
  return Worker.create({
    ...deployment,
    connection: opts.connection,
    namespace: opts.namespace ?? temporalEnv().namespace,
    taskQueue: opts.taskQueue ?? process.env.AGENTARK_TASK_QUEUE ?? MAIN_QUEUE,
    // A versioned worker's bundle declares distillPipeline's versioning behavior (../workflows/versioned.ts).
    workflowsPath: require.resolve(deployment.workerDeploymentOptions ? '../workflows/versioned' : '../workflows'),
    dataConverter: dataConverter(),
    activities: mainActivities,
    maxConcurrentActivityTaskExecutions: Number(process.env.AGENTARK_MAIN_CONCURRENCY ?? 32),
  });
}

/**
 * LLM calls only. Its concurrency is how many teacher calls are in flight at once across all its
 * activities (a debate round makes n): high enough to keep a vLLM server's batch full, no higher
 * than the server's max-num-seqs (AGENTARK_LLM_CONCURRENCY, default 8). On SIGTERM it stops taking
 * tasks and lets the calls in flight finish (AGENTARK_LLM_SHUTDOWN_GRACE_MS, by default the longest
 * a round of 4096-token replies may take), so a rolling restart pays for no call twice.
 */
export async function createLlmWorker(opts: {
  connection: NativeConnection; taskQueue?: string; namespace?: string; concurrency?: number; deployment?: DeploymentSetting;
  /** Called after each call the teacher answered (live progress of an in-process worker). */
  onCall?: () => void;
}): Promise<Worker> {
  const concurrency = opts.concurrency ?? Number(process.env.AGENTARK_LLM_CONCURRENCY ?? 8);
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new Error(`AGENTARK_LLM_CONCURRENCY must be a positive integer, got ${process.env.AGENTARK_LLM_CONCURRENCY}`);
  }
  const graceMs = Number(process.env.AGENTARK_LLM_SHUTDOWN_GRACE_MS ?? DEFAULT_LLM_SHUTDOWN_GRACE_MS);
  if (!Number.isFinite(graceMs) || graceMs < 0) throw new Error(`AGENTARK_LLM_SHUTDOWN_GRACE_MS must be a number of milliseconds, got ${process.env.AGENTARK_LLM_SHUTDOWN_GRACE_MS}`);
  teacherEndpoints(); // a bad AGENTARK_TEACHERS / allowlist stops the worker at start, with the variable named
  return Worker.create({
    ...(await deploymentOption(opts.deployment)),
    connection: opts.connection,
    namespace: opts.namespace ?? temporalEnv().namespace,
    taskQueue: opts.taskQueue ?? process.env.AGENTARK_LLM_QUEUE ?? LLM_QUEUE,
    dataConverter: dataConverter(),
    activities: createLlmActivities({ concurrency, ...(opts.onCall ? { onCall: opts.onCall } : {}) }),
    // More activities than call slots: an activity holds its slot until its last call ends, so with
    // only as many activities as calls the limiter would run dry at the end of every round.
    maxConcurrentActivityTaskExecutions: ACTIVITIES_PER_CALL_SLOT * concurrency,
    shutdownGraceTime: graceMs,
  });
}

/** finishDebate makes its calls one after another: twice as many activities keep the call slots busy. */
const ACTIVITIES_PER_CALL_SLOT = 2;

/** Long enough for a debate round of 4096-token replies; Kubernetes' terminationGracePeriodSeconds must exceed it. */
export const DEFAULT_LLM_SHUTDOWN_GRACE_MS = teacherActivityTimeoutMs(4096, 1);

export type WorkerKind = 'main' | 'llm' | 'gpu';

/**
 * Run one worker in the foreground until SIGINT/SIGTERM (the Runtime's default shutdown signals), with
 * its metrics endpoints when their ports are set (./telemetry.ts).
 */
export async function runWorker(kind: WorkerKind, opts: { concurrency?: number } = {}): Promise<void> {
  const telemetry = await startTelemetry();
  try {
    await (kind === 'gpu' ? runGpuWorker() : runCpuWorker(kind, opts));
  } finally {
    await telemetry.close();
  }
}

async function runCpuWorker(kind: 'main' | 'llm', opts: { concurrency?: number }): Promise<void> {
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
