import { z } from 'zod';
import { TaskKind } from './problem';
import { TokenUsage } from './chat';

/**
 * Records of the distillation datasets written by buildDatasets and read by the Python trainer.
 * These schemas are the contract between the two sides; DATA.md documents them for readers.
 * `prompt` is always the content of one user turn; the trainer applies the student's chat template.
 */

const base = {
  id: z.string().min(1),
  task: TaskKind,
  prompt: z.string().min(1),
};

/** rsft.jsonl — one record per problem whose consensus answer was verified correct. */
export const RsftRecord = z.object({
  ...base,
  /** The reasoning trace that leads to the consensus answer, ending with the answer in the task's format. */
  completion: z.string().min(1),
  answer: z.string().min(1),
});
export type RsftRecord = z.infer<typeof RsftRecord>;

/** da.jsonl — one record per selected diverse correct trace (k per problem, only if |A_correct| ≥ 2). */
export const DaRecord = z.object({
  ...base,
  completion: z.string().min(1),
  answer: z.string().min(1),
  agent: z.number().int().nonnegative(),
  round: z.number().int().positive(),
  /** 1-based position among the problem's selected traces (1 = chosen first). */
  rank: z.number().int().positive(),
});
export type DaRecord = z.infer<typeof DaRecord>;

/** One agent's final-round solution split into steps (core/steps.ts), with a label per step. */
export const PrmTrace = z.object({
  agent: z.number().int().nonnegative(),
  correct: z.boolean(),
  steps: z.array(z.string().min(1)).min(1),
  /** 1 = step of a verified-correct trace, 0 = step of an incorrect one (outcome-derived labels). */
  labels: z.array(z.union([z.literal(0), z.literal(1)])),
});
export type PrmTrace = z.infer<typeof PrmTrace>;

/**
 * A contrastive group: step `position` of trace `positive` (a correct trace) against the step at the
 * same position of each trace in `negatives` (incorrect traces). Each step is scored with its own
 * trace's preceding steps as context.
 */
export const ContrastiveGroup = z.object({
  position: z.number().int().nonnegative(),
  positive: z.number().int().nonnegative(),
  negatives: z.array(z.number().int().nonnegative()).min(1),
});
export type ContrastiveGroup = z.infer<typeof ContrastiveGroup>;

/** prm.jsonl — one record per problem with at least one trace; indices refer to `traces`. */
export const PrmRecord = z.object({
  ...base,
  traces: z.array(PrmTrace).min(1),
  groups: z.array(ContrastiveGroup),
});
export type PrmRecord = z.infer<typeof PrmRecord>;

/** grpo.jsonl — one record per problem: the prompt to sample from and the gold answer to check against. */
export const GrpoRecord = z.object({
  ...base,
  gold: z.string().min(1),
  options: z.array(z.string()).optional(),
});
export type GrpoRecord = z.infer<typeof GrpoRecord>;

const count = z.number().int().nonnegative();
/** A fraction in [0, 1]; null when its denominator is 0. */
const ratio = z.number().min(0).max(1).nullable();

/** One debate round across the run's problems. Undecided turns (correct = null) count as not correct. */
export const RoundStats = z.object({
  round: z.number().int().positive(),
  /** Problems whose debate ran this round. */
  problems: count,
  /** Agent turns run in this round, and how many of them were verified correct. */
  turns: count,
  correct: count,
  accuracy: ratio,
  /** As above, with a problem that stopped early counted with its final answers in the rounds it skipped. */
  turnsCarriedForward: count,
  correctCarriedForward: count,
  accuracyCarriedForward: ratio,
});
export type RoundStats = z.infer<typeof RoundStats>;

/** stats.json — a summary of the run's debates, written by buildDatasets next to the datasets. */
export const DatasetStats = z.object({
  runId: z.string().min(1),
  problems: count,
  rounds: z.array(RoundStats),
  /** The summarizer's answer: correct / problems. */
  consensus: z.object({ correct: count, accuracy: ratio }),
  /** Index i = number of problems with |A_correct| = i, for i = 0..n (n = the most agents of any problem). */
  correctAgentsHistogram: z.array(count),
  /** Corrective traces (an agent wrong in some round, right in the final one) and problems with at least one. */
  correctiveTraces: z.object({ traces: count, problems: count }),
  da: z.object({
    /** Problems with |A_correct| ≥ 2, the only ones DA takes traces from. */
    eligibleProblems: count,
    records: count,
    /** Problems whose diverse traces were chosen by the LLM judge or by the lexical fallback. */
    selectedBy: z.object({ llmJudge: count, lexical: count }),
  }),
  earlyStop: z.object({ problems: count, callsSaved: count }),
  /** Teacher usage of the whole debate stage (agents, summarizer, verifier, judge). */
  usage: TokenUsage,
  /** Verdicts that nothing could decide (correct = null): agent turns of every round, and summarizers. */
  undecided: z.object({ turns: count, summarizer: count }),
  /** Verdicts (agent turns and summarizer) by the checker and version that gave them. */
  checkers: z.record(z.string(), count).optional(),
});
export type DatasetStats = z.infer<typeof DatasetStats>;

/** generate job input (evaluation prompts) and output (one completion per sample). */
export const GenerateInput = z.object({ id: z.string().min(1), prompt: z.string().min(1) });
export const GenerateOutput = z.object({
  id: z.string().min(1),
  sample: z.number().int().nonnegative(),
  completion: z.string(),
  finishReason: z.enum(['stop', 'length']),
  /** Tokens the model generated for it (absent in files written before the field existed). */
  tokens: z.number().int().nonnegative().optional(),
});
export type GenerateInput = z.infer<typeof GenerateInput>;
export type GenerateOutput = z.infer<typeof GenerateOutput>;
