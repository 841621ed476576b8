import {
  ActivityCancellationType, ApplicationFailure, allHandlersFinished, condition, isCancellation, patched, proxyActivities,
  setCurrentDetails, setHandler, upsertSearchAttributes,
} from '@temporalio/workflow';
import type * as mainActivities from '../activities/main';
import type { TrainerActivities } from '../activities/trainer/train-job';
import { PROGRESS, RUN_ID, STAGE } from '../core/search-attributes';
import {
  dependencies, jobSettings, METHOD_OUTPUT, planTraining, trainJobPrefix, TrainJobProgress, TrainStudentInput,
  type DatasetName, type JobName, type ModelRef, type PlannedJob, type TrainJobInput, type TrainJobResult,
} from '../core/training';
import { rootMessage } from './failures';
import { parseInput } from './parse-input';
import { applyProgress, trainProgress, trainStatusQuery, type TrainJobStatus, type TrainStatus, type TrainStudentResult } from './train-signals';
import { waitForWorkers } from './wait-for-workers';

export { trainWorkflowId } from '../core/training';

/** With the first job that must train, check for a worker on the gpu queue: a visible wait, then a failure naming the queue. */
const WAIT_FOR_GPU_WORKERS = 'wait-for-gpu-workers';

const { resolveTrainingData, findTrainJob } = proxyActivities<typeof mainActivities>({
  startToCloseTimeout: '10 minutes',
  retry: { maximumAttempts: 10 },
});

/**
 * trainStudent (paper §3.3, App. F): the trainer jobs the methods need — RSFT, DA, PAD = PRM stage I →
 * PRM stage II → GRPO with that PRM as reward, and RSFT+DA / PAD+DA on top of the first model — each
 * an activity on the GPU queue, independent jobs side by side. A job whose manifest records the same
 * inputs and settings is skipped, so starting the same run id again redoes only what is missing.
 */
