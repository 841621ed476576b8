import { z } from 'zod';
import { NoWorkerTimeoutMinutes, RunId } from './config';
import { GPU_QUEUE } from './task-queues';

/**
 * The training stage (paper §3.3, App. F): which trainer jobs each distillation method needs, in
 * which order, and the trainStudent input. Pure: the workflow plans with it, activities key with it.
 */

/**
 * The paper's methods; `rsft+da` and `pad+da` fine-tune the first method's model with DA (App. F);
 * `pad-ppo` is its PPO ablation of PAD (App. B.2: PPO with a value head instead of GRPO, the same PRM).
 */
export const Method = z.enum(['rsft', 'da', 'pad', 'rsft+da', 'pad+da', 'pad-ppo']);
export type Method = z.infer<typeof Method>;

/** One trainer job of the plan. Shared jobs run once: `rsft+da` reuses `rsft`, `pad+da` reuses `pad`'s chain. */
export const JobName = z.enum(['rsft', 'da', 'prm1', 'prm2', 'grpo', 'rsft+da', 'pad+da', 'ppo']);
export type JobName = z.infer<typeof JobName>;

export type TrainerJob = 'sft' | 'prm' | 'grpo' | 'ppo';
export type DatasetName = 'rsft' | 'da' | 'prm' | 'grpo';

export interface PlannedJob {
  name: JobName;
  /** The method whose folder holds it (a shared job lives under the method that first needs it). */
  method: Method;
  trainer: TrainerJob;
  data: DatasetName;
  /** Weights it starts from: the student, or another job's final model. */
  model: 'student' | JobName;
  /** PRM stage 2 starts from stage 1's output. */
  initFrom?: JobName;
  /** GRPO's reward model. */
  prm?: JobName;
  /** Fixed trainer fields of this job (stage of the PRM). */
  fixed: Record<string, unknown>;
}

const JOBS: Record<JobName, PlannedJob> = {
  rsft: { name: 'rsft', method: 'rsft', trainer: 'sft', data: 'rsft', model: 'student', fixed: {} },
  da: { name: 'da', method: 'da', trainer: 'sft', data: 'da', model: 'student', fixed: {} },
  prm1: { name: 'prm1', method: 'pad', trainer: 'prm', data: 'prm', model: 'student', fixed: { stage: 1 } },
  prm2: { name: 'prm2', method: 'pad', trainer: 'prm', data: 'prm', model: 'student', initFrom: 'prm1', fixed: { stage: 2 } },
  grpo: { name: 'grpo', method: 'pad', trainer: 'grpo', data: 'grpo', model: 'student', prm: 'prm2', fixed: {} },
  'rsft+da': { name: 'rsft+da', method: 'rsft+da', trainer: 'sft', data: 'da', model: 'rsft', fixed: {} },
  'pad+da': { name: 'pad+da', method: 'pad+da', trainer: 'sft', data: 'da', model: 'grpo', fixed: {} },
  ppo: { name: 'ppo', method: 'pad-ppo', trainer: 'ppo', data: 'grpo', model: 'student', prm: 'prm2', fixed: {} },
};

/** The job whose final model is the method's student. */
export const METHOD_OUTPUT: Record<Method, JobName> = {
  rsft: 'rsft', da: 'da', pad: 'grpo', 'rsft+da': 'rsft+da', 'pad+da': 'pad+da', 'pad-ppo': 'ppo',
};

export function dependencies(job: PlannedJob): JobName[] {
  const deps = [job.model === 'student' ? null : job.model, job.initFrom ?? null, job.prm ?? null];
  return deps.filter((d): d is JobName => d !== null);
}

/** Every job the methods need, each once, dependencies before the jobs that use them. */
export function planTraining(methods: readonly Method[]): PlannedJob[] {
  const order: PlannedJob[] = [];
  const seen = new Set<JobName>();
  const visit = (name: JobName): void => {
    if (seen.has(name)) return;
    seen.add(name);
    const job = JOBS[name];
    for (const dep of dependencies(job)) visit(dep);
    order.push(job);
  };
  for (const m of methods) visit(METHOD_OUTPUT[m]);
  return order;
}

