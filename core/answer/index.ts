import type { TaskKind } from '../problem';
import { choiceEquivalent } from './choice';
import { extractAnswer } from './extract';
import { mathEquivalent } from './math';
import { numericEquivalent } from './numeric';

/**
 * The answer rules as they were before the one checker (trainer/agentark_trainer/checker.py, math by
 * math-verify, reached through activities/checker): frozen, kept for the replay of workflows recorded
 * with them. Nothing new calls these; they must still pass every case in vectors.json (their own).
 *
 * `extracted` is the final answer as it stands in the completion, trimmed, before normalisation:
 * - numeric / math: the content of the chosen source — the rest of the `####` line, the last
 *   `\boxed{}` content, what follows "answer is" / "answer:" / a line-start `A:` up to the end of
 *   its line or sentence, or else the last number as written (e.g. "$18.00", "\frac{1}{2}", "1,234").
 *   numeric tries `####` first, math tries `\boxed{}` first.
 * - choice: the letter as written without brackets ("b" for "(b)"), or the option text when the
 *   answer names an option by its text.
 * - text: the last `\boxed{}`, the answer phrase, or else the last non-empty line.
 * `correct` is null only when no rule can decide (task `text`); numeric, math and choice answers
 * that cannot be extracted are wrong.
 */
export { extractAnswer } from './extract';
export { normaliseMath } from './math';
export { numericValue } from './numeric';

export interface CheckInput {
  task: TaskKind;
  completion: string;
  gold: string;
  /** Option texts in letter order, for `choice` answers given as text. */
  options?: readonly string[];
}

export interface CheckResult {
  extracted: string | null;
  correct: boolean | null;
}

export function isEquivalent(task: TaskKind, extracted: string, gold: string, options?: readonly string[]): boolean | null {
  switch (task) {
    case 'numeric':
      return numericEquivalent(extracted, gold);
    case 'math':
      return mathEquivalent(extracted, gold);
    case 'choice':
      return choiceEquivalent(extracted, gold, options);
    case 'text':
      return null;
  }
}

export function checkAnswer({ task, completion, gold, options }: CheckInput): CheckResult {
  const extracted = extractAnswer(task, completion, options);
  if (extracted === null) return { extracted, correct: task === 'text' ? null : false };
  return { extracted, correct: isEquivalent(task, extracted, gold, options) };
}
