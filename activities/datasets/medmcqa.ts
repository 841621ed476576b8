import type { Problem } from '../../core/problem';
import { DatasetConfigError, FieldError } from './errors';
import { asRecord, describe, fieldValue, optionalId, requireString, requireText } from './fields';

/**
 * MedMCQA: `{id, question, opa, opb, opc, opd, cop}`. The correct option `cop` is 1–4 in the
 * dataset's original release and 0–3 in the Hugging Face copy, and a file alone does not say
 * which: `detectCopBase` decides from the values present (any 0 → 0-based, any 4 → 1-based).
 * The test split has no answers (cop −1), which is an error per record, not a wrong letter.
 */
export type CopBase = 0 | 1;

const OPTION_FIELDS = ['opa', 'opb', 'opc', 'opd'] as const;
const LETTERS = 'ABCD';

/** The integer value of `cop`, or null when it has none (the caller reports it per record). */
export function copValue(raw: unknown): number | null {
  if (raw === null || typeof raw !== 'object') return null;
  const value = fieldValue(raw as Record<string, unknown>, 'cop');
  const number = typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
  return typeof number === 'number' && Number.isInteger(number) ? number : null;
}

export function detectCopBase(values: Iterable<number>, file: string): CopBase {
  let zero = false;
  let four = false;
  for (const value of values) {
    if (value === 0) zero = true;
    if (value === 4) four = true;
  }
  if (zero && four) throw new DatasetConfigError(`${file}: field 'cop' has both 0 and 4 values, so it is neither 0–3 nor 1–4; fix the file or set copBase`);
  if (zero) return 0;
  if (four) return 1;
  throw new DatasetConfigError(`${file}: cannot tell whether 'cop' is 0–3 or 1–4 (no record has 0 or 4); set copBase to 0 or 1`);
}

export function makeMedmcqaParser(copBase: CopBase): (raw: unknown, position: number) => Problem {
  return (raw, position) => {
    const record = asRecord(raw);
    const question = requireString(record, 'question');
    const options = OPTION_FIELDS.map((field) => requireText(record, field));
    const cop = copValue(record);
    if (cop === null) {
      const value = fieldValue(record, 'cop');
      throw new FieldError('cop', value === undefined ? 'is missing' : `must be an integer, got ${describe(value)}`);
    }
    if (cop === -1) throw new FieldError('cop', 'is -1: the record has no answer key (MedMCQA test split)');
    const index = cop - copBase;
    if (index < 0 || index > 3) throw new FieldError('cop', `is ${cop}, outside ${copBase}–${copBase + 3}`);
    return { id: optionalId(record, 'id') ?? `medmcqa-${position}`, task: 'choice', question, gold: LETTERS[index], options };
  };
}