const FOLDER: Record<JobName, string> = {
  rsft: 'rsft/sft', da: 'da/sft', prm1: 'pad/prm-stage1', prm2: 'pad/prm-stage2', grpo: 'pad/grpo',
  'rsft+da': 'rsft-da/sft', 'pad+da': 'pad-da/sft', ppo: 'pad-ppo/ppo',
};

/** `runs/<runId>/train/<method>/<job>`: checkpoints/, final/, tensorboard/, events.jsonl, metrics.json, manifest.json. */
export const trainJobPrefix = (runId: string, job: JobName): string => `runs/${runId}/train/${FOLDER[job]}`;
export const trainWorkflowId = (runId: string): string => `train-${runId}`;

/** Trainer fields the activity sets itself (local paths, the plan's wiring): never from settings. */
export const MANAGED_FIELDS = ['model', 'data', 'output_dir', 'init_from', 'prm', 'stage'] as const;

/** A model: a folder of Hugging Face files in the store, a path on the gpu worker, a .gguf file there, or random weights of a named architecture. */
export const ModelRef = z
  .strictObject({
    key: z.string().min(1).optional(),
    path: z.string().min(1).optional(),
    gguf: z.string().min(1).optional(),
    arch: z.string().min(1).optional(),
    overrides: z.record(z.string(), z.unknown()).optional(),
    tokenizer: z.string().min(1).optional(),
    dtype: z.enum(['float32', 'bfloat16', 'float16']).optional(),
    attn_implementation: z.enum(['sdpa', 'eager', 'flash_attention_2', 'flex_attention']).optional(),
    gradient_checkpointing: z.boolean().optional(),
  })
  .superRefine((m, ctx) => {
    const given = (['key', 'path', 'gguf', 'arch'] as const).filter((k) => m[k] !== undefined);
    if (given.length !== 1) {
      ctx.addIssue({ code: 'custom', message: `give exactly one of key (a model folder in the store), path, gguf or arch; got ${given.length ? given.join(', ') : 'none'}` });
    }
    if (m.overrides && !m.arch) ctx.addIssue({ code: 'custom', path: ['overrides'], message: 'only with arch' });
  });
export type ModelRef = z.infer<typeof ModelRef>;

const DatasetKeys = z.strictObject({
  rsft: z.string().min(1).optional(),
  da: z.string().min(1).optional(),
  prm: z.string().min(1).optional(),
  grpo: z.string().min(1).optional(),
});

/** Trainer settings of one job (trainer/README.md "Config fields"); the trainer validates each field. */
const Settings = z.record(z.string(), z.unknown()).superRefine((s, ctx) => {
  for (const f of MANAGED_FIELDS) {
    if (f in s) ctx.addIssue({ code: 'custom', path: [f], message: 'set by the pipeline itself; remove it' });
  }
});

export const TrainStudentInput = z.strictObject({
  runId: RunId,
  /** The datasets: a generateDebates run's (its datasets manifest), or explicit keys in the store. */
  datasets: z.union([z.strictObject({ runId: RunId }), z.strictObject({ keys: DatasetKeys })]),
  student: ModelRef,
  methods: z.array(Method).min(1).default(['rsft', 'da', 'pad', 'rsft+da', 'pad+da']),
  /** Trainer settings over the defaults: `all` for every job, then per job (rsft, da, prm1, prm2, grpo, rsft+da, pad+da, ppo). */
  settings: z
    .strictObject({
      all: Settings.optional(), rsft: Settings.optional(), da: Settings.optional(), prm1: Settings.optional(), prm2: Settings.optional(),
      grpo: Settings.optional(), 'rsft+da': Settings.optional(), 'pad+da': Settings.optional(), ppo: Settings.optional(),
    })
    .default({}),
  gpuQueue: z.string().min(1).default(GPU_QUEUE),
  /** Minutes (fractions allowed) to wait for a worker polling gpuQueue before a job is needed and none is; then the run fails naming the queue. */
  noWorkerTimeoutMinutes: NoWorkerTimeoutMinutes,
  store: z.string().min(1).optional(),
  /** A trainer that prints no event for this long is stopped and retried (a stuck collective must not hold a GPU). */
  hangTimeoutMinutes: z.number().positive().default(15),
  /** Upper bound of one job attempt. */
  jobTimeoutHours: z.number().positive().default(72),
  /** A job whose worker stops heartbeating for this long (killed, lost) is retried elsewhere. */
  heartbeatTimeoutSeconds: z.number().int().min(5).default(120),
  /** Attempts of one job (crashes, preemptions, hangs) before the run fails. */
  maxAttempts: z.number().int().positive().default(20),
});
export type TrainStudentInput = z.input<typeof TrainStudentInput>;
export type TrainStudentConfig = z.infer<typeof TrainStudentInput>;

