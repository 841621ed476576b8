import type { Problem } from '../../core/problem';
import { FieldError } from './errors';
import { asRecord, optionalId, requireString } from './fields';

/**
 * GSM8K (openai/grade-school-math): `{question, answer}` where the answer is a worked solution
 * whose last line is `#### N`. Gold is N without thousands separators; the solution is the text
 * above that line (with its `<<a*b=c>>` calculator annotations kept, as the dataset has them).
 */
export function parseGsm8k(raw: unknown, position: number): Problem {
  const record = asRecord(raw);
  const question = requireString(record, 'question');
  const answer = requireString(record, 'answer');
  const lines = answer.trimEnd().split('\n');
  const marker = /^####[ \t]*(.*)$/.exec(lines[lines.length - 1].trim());
  if (!marker) throw new FieldError('answer', "has no '#### <number>' line");
  const written = marker[1].trim();
  const gold = written.replace(/,/g, '');
  if (!/^-?\d+(\.\d+)?$/.test(gold)) throw new FieldError('answer', `has a '####' line whose answer is not a number: ${JSON.stringify(written)}`);
  const solution = lines.slice(0, -1).join('\n').trim();
  return {
    id: optionalId(record, 'id') ?? `gsm8k-${position}`,
    task: 'numeric',
    question,
    gold,
    ...(solution ? { solution } : {}),
  };
}
