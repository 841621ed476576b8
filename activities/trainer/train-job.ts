import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ApplicationFailure, CancelledFailure, Context, log } from '@temporalio/activity';
import type { GenerateJobInput, GenerateJobResult } from '../../core/evaluation';
import { safeItem } from '../../core/ids';
import { TrainJobInput, type TrainJobProgress, type TrainJobResult, type TrainJobSpec } from '../../core/training';
import { repoRoot } from '../../infra/dev/paths';
import { storeFor } from '../artifacts';
import { trainingProgress } from '../metrics';
import type { ArtifactStore } from '../store/store';
import { CheckpointUploader } from './checkpoint-uploader';
import { stageResume } from './checkpoints';
import { deleteFolder, pathExists, uploadFolder } from './folders';
import { runGenerateJob } from './generate-job';
import type { SlotPool } from './gpu-slots';
import { startHeartbeat } from './heartbeat';
import { claimPrefix, finishedJob, jobIdentity, jobKeys, recordJob } from './job-record';
import type { LocalCache } from './local-cache';
import { failureMessage, trainerFailure } from './trainer-failure';
import { TrainerProcess, type TrainerEvent, type TrainerExit } from './trainer-process';

/**
 * trainJob: runs one trainer job durably (trainer/README.md is the protocol it speaks). Stages its
 * inputs into the worker's content-keyed cache, puts the newest stored checkpoint where the trainer
 * resumes from, runs the trainer in its own process group, heartbeats its progress, uploads every
 * checkpoint as it appears (the events and TensorBoard files so far before it) and, at the end, the
 * TensorBoard files, the final model, the events and a metrics summary, then the job's manifest. Exit 2
 * fails the job for good; a crash, a signal or a hang is retried and resumes.
 */

export interface TrainerDeps {
  slots: SlotPool;
  cache: LocalCache;
  /** Local working folders (trainer outputs and checkpoints) of running jobs. */
  workRoot: string;
  /** Tells the job's workflow how it is going (a signal); throttled here, failures ignored. */
  notify?: (workflowId: string, progress: TrainJobProgress) => Promise<void>;
  notifyEveryMs: number;
  /** How long a stopped trainer may take to write its checkpoint before SIGKILL. */
  stopGraceMs: number;
  /** Checkpoints kept in the store per job. */
  keepCheckpoints: number;
}

export interface TrainerActivities {
  activities: {
    trainJob: (input: TrainJobInput) => Promise<TrainJobResult>;
    generateJob: (input: GenerateJobInput) => Promise<GenerateJobResult>;
  };
  /** Worker shutdown: SIGTERM to every running trainer; each job uploads its checkpoint and fails retryably. */
  drain(): void;
  running(): number;
  /** Trainer processes started by this worker so far. */
  launched(): number;
}

