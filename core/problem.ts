import { z } from 'zod';

/**
 * How an answer of a task is checked (trainer/agentark_trainer/checker.py, through activities/checker):
 * numeric — GSM8K, MetaMathQA; math — MATH (\boxed{} expressions); choice — multiple choice (A–E);
 * text — no rule decides, the LLM verifier does.
 */
export const TaskKind = z.enum(['numeric', 'math', 'choice', 'text']);
export type TaskKind = z.infer<typeof TaskKind>;

/** One problem of a dataset, whatever file format it came from: what every stage after loading reads. */
export const Problem = z.object({
  id: z.string().min(1),
  task: TaskKind,
  question: z.string().min(1),
  /** The gold final answer only (e.g. "18", "\\frac{1}{2}", "B"), never a whole solution. */
  gold: z.string().min(1),
  /** A reference solution when the dataset has one (GSM8K's worked answer, MATH's solution). */
  solution: z.string().optional(),
  /** Answer options in order for `choice` tasks; option i has letter "ABCDE"[i]. */
  options: z.array(z.string()).optional(),
});
export type Problem = z.infer<typeof Problem>;
