import { z } from 'zod';
import { TaskKind } from './problem';

/**
 * What the answer checker says of one completion (trainer/agentark_trainer/checker.py, reached through
 * activities/checker). `correct` is null when no rule decides (task `text`), when the gold cannot be
 * read, or when the check ran past its deadline (`reason` says which). `checker` and `version` name the
 * rules that gave it, so a record shows which checker judged it.
 */
export const Verdict = z.object({
  extracted: z.string().nullable(),
  correct: z.boolean().nullable(),
  checker: z.string(),
  version: z.string(),
  reason: z.string().optional(),
});
export type Verdict = z.infer<typeof Verdict>;

/** Two extracted answers to compare; `b` is read as the reference (the gold, or a group's first answer). */
export const Comparison = z.object({
  task: TaskKind,
  a: z.string(),
  b: z.string(),
  options: z.array(z.string()).optional(),
});
export type Comparison = z.infer<typeof Comparison>;
