import { z } from 'zod';
import { DatasetConfig, RunId } from './config';
import { safeItem } from './ids';
import { GPU_QUEUE } from './task-queues';
import { Method, ModelRef } from './training';

/**
 * The evaluation stage (paper §4): each model — the base student and every distilled one — answers
 * every test set on the GPU queue, and the answers are scored on the CPU with the debate's own
 * checker. Pure: the workflow plans with it, activities key with it.
 */

/** A model's name in tables and keys: `base`, a method (`rsft`, `pad+da`, …) or the user's own. */
export const ModelName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9.+_-]{0,63}$/, 'letters, digits, ".", "+", "_" and "-" only (at most 64), starting with a letter or digit');

export const TestSet = z.strictObject({
  /** Its name in tables and keys, e.g. `gsm8k`. */
  name: ModelName,
  /** Any format the debate stage loads (gsm8k, math, medmcqa, metamathqa, jsonl, demo). */
  dataset: DatasetConfig,
});
export type TestSet = z.infer<typeof TestSet>;

export const Sampling = z.strictObject({
  /** Completions per problem; > 1 needs temperature > 0 and gives maj@k and pass@k. */
  samples: z.number().int().min(1).max(64).default(1),
  /** 0: greedy (the default). */
  temperature: z.number().min(0).max(2).default(0),
  topP: z.number().gt(0).max(1).default(1),
  maxNewTokens: z.number().int().positive().max(32_768).default(512),
  /** Prompts per generate() call on the GPU. */
  batchSize: z.number().int().positive().max(1024).default(16),
  seed: z.number().int().nonnegative().default(0),
}).superRefine((s, ctx) => {
  if (s.samples > 1 && s.temperature === 0) ctx.addIssue({ code: 'custom', path: ['temperature'], message: `samples ${s.samples} needs temperature > 0 (greedy decoding gives one answer)` });
});
export type Sampling = z.infer<typeof Sampling>;

/** The teacher's own accuracy on a test set: a generateDebates run over it (the paper's "vanilla MAS"). */
export const MasReference = z.record(ModelName, RunId);

export const EvaluateStudentInput = z.strictObject({
  runId: RunId,
  /** The base student, evaluated as `base`. */
  base: ModelRef.optional(),
  /** The students a trainStudent run distilled: each method's final model in the store. */
  training: z.strictObject({ runId: RunId, methods: z.array(Method).min(1) }).optional(),
  /** More models by name. */
  models: z.record(ModelName, ModelRef).default({}),
  testSets: z.array(TestSet).min(1),
  sampling: Sampling.default(Sampling.parse({})),
  /** Test set name → the generateDebates run id whose debates were on it (MAS reference lines). */
  mas: MasReference.default({}),
  gpuQueue: z.string().min(1).default(GPU_QUEUE),
  store: z.string().min(1).optional(),
  hangTimeoutMinutes: z.number().positive().default(15),
  heartbeatTimeoutSeconds: z.number().int().min(5).default(120),
  maxAttempts: z.number().int().positive().default(20),
}).superRefine((c, ctx) => {
  const names = new Set(c.testSets.map((t) => t.name));
  if (names.size !== c.testSets.length) ctx.addIssue({ code: 'custom', path: ['testSets'], message: 'two test sets share a name' });
  for (const name of Object.keys(c.mas)) {
    if (!names.has(name)) ctx.addIssue({ code: 'custom', path: ['mas', name], message: `no test set named '${name}'` });
  }
  const taken = [...(c.base ? ['base'] : []), ...(c.training?.methods ?? [])];
  for (const name of Object.keys(c.models)) {
    if (taken.includes(name)) ctx.addIssue({ code: 'custom', path: ['models', name], message: `'${name}' is already the name of ${name === 'base' ? 'the base model' : 'a trained method'}` });
  }
  if (!c.base && !c.training && Object.keys(c.models).length === 0) ctx.addIssue({ code: 'custom', path: ['models'], message: 'nothing to evaluate: give base, training or models' });
});
export type EvaluateStudentInput = z.input<typeof EvaluateStudentInput>;
export type EvaluateStudentConfig = z.infer<typeof EvaluateStudentInput>;