/** Defaults the pipeline adds under the user's settings: a crash must not lose the whole job. */
export const DEFAULT_SETTINGS: Record<string, unknown> = { checkpoint_every: 50 };

/** The trainer config of a job without the managed fields: defaults, then `all`, then the job's own, then the plan's fixed fields. */
export function jobSettings(config: TrainStudentConfig, job: PlannedJob): Record<string, unknown> {
  const settings = config.settings as Record<string, Record<string, unknown> | undefined>;
  return { ...DEFAULT_SETTINGS, ...(settings.all ?? {}), ...(settings[job.name] ?? {}), ...job.fixed };
}

/** What a running job reports (activity heartbeat details and the signal to its workflow). */
export const TrainJobProgress = z.object({
  job: JobName,
  state: z.enum(['staging', 'running', 'uploading', 'stopping']),
  attempt: z.number().int(),
  step: z.number().int().nonnegative(),
  total: z.number().int().nonnegative(),
  loss: z.number().nullable(),
  tokensPerS: z.number().nullable(),
  /** Step the current attempt started at (> 0 when resumed from a checkpoint). */
  startStep: z.number().int().nonnegative(),
  /** The newest checkpoint in the store, and its step. */
  checkpointKey: z.string().nullable(),
  checkpointStep: z.number().int().nonnegative().nullable(),
  updatedAt: z.number(),
});
export type TrainJobProgress = z.infer<typeof TrainJobProgress>;

/** The trainer activity's input: small, keys and settings only. */
export const TrainJobInput = z.strictObject({
  runId: RunId,
  job: JobName,
  trainer: z.enum(['sft', 'prm', 'grpo', 'ppo']),
  /** trainJobPrefix(runId, job): where its checkpoints, final model and records go. */
  prefix: z.string().min(1),
  /** Trainer settings without the managed fields. */
  settings: z.record(z.string(), z.unknown()),
  /** The dataset file (a key in the store). */
  data: z.string().min(1),
  model: ModelRef,
  /** Folder keys of other jobs' outputs: PRM stage 1 for stage 2, the PRM for GRPO. */
  initFrom: z.string().min(1).optional(),
  prm: z.string().min(1).optional(),
  store: z.string().min(1).optional(),
  hangTimeoutMinutes: z.number().positive().default(15),
});
export type TrainJobInput = z.input<typeof TrainJobInput>;
export type TrainJobSpec = z.output<typeof TrainJobInput>;

export interface TrainJobResult {
  job: JobName;
  /** Hash of everything the job's output depends on; a job is skipped when its manifest has the same. */
  identity: string;
  finalKey: string;
  eventsKey: string;
  metricsKey: string;
  manifestKey: string;
  steps: number;
  /** Step the last attempt started at (> 0: resumed from a checkpoint). */
  startStep: number;
  seconds: number;
  lastLoss: number | null;
  /** True when the manifest of an earlier run was found and nothing was trained. */
  skipped: boolean;
}

export const TRAIN_PROGRESS_SIGNAL = 'trainProgress';