export function createTrainerActivities(deps: TrainerDeps): TrainerActivities {
  const running = new Set<TrainerProcess>();
  let draining = false;
  let launched = 0;

  async function trainJob(raw: TrainJobInput): Promise<TrainJobResult> {
    const parsed = TrainJobInput.safeParse(raw);
    if (!parsed.success) throw ApplicationFailure.nonRetryable(`trainJob: invalid input: ${parsed.error.message}`, 'InvalidTrainJobInput');
    const input = parsed.data;
    const ctx = Context.current();
    const store = storeFor(input.store);
    const job = new JobRun(input, ctx, store, deps);
    const stopHeartbeat = startHeartbeat(() => job.beat());
    try {
      if (draining) throw ApplicationFailure.retryable('the gpu worker is shutting down', 'WorkerShutdown');
      const identity = await jobIdentity(store, input);
      const done = await finishedJob(store, input, identity);
      if (done) return done;
      await job.stage(identity);
      if (ctx.cancellationSignal.aborted) throw new CancelledFailure('cancelled before the trainer started');
      if (draining) throw ApplicationFailure.retryable('the gpu worker is shutting down', 'WorkerShutdown');
      const { launch, release } = deps.slots.acquire();
      let exit: TrainerExit;
      try {
        const proc = job.spawn(launch);
        launched++;
        running.add(proc);
        const onAbort = (): void => proc.stop(draining ? 'shutdown' : 'cancelled');
        ctx.cancellationSignal.addEventListener('abort', onAbort);
        try {
          exit = await proc.exited;
        } finally {
          ctx.cancellationSignal.removeEventListener('abort', onAbort);
          running.delete(proc);
        }
      } finally {
        release();
      }
      return await job.finish(exit, identity);
    } finally {
      stopHeartbeat();
      await job.settled();
    }
  }

  const generateJob = (input: GenerateJobInput): Promise<GenerateJobResult> => runGenerateJob(input, deps, {
    track: (proc) => {
      running.add(proc);
      return () => running.delete(proc);
    },
    draining: () => draining,
    onLaunch: () => launched++,
  });

  return {
    activities: { trainJob, generateJob },
    drain: () => {
      draining = true;
      for (const proc of running) proc.stop('shutdown');
    },
    running: () => running.size,
    launched: () => launched,
  };
}

/** One attempt of one job: its local folders, its events, its uploads. */
class JobRun {
  private progress: TrainJobProgress;
  private readonly started = Date.now();
  private lastNotified = 0;
  private notifying: Promise<void> = Promise.resolve();
  private workDir = '';
  private outputDir = '';
  private configPath = '';
  private events: WriteStream | null = null;
  private eventsPath = '';
  private readonly segmentKey: string;
  private uploader: CheckpointUploader | null = null;
  private doneEvent: TrainerEvent | null = null;
  private errorEvent: TrainerEvent | null = null;
  private lastLoss: number | null = null;
  private readonly tokensPerS: number[] = [];
  private lastMetrics: Record<string, unknown> | null = null;
  /** Local path → store key of each staged input. */
  private readonly staged = new Map<string, string>();

  constructor(
    private readonly input: TrainJobSpec,
    private readonly ctx: Context,
    private readonly store: ArtifactStore,
    private readonly deps: TrainerDeps,
  ) {
    this.progress = {
      job: input.job, state: 'staging', attempt: ctx.info.attempt, step: 0, total: 0, loss: null, tokensPerS: null,
      startStep: 0, checkpointKey: null, checkpointStep: null, updatedAt: Date.now(),
    };
    const stamp = new Date(this.started).toISOString().replace(/[:.]/g, '-');
    this.segmentKey = `${input.prefix}/events/${stamp}-attempt-${ctx.info.attempt}.jsonl`;
  }

  beat(): void {
    this.ctx.heartbeat(this.progress);
  }

  /** Progress reports still on their way (none may outlive the activity and its worker's connection). */
  settled(): Promise<void> {
    return this.notifying;
  }

  private update(patch: Partial<TrainJobProgress>, notify = false): void {
    this.progress = { ...this.progress, ...patch, updatedAt: Date.now() };
    this.beat();
    const due = Date.now() - this.lastNotified >= this.deps.notifyEveryMs;
    const workflowId = this.ctx.info.workflowExecution?.workflowId;
    if (this.deps.notify && workflowId && (notify || due)) {
      this.lastNotified = Date.now();
      const sent = this.deps.notify(workflowId, this.progress).catch(() => undefined);
      this.notifying = Promise.all([this.notifying, sent]).then(() => undefined);
    }
  }

