import { Command } from 'commander';
import { MultiBar, type SingleBar } from 'cli-progress';
import { WorkflowExecutionAlreadyStartedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { RUN_ID } from '../core/search-attributes';
import { TrainJobProgress, TrainStudentInput, trainWorkflowId, type TrainStudentConfig } from '../core/training';
import { workflowUiUrl } from '../workers/temporal-env';
import { applyProgress, trainStatusQuery, type TrainJobStatus, type TrainStatus } from '../workflows/train-signals';
import type { trainStudent } from '../workflows/train-student';
import { connectClient } from './client';
import { readConfigFile } from './config-file';
import { runOptions } from './start-run';

/** `agentark train --config <file>`: train the student on a run's datasets (resumes a run with the same id). */
export function registerTrain(program: Command): void {
  runOptions(program
    .command('train')
    .description('train the student with RSFT, DA, PAD, RSFT+DA, PAD+DA on the GPU queue (the same run id again redoes only unfinished jobs)')
    .requiredOption('--config <file>', 'trainStudent config JSON (see README "Training the student")'))
    .action(async (opts: { config: string; runId?: string; detach?: boolean; taskQueue: string }) => {
      const config = readConfigFile(opts.config, TrainStudentInput, opts.runId ? { runId: opts.runId } : {});
      const { client, close } = await connectClient();
      try {
        const { handle, attached } = await startOrAttachTraining(client, config, opts.taskQueue);
        console.log(attached ? `training ${config.runId} is already running; following it` : `training ${config.runId} started`);
        console.log(`  workflow ${handle.workflowId}\n  ${workflowUiUrl(handle.workflowId)}`);
        if (opts.detach) return;
        const result = await followTraining(() => liveStatus(handle), () => handle.result());
        console.log(`\n${trainingReport(result)}`);
      } finally {
        await close();
      }
    });
}

export async function startOrAttachTraining(client: Client, config: TrainStudentConfig, taskQueue: string): Promise<{ handle: WorkflowHandle<typeof trainStudent>; attached: boolean }> {
  const workflowId = trainWorkflowId(config.runId);
  try {
    const handle = await client.workflow.start<typeof trainStudent>('trainStudent', {
      taskQueue, workflowId, args: [config], typedSearchAttributes: [{ key: RUN_ID, value: config.runId }],
    });
    return { handle, attached: false };
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    return { handle: client.workflow.getHandle<typeof trainStudent>(workflowId), attached: true };
  }
}

/**
 * The workflow's status with each running job's newest heartbeat (the workflow hears from a job only
 * every few minutes, to keep its history short; the heartbeat details are current).
 */
export async function liveStatus(handle: WorkflowHandle): Promise<TrainStatus> {
  const [status, description] = await Promise.all([handle.query(trainStatusQuery), handle.describe()]);
  for (const activity of description.raw.pendingActivities ?? []) {
    const payload = activity.heartbeatDetails?.payloads?.[0]?.data;
    if (activity.activityType?.name !== 'trainJob' || !payload) continue;
    const beat = TrainJobProgress.safeParse(JSON.parse(Buffer.from(payload).toString('utf8')));
    const job = beat.success ? status.jobs.find((j) => j.job === beat.data.job) : undefined;
    if (!beat.success || !job || job.state === 'done' || job.state === 'skipped') continue;
    applyProgress(job, beat.data);
  }
  return status;
}

const fmt = (x: number | null, digits: number): string => (x === null ? '–' : x.toFixed(digits));

function timeLeft(j: TrainJobStatus, since: Map<string, { t: number; step: number }>): string {
  const first = since.get(j.job);
  if (!first || j.state !== 'running' || j.step <= first.step || !j.total) return '';
  const perStep = (Date.now() - first.t) / (j.step - first.step);
  return ` | ${Math.round((perStep * (j.total - j.step)) / 1000)} s left`;
}

/** One bar per job (step/total, loss, tokens/s, time left) until the workflow's result arrives. */
export async function followTraining<R>(query: () => Promise<TrainStatus>, result: () => Promise<R>): Promise<R> {
  const bars = new MultiBar({ format: '{job} {bar} {value}/{total} | {state} | loss {loss} | {tps} tok/s{left}', hideCursor: true, noTTYOutput: true, notTTYSchedule: 10_000 });
  const byJob = new Map<string, SingleBar>();
  const since = new Map<string, { t: number; step: number }>();
  const poll = setInterval(() => {
    query()
      .then((s) => {
        for (const j of s.jobs) {
          if (j.state === 'running' && !since.has(j.job)) since.set(j.job, { t: Date.now(), step: j.step });
          const payload = { job: j.job.padEnd(8), state: j.state, loss: fmt(j.loss, 4), tps: fmt(j.tokensPerS, 0), left: timeLeft(j, since) };
          const bar = byJob.get(j.job);
          if (bar) {
            bar.setTotal(Math.max(j.total, 1));
            bar.update(j.step, payload);
          } else byJob.set(j.job, bars.create(Math.max(j.total, 1), j.step, payload));
        }
      })
      .catch(() => undefined); // not started yet, or between attempts
  }, 1000);
  try {
    return await result();
  } finally {
    clearInterval(poll);
    bars.stop();
  }
}

export function trainingReport(s: TrainStatus): string {
  const lines = [`run        ${s.runId}  (stage: ${s.stage})`, 'job        state     steps   loss      seconds  model'];
  for (const j of s.jobs) {
    lines.push(`${j.job.padEnd(10)} ${j.state.padEnd(9)} ${String(j.step).padStart(5)}   ${fmt(j.loss, 4).padEnd(9)} ${fmt(j.seconds, 1).padStart(7)}  ${j.finalKey ?? j.error ?? ''}`);
  }
  for (const [method, key] of Object.entries(s.models)) lines.push(`student    ${method.padEnd(8)} ${key}`);
  return lines.join('\n');
}