export const evalWorkflowId = (runId: string): string => `evaluate-${runId}`;
export const evalPrefix = (runId: string): string => `runs/${runId}/eval`;
/** problems.jsonl (the loaded problems with their gold) and prompts.jsonl (the generate job's input). */
export const testSetPrefix = (runId: string, testSet: string): string => `${evalPrefix(runId)}/${safeItem(testSet)}`;
/** generations.jsonl, scores.json, manifest.json of one model on one test set. */
export const modelEvalPrefix = (runId: string, testSet: string, model: string): string => `${testSetPrefix(runId, testSet)}/models/${safeItem(model)}`;
export const evalResultsKey = (runId: string): string => `${evalPrefix(runId)}/results.json`;

/** A share with its 95% interval. */
export interface Rate {
  k: number;
  n: number;
  rate: number;
  low: number;
  high: number;
}

/** One model on one test set. */
export interface ModelScore {
  model: string;
  testSet: string;
  task: string;
  /** Problems scored. */
  n: number;
  samples: number;
  /** First sample of each problem: correct / n, with its Wilson interval. */
  accuracy: Rate;
  /** Problems whose first sample no rule could decide (task `text`); counted as not correct. */
  undecided: number;
  /** First samples cut by max_new_tokens. */
  truncated: number;
  meanCompletionTokens: number;
  /** samples > 1: majority vote over the extracted answers, and pass@k (unbiased estimator). */
  majAtK: Rate | null;
  passAtK: number | null;
  /** Open-ended (`text`) test sets, over first samples, 0..1. */
  text: { exactMatch: number; tokenF1: number; rouge1: number; rouge2: number; rougeL: number } | null;
  /** The answer checker that judged (absent in scores written before it was recorded). */
  checker?: { name: string; version: string };
  generationsKey: string;
  scoresKey: string;
}

/** The teacher's reference lines on a test set (from a debate run over it). */
export interface MasLine {
  testSet: string;
  runId: string;
  problems: number;
  /** The summarizer's consensus after the last round (null: no problem scored). */
  consensus: number | null;
  /** Round-1 agent accuracy: the teacher answering alone. */
  singleAgent: number | null;
}

export interface EvaluationResult {
  runId: string;
  sampling: Sampling;
  scores: ModelScore[];
  mas: MasLine[];
  /** Model name → where its weights came from (a key in the store, a path, an architecture). */
  models: Record<string, string>;
}

/** The generate activity's input (GPU queue): one model answering one test set's prompts. */
export const GenerateJobInput = z.strictObject({
  runId: RunId,
  /** modelEvalPrefix(runId, testSet, model): generations.jsonl and the job's manifest go here. */
  prefix: z.string().min(1),
  /** prompts.jsonl in the store ({id, prompt} lines). */
  prompts: z.string().min(1),
  model: ModelRef,
  sampling: Sampling,
  store: z.string().min(1).optional(),
  hangTimeoutMinutes: z.number().positive().default(15),
});
export type GenerateJobInput = z.input<typeof GenerateJobInput>;

export interface GenerateJobResult {
  generationsKey: string;
  completions: number;
  seconds: number;
  /** True when an earlier run's manifest had the same inputs and nothing was generated. */
  skipped: boolean;
}

export const generationsKey = (prefix: string): string => `${prefix}/generations.jsonl`;
/** What a retry resumes from: the lines written so far. */
export const partialGenerationsKey = (prefix: string): string => `${prefix}/generations.partial.jsonl`;

/** Where a model's weights come from, in words for the report. */
export const describeModel = (m: ModelRef): string => m.key ?? m.path ?? m.gguf ?? `random ${m.arch}`;