  /** Inputs into the cache, the resume checkpoint into the output folder, the trainer's config written. */
  async stage(identity: string): Promise<void> {
    const { input, store, deps } = this;
    this.update({}, true);
    // The checkpoints, events, TensorBoard files and final model of another identity (other settings or inputs) are not this job's.
    await claimPrefix(store, input.prefix, identity, async () => {
      for (const folder of ['checkpoints', 'events', 'tensorboard']) await deleteFolder(store, `${input.prefix}/${folder}`);
      await deleteFolder(store, jobKeys(input.prefix).finalKey);
    });
    this.workDir = join(deps.workRoot, safeItem(input.runId), `${safeItem(input.job)}-${identity.slice(7, 23)}`);
    this.outputDir = join(this.workDir, 'out');
    await mkdir(this.outputDir, { recursive: true });
    const stageFile = async (key: string): Promise<string> => this.remember(await deps.cache.file(store, key), key);
    const stageFolder = async (key: string): Promise<string> => this.remember(await deps.cache.folder(store, key), key);
    const data = await stageFile(input.data);
    const { key, ...modelSpec } = input.model;
    const model = key ? { ...modelSpec, path: await stageFolder(key) } : modelSpec;
    const initFrom = input.initFrom ? await stageFolder(input.initFrom) : undefined;
    const prm = input.prm ? await stageFolder(input.prm) : undefined;
    const resume = await stageResume(store, input.prefix, this.outputDir);
    this.update({ checkpointKey: resume?.key ?? null, checkpointStep: resume?.step ?? null });
    this.uploader = new CheckpointUploader(store, input.prefix, deps.keepCheckpoints, resume, join(this.workDir, `uploads-${this.started}`), async () => {
      await this.uploadSegment();
      await this.uploadTensorboard();
    }, async (c) => {
      this.update({ checkpointKey: c.key, checkpointStep: c.step }, true);
    });
    const config = {
      ...input.settings, model, data, output_dir: this.outputDir,
      ...(initFrom ? { init_from: initFrom } : {}), ...(prm ? { prm } : {}),
    };
    this.configPath = join(this.workDir, 'config.json');
    await writeFile(this.configPath, JSON.stringify(config, null, 2));
    this.eventsPath = join(this.workDir, `events-attempt-${this.ctx.info.attempt}-${this.started}.jsonl`);
    this.events = createWriteStream(this.eventsPath, { flags: 'a' });
    // A full disk must fail this job, not crash the worker with every other job on it.
    this.events.on('error', (error) => log.error('cannot write the events file', { path: this.eventsPath, error: error.message }));
  }

  private remember(local: string, key: string): string {
    this.staged.set(local, key);
    return local;
  }

  spawn(launch: { command: string; prefix: string[]; env: Record<string, string> }): TrainerProcess {
    const { input, deps } = this;
    this.update({ state: 'running' }, true);
    return new TrainerProcess({
      command: launch.command,
      args: [...launch.prefix, input.trainer, '--config', this.configPath, '--resume', 'auto'],
      cwd: join(repoRoot, 'trainer'),
      env: { ...process.env, ...launch.env, HF_HUB_OFFLINE: '1', AGENTARK_PARENT_DEATH_SIGNAL: 'SIGTERM' },
      hangMs: input.hangTimeoutMinutes * 60_000,
      killAfterMs: deps.stopGraceMs,
      onEvent: (e) => this.onEvent(e),
    });
  }

  private onEvent(e: TrainerEvent): void {
    this.events?.write(`${JSON.stringify(e)}\n`);
    const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
    switch (e.event) {
      case 'start':
        this.update({ state: 'running', step: num(e.step) ?? 0, startStep: num(e.step) ?? 0, total: num(e.total) ?? 0 }, true);
        break;
      case 'progress': {
        const loss = num(e.loss);
        const tps = num(e.tokens_per_s);
        if (loss !== null) this.lastLoss = loss;
        if (tps !== null) this.tokensPerS.push(tps);
        trainingProgress(this.input.job, this.progress.step, num(e.step), num(e.tokens));
        this.update({ step: num(e.step) ?? this.progress.step, total: num(e.total) ?? this.progress.total, loss, tokensPerS: tps });
        break;
      }
      case 'metric':
        this.lastMetrics = (e.metrics as Record<string, unknown>) ?? null;
        break;
      case 'checkpoint':
        if (e.final !== true && typeof e.path === 'string') this.uploader?.offer(e.path);
        break;
      case 'done':
        this.doneEvent = e;
        break;
      case 'error':
        this.errorEvent = e;
        break;
      default:
        break;
    }
  }

