import { z } from 'zod';
import { TaskKind, type Problem } from '../../core/problem';
import { FieldError } from './errors';
import { asRecord, optionalId, optionalString, requireString, requireStringArray, requireText } from './fields';

/** Which field of each record holds what; dotted paths reach nested fields. `task` is a constant. */
export const FieldMapping = z.strictObject({
  id: z.string().min(1).optional(),
  question: z.string().min(1),
  gold: z.string().min(1),
  solution: z.string().min(1).optional(),
  options: z.string().min(1).optional(),
  task: TaskKind,
});
export type FieldMapping = z.infer<typeof FieldMapping>;

const LETTERS = 'ABCDE';

export function makeGenericParser(mapping: FieldMapping): (raw: unknown, position: number) => Problem {
  return (raw, position) => {
    const record = asRecord(raw);
    const question = requireString(record, mapping.question);
    let gold = requireText(record, mapping.gold).trim();
    const solution = mapping.solution ? optionalString(record, mapping.solution) : undefined;
    const options = mapping.options ? requireStringArray(record, mapping.options) : undefined;
    if (mapping.task === 'choice') {
      if (!options) throw new FieldError(mapping.gold, "needs an 'options' mapping: a choice task is checked against its option letters");
      if (options.length < 2 || options.length > LETTERS.length) throw new FieldError(mapping.options ?? 'options', `must have 2–${LETTERS.length} options, got ${options.length}`);
      gold = gold.toUpperCase();
      const index = LETTERS.indexOf(gold);
      if (gold.length !== 1 || index === -1 || index >= options.length) {
        throw new FieldError(mapping.gold, `must be an option letter A–${LETTERS[options.length - 1]}, got ${JSON.stringify(gold)}`);
      }
    }
    return {
      id: (mapping.id ? optionalId(record, mapping.id) : undefined) ?? `jsonl-${position}`,
      task: mapping.task,
      question,
      gold,
      ...(solution ? { solution } : {}),
      ...(options ? { options } : {}),
    };
  };
}