export async function trainStudent(rawInput: TrainStudentInput): Promise<TrainStudentResult> {
  const waitsForWorkers = patched(WAIT_FOR_GPU_WORKERS);
  const config = parseInput(TrainStudentInput, rawInput, 'trainStudent');
  const plan = planTraining(config.methods);
  const storeArg = config.store ? { store: config.store } : {};
  const { trainJob } = proxyActivities<TrainerActivities['activities']>({
    taskQueue: config.gpuQueue,
    startToCloseTimeout: `${config.jobTimeoutHours} hours`,
    heartbeatTimeout: `${config.heartbeatTimeoutSeconds} seconds`,
    // A cancelled job first checkpoints and uploads; the workflow waits for that before it reports cancelled.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: {
      maximumAttempts: config.maxAttempts,
      initialInterval: '5 seconds',
      maximumInterval: '5 minutes',
      nonRetryableErrorTypes: ['TrainerConfigError', 'InvalidTrainJobInput'],
    },
  });

  const jobs = new Map<JobName, TrainJobStatus>(plan.map((j) => [j.name, {
    job: j.name, method: j.method, state: 'waiting', step: 0, total: 0, loss: null, tokensPerS: null, attempt: 0,
    startStep: 0, checkpointStep: null, finalKey: null, seconds: null, error: null,
  }]));
  let stage: TrainStatus['stage'] = 'prepare';
  const status = (): TrainStatus => ({
    runId: config.runId,
    stage,
    jobs: [...jobs.values()],
    models: Object.fromEntries(config.methods.flatMap((m) => {
      const key = jobs.get(METHOD_OUTPUT[m])?.finalKey;
      return key ? [[m, key]] : [];
    })),
  });
  let shownProgress = -1;
  const show = (): void => {
    setCurrentDetails(detailsLine(status()));
    const p = overallProgress([...jobs.values()]);
    if (Math.abs(p - shownProgress) >= 0.01 || (p === 1 && shownProgress !== 1)) {
      shownProgress = p;
      upsertSearchAttributes([{ key: PROGRESS, value: p }]);
    }
  };
  setHandler(trainStatusQuery, status);
  setHandler(trainProgress, (raw: unknown) => {
    const parsed = TrainJobProgress.safeParse(raw);
    const s = parsed.success ? jobs.get(parsed.data.job) : undefined;
    if (!parsed.success || !s || ['done', 'skipped', 'failed', 'waiting'].includes(s.state)) return; // stale or not ours
    applyProgress(s, parsed.data);
    show();
  });
  upsertSearchAttributes([{ key: RUN_ID, value: config.runId }, { key: STAGE, value: 'train' }]);

  let gpuWorkers: Promise<void> | undefined;
  const waitForGpuWorkers = (): Promise<void> => (gpuWorkers ??= waitForWorkers({
    taskQueue: config.gpuQueue, role: 'gpu', timeoutMinutes: config.noWorkerTimeoutMinutes,
    show: (line) => {
      const before = stage;
      stage = line ? 'waiting' : 'train';
      if (line) setCurrentDetails(`trainStudent ${config.runId} — ${line}`);
      if (stage !== before) upsertSearchAttributes([{ key: STAGE, value: stage }]);
    },
  }));

  const needed = [...new Set(plan.map((j) => j.data))] as DatasetName[];
  const datasets = await resolveTrainingData({ datasets: config.datasets, needed, ...storeArg });
  stage = 'train';
  show();

  const jobInput = (job: PlannedJob, done: Map<JobName, TrainJobResult>): TrainJobInput => {
    const student = config.student;
    const model: ModelRef = job.model === 'student'
      ? student
      : {
        key: done.get(job.model)!.finalKey,
        ...(student.dtype ? { dtype: student.dtype } : {}),
        ...(student.attn_implementation ? { attn_implementation: student.attn_implementation } : {}),
        ...(student.gradient_checkpointing !== undefined ? { gradient_checkpointing: student.gradient_checkpointing } : {}),
      };
    return {
      runId: config.runId, job: job.name, trainer: job.trainer, prefix: trainJobPrefix(config.runId, job.name),
      settings: jobSettings(config, job), data: datasets.keys[job.data]!, model,
      ...(job.initFrom ? { initFrom: done.get(job.initFrom)!.finalKey } : {}),
      ...(job.prm ? { prm: done.get(job.prm)!.finalKey } : {}),
      hangTimeoutMinutes: config.hangTimeoutMinutes, ...storeArg,
    };
  };

  // Each job starts once the jobs it builds on have finished; the GPU queue's slots bound how many run at once.
  const done = new Map<JobName, TrainJobResult>();
  const running = new Map<JobName, Promise<TrainJobResult>>();
  const run = (name: JobName): Promise<TrainJobResult> => {
    let p = running.get(name);
    if (p) return p;
    const job = plan.find((j) => j.name === name)!;
    p = (async () => {
      const deps = dependencies(job);
      const settled = await Promise.allSettled(deps.map(run));
      const cancelled = settled.find((r) => r.status === 'rejected' && isCancellation(r.reason));
      if (cancelled) throw (cancelled as PromiseRejectedResult).reason;
      const failedDep = deps.find((d, i) => settled[i].status === 'rejected');
      if (failedDep) throw ApplicationFailure.nonRetryable(`needs ${failedDep}, which failed`, 'UpstreamJobFailed');
      const s = jobs.get(name)!;
      const input = jobInput(job, done);
      s.state = 'staging';
      let result = await findTrainJob(input);
      if (!result) {
        show();
        // Scheduled at once (a worker may come); the check fails the job if none polls the queue in time.
        const job = trainJob(input);
        result = await (waitsForWorkers ? Promise.race([job, waitForGpuWorkers().then(() => job)]) : job);
      }
      done.set(name, result);
      Object.assign(s, { state: result.skipped ? 'skipped' : 'done', finalKey: result.finalKey, seconds: result.seconds, loss: result.lastLoss ?? s.loss, step: result.steps, total: Math.max(s.total, result.steps) });
      show();
      return result;
    })();
    p.catch((err: unknown) => {
      const s = jobs.get(name)!;
      if (!isCancellation(err)) Object.assign(s, { state: 'failed', error: rootMessage(err) });
    });
    running.set(name, p);
    return p;
  };

  const outcomes = await Promise.allSettled(plan.map((j) => run(j.name)));
  const cancelled = outcomes.find((o) => o.status === 'rejected' && isCancellation(o.reason));
  if (cancelled) throw (cancelled as PromiseRejectedResult).reason;
  const failed = [...jobs.values()].filter((s) => s.state === 'failed');
  if (failed.length) {
    stage = 'failed';
    show();
    throw ApplicationFailure.nonRetryable(
      `training failed: ${failed.map((s) => (s.error?.startsWith(`${s.job}: `) ? s.error : `${s.job}: ${s.error}`)).join('; ')}. Start run '${config.runId}' again to retry; finished jobs are not redone.`,
      'TrainingFailed',
    );
  }
  stage = 'done';
  upsertSearchAttributes([{ key: STAGE, value: 'done' }]);
  show();
  await condition(allHandlersFinished);
  return { ...status(), results: plan.map((j) => done.get(j.name)!) };
}

function overallProgress(jobs: TrainJobStatus[]): number {
  if (jobs.length === 0) return 1;
  const share = (s: TrainJobStatus): number => (s.state === 'done' || s.state === 'skipped' ? 1 : s.total ? Math.min(1, s.step / s.total) : 0);
  return Math.round((jobs.reduce((a, s) => a + share(s), 0) / jobs.length) * 1000) / 1000;
}

/** The Web UI's current details: one line per job. */
function detailsLine(s: TrainStatus): string {
  const lines = s.jobs.map((j) => {
    const loss = j.loss === null ? '' : ` loss ${j.loss.toFixed(4)}`;
    const tps = j.tokensPerS === null || j.state !== 'running' ? '' : ` ${Math.round(j.tokensPerS)} tok/s`;
    const steps = j.total ? ` step ${j.step}/${j.total}` : '';
    return `${j.job}: ${j.state}${steps}${loss}${tps}${j.error ? ` (${j.error.slice(0, 200)})` : ''}`;
  });
  return `trainStudent ${s.runId} — ${s.stage}\n${lines.join('\n')}`;
}