  /** This attempt's events so far, so a worker killed at any moment leaves them in the store. */
  private async uploadSegment(): Promise<void> {
    await this.store.put(this.segmentKey, await readFile(this.eventsPath).catch(() => Buffer.alloc(0)));
  }

  /**
   * The trainer's TensorBoard event files so far, into `<prefix>/tensorboard/`. Each attempt writes files of
   * its own there (a resumed one hides the steps it redoes), so the folder holds the whole curve.
   */
  private async uploadTensorboard(): Promise<void> {
    const local = join(this.outputDir, 'tensorboard');
    if (await pathExists(local)) await uploadFolder(this.store, local, `${this.input.prefix}/tensorboard`);
  }

  async finish(exit: TrainerExit, identity: string): Promise<TrainJobResult> {
    const { input } = this;
    await new Promise<void>((resolve) => (this.events ? this.events.end(resolve) : resolve()));
    this.update({ state: 'uploading' }, true);
    // Exit 75 (SIGTERM) leaves one more checkpoint than the events announced.
    const interrupted = this.errorEvent?.checkpoint;
    if (typeof interrupted === 'string') this.uploader?.offer(interrupted);
    await this.uploader?.flush();
    await this.uploadSegment();
    await this.uploadTensorboard();
    const resumable = this.uploader?.latest ? ` (resumes from step ${this.uploader.latest.step})` : '';

    if (exit.code === 0 && this.doneEvent && typeof this.doneEvent.output === 'string') {
      return this.publish(identity, this.doneEvent.output);
    }
    throw trainerFailure(input.job, exit, this.errorEvent, this.storeNames(failureMessage(exit, this.errorEvent)), resumable, input.hangTimeoutMinutes);
  }

  /** The trainer names its local copies; the user knows the store's objects. */
  private storeNames(text: string): string {
    let out = text;
    for (const [local, key] of this.staged) out = out.split(local).join(this.store.urlOf(key));
    return out;
  }

  private async publish(identity: string, finalDir: string): Promise<TrainJobResult> {
    const { input, store } = this;
    const keys = jobKeys(input.prefix);
    await deleteFolder(store, keys.finalKey);
    await uploadFolder(store, finalDir, keys.finalKey);
    await store.writeStream(keys.eventsKey, allSegments(store, `${input.prefix}/events`));
    const seconds = (Date.now() - this.started) / 1000;
    const steps = typeof this.doneEvent?.steps === 'number' ? this.doneEvent.steps : this.progress.step;
    const { lastLoss } = this;
    const median = (xs: number[]): number | null => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] : null);
    await store.putJson(keys.metricsKey, {
      job: input.job, trainer: input.trainer, identity, steps, startStep: this.progress.startStep, attempt: this.ctx.info.attempt,
      seconds, lastLoss, medianTokensPerS: median(this.tokensPerS), lastMetrics: this.lastMetrics, done: this.doneEvent,
    });
    const result: TrainJobResult = { job: input.job, identity, ...keys, steps, startStep: this.progress.startStep, seconds, lastLoss, skipped: false };
    await recordJob(store, input, result);
    await rm(this.workDir, { recursive: true, force: true }).catch((error: unknown) => log.warn('cannot remove work dir', { error: String(error) }));
    return result;
  }
}

/** Every attempt's events, oldest first, as one stream. */
async function* allSegments(store: ArtifactStore, prefix: string): AsyncGenerator<Buffer> {
  const keys: string[] = [];
  for await (const key of store.list(`${prefix}/`)) keys.push(key);
  for (const key of keys.sort()) yield* store.readStream(key);
}
