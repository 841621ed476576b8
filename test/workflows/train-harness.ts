import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { NativeConnection, Worker } from '@temporalio/worker';
import { connectClient } from '../../cli/client';
import { connect, createMainWorker } from '../../workers/create';
import { createGpuWorker, type GpuWorker } from '../../workers/gpu-worker';
import { trainWorkflowId, type TrainStudentInput } from '../../core/training';
import type { trainStudent } from '../../workflows/train-student';
import { repoRoot } from '../../infra/dev/paths';

/** A gpu worker in this process, with a fresh cache and work folder of its own. */
export interface TestGpuWorker extends GpuWorker {
  stop(): Promise<void>;
}

/** A main worker and gpu workers (on CPU) of this test alone, on private task queues. */
export interface TrainHarness {
  client: Client;
  taskQueue: string;
  gpuQueue: string;
  startGpu(opts?: { python?: string; queue?: string }): Promise<TestGpuWorker>;
  start(input: TrainStudentInput): ReturnType<Client['workflow']['start']>;
  train(input: TrainStudentInput): Promise<Awaited<ReturnType<typeof trainStudent>>>;
  close(): Promise<void>;
}

export async function startTrainHarness(): Promise<TrainHarness> {
  const suffix = randomUUID().slice(0, 8);
  const taskQueue = `test-train-main-${suffix}`;
  const gpuQueue = `test-gpu-${suffix}`;
  const connection: NativeConnection = await connect();
  const { client, close } = await connectClient();
  const main: Worker = await createMainWorker({ connection, taskQueue });
  const mainRun = main.run();
  const gpus = new Set<TestGpuWorker>();
  return {
    client,
    taskQueue,
    gpuQueue,
    async startGpu(opts = {}) {
      const dir = mkdtempSync(path.join(tmpdir(), 'agentark-gpu-'));
      const created = await createGpuWorker({ connection, client, taskQueue: opts.queue ?? gpuQueue, cacheDir: path.join(dir, 'cache'), workDir: path.join(dir, 'work'), ...(opts.python ? { python: opts.python } : {}) });
      const run = created.worker.run();
      const gpu: TestGpuWorker = {
        ...created,
        stop: async () => {
          gpus.delete(gpu);
          created.trainer.drain();
          created.worker.shutdown();
          await run.catch(() => undefined);
        },
      };
      gpus.add(gpu);
      return gpu;
    },
    start: (input) => client.workflow.start('trainStudent', { taskQueue, workflowId: trainWorkflowId(input.runId), args: [input] }),
    train: (input) => client.workflow.execute<typeof trainStudent>('trainStudent', { taskQueue, workflowId: trainWorkflowId(input.runId), args: [input] }),
    async close() {
      await Promise.all([...gpus].map((g) => g.stop()));
      main.shutdown();
      await mainRun.catch(() => undefined);
      await close();
      await connection.close();
    },
  };
}

/** `agentark worker gpu` as its own process (so it can be SIGKILLed), with its own cache and work folders. */
export function spawnGpuWorker(queue: string, dir: string, env: NodeJS.ProcessEnv = {}): ChildProcess {
  const child = spawn(path.join(repoRoot, 'bin/agentark'), ['worker', 'gpu'], {
    cwd: repoRoot,
    env: { ...process.env, AGENTARK_GPU_QUEUE: queue, AGENTARK_GPU_CACHE: path.join(dir, 'cache'), AGENTARK_GPU_WORK: path.join(dir, 'work'), AGENTARK_TRAIN_NOTIFY_S: '1', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    if (process.env.AGENTARK_TEST_VERBOSE) process.stderr.write(chunk);
  });
  return child;
}

/** Polls until `check` returns a value (not null/undefined/false), failing after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | null | undefined | false>, timeoutMs = 120_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const value = await check();
    if (value !== null && value !== undefined && value !== false) return value;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
