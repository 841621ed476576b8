import { lastBoxed } from '../../core/answer/spans';
import type { Problem } from '../../core/problem';
import { FieldError } from './errors';
import { asRecord, optionalId, optionalString, requireString } from './fields';

/**
 * MATH (hendrycks/competition_math): `{problem, solution, level?, type?}`. Gold is the content of
 * the solution's last `\boxed{...}` (nested braces kept), found by the same rule the verifier
 * uses on completions, so gold and extracted answers are cut alike.
 */
export function parseMath(raw: unknown, position: number): Problem {
  const record = asRecord(raw);
  const question = requireString(record, 'problem');
  const solution = requireString(record, 'solution');
  // Not part of Problem, but a wrong type here means the file is not what it claims to be.
  optionalString(record, 'level');
  optionalString(record, 'type');
  const gold = lastBoxed(solution);
  if (gold === null) throw new FieldError('solution', 'has no \\boxed{...} answer (or its braces do not balance)');
  if (gold === '') throw new FieldError('solution', 'has an empty \\boxed{} answer');
  return { id: optionalId(record, 'id') ?? `math-${position}`, task: 'math', question, gold, solution };
}
