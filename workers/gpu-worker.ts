import * as path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createTrainerActivities, type TrainerActivities } from '../activities/trainer/train-job';
import { LocalCache } from '../activities/trainer/local-cache';
import { planSlots, SlotPool, trainerPython, type SlotPlan } from '../activities/trainer/gpu-slots';
import { GPU_QUEUE } from '../core/task-queues';
import { TRAIN_PROGRESS_SIGNAL } from '../core/training';
import { stateDir } from '../infra/dev/paths';
import { dataConverter } from './codec';
import { deploymentOption } from './deployment';
import { temporalEnv } from './temporal-env';

/**
 * The gpu worker: polls only the GPU task queue and registers only the trainer activities (trainJob, generateJob), so a
 * trainer job can never run anywhere else; no workflows. One job per slot (see gpu-slots.ts).
 *
 * Environment: AGENTARK_GPU_QUEUE (default agentark-h100), AGENTARK_GPU_MODE (gpu | node),
 * AGENTARK_GPU_SLOTS, AGENTARK_GPU_CACHE (staged inputs, default .state/gpu/cache), AGENTARK_GPU_WORK
 * (running jobs' folders, default .state/gpu/work), AGENTARK_TRAINER_PYTHON, AGENTARK_GPU_STOP_GRACE_S
 * (how long a stopped trainer may take to checkpoint, default 600), AGENTARK_TRAIN_NOTIFY_S (how often a
 * job tells its workflow its progress between state changes and checkpoints, default 300: each
 * report costs the workflow's history ~4 events; live progress is in the activity's heartbeat details).
 */

export interface GpuWorker {
  worker: Worker;
  trainer: TrainerActivities;
  plan: SlotPlan;
}

const seconds = (name: string, fallback: number): number => {
  const raw = process.env[name];
  const value = raw === undefined ? fallback : Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a number of seconds, got ${JSON.stringify(raw)}`);
  return value;
};

export interface GpuWorkerOptions {
  connection: NativeConnection;
  /** For the jobs' progress signals to their workflows. */
  client?: Client;
  taskQueue?: string;
  namespace?: string;
  /** Over the environment's settings (tests: a fresh cache, as if on another machine). */
  cacheDir?: string;
  workDir?: string;
  python?: string;
}

export async function createGpuWorker(opts: GpuWorkerOptions): Promise<GpuWorker> {
  const plan = planSlots();
  const gpuRoot = path.join(stateDir, 'gpu');
  const stopGraceS = seconds('AGENTARK_GPU_STOP_GRACE_S', 600);
  const client = opts.client;
  const trainer = createTrainerActivities({
    slots: new SlotPool(plan, opts.python ?? trainerPython()),
    cache: new LocalCache(opts.cacheDir ?? process.env.AGENTARK_GPU_CACHE ?? path.join(gpuRoot, 'cache')),
    workRoot: opts.workDir ?? process.env.AGENTARK_GPU_WORK ?? path.join(gpuRoot, 'work'),
    notify: client ? async (workflowId, progress) => client.workflow.getHandle(workflowId).signal(TRAIN_PROGRESS_SIGNAL, progress) : undefined,
    notifyEveryMs: seconds('AGENTARK_TRAIN_NOTIFY_S', 300) * 1000,
    stopGraceMs: stopGraceS * 1000,
    keepCheckpoints: 2,
  });
  const worker = await Worker.create({
    ...(await deploymentOption()),
    connection: opts.connection,
    namespace: opts.namespace ?? temporalEnv().namespace,
    taskQueue: opts.taskQueue ?? process.env.AGENTARK_GPU_QUEUE ?? GPU_QUEUE,
    dataConverter: dataConverter(),
    activities: trainer.activities,
    maxConcurrentActivityTaskExecutions: plan.slots,
    // A trainer stopped by SIGTERM gets this long to checkpoint and upload before the worker gives up on it.
    shutdownGraceTime: `${stopGraceS + 60} seconds`,
    // Cancellation reaches an activity only with a heartbeat's reply: keep that delay short.
    maxHeartbeatThrottleInterval: '5 seconds',
    defaultHeartbeatThrottleInterval: '5 seconds',
  });
  return { worker, trainer, plan };
}

/** A client for the job's progress signals, from the standard environment. */
export async function progressClient(): Promise<{ client: Client; close: () => Promise<void> }> {
  const env = temporalEnv();
  const converter = dataConverter();
  const connection = await Connection.connect(env.connection);
  return { client: new Client({ connection, namespace: env.namespace, dataConverter: converter }), close: () => connection.close() };
}
