import fc from 'fast-check';
import type { LoadDatasetOptions } from '../../activities/datasets/load-dataset';

/**
 * Mutated dataset lines of the JSONL formats (gsm8k, math, medmcqa, generic jsonl), each with the
 * outcome it must have by construction: loaded, or rejected naming the line and (for a bad field)
 * the field. The field kinds are the test's own statement of each format's documented fields.
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Obj = { [key: string]: Json };

/** string: a non-blank string; text: that or a finite number; optional: absent, null or a string; id: absent, null, a number or a non-blank string. */
type Kind = 'string' | 'text' | 'optional' | 'id' | 'gsm8k-answer' | 'boxed' | 'cop';

interface Format {
  options: Omit<LoadDatasetOptions, 'url'>;
  fields: Record<string, Kind>;
  line(n: number): Obj;
}

export const formats: Record<string, Format> = {
  gsm8k: {
    options: { format: 'gsm8k' },
    fields: { id: 'id', question: 'string', answer: 'gsm8k-answer' },
    line: (n) => ({ id: `ok-${n}`, question: `Tom has ${n} apples and buys 4. How many now?`, answer: `${n}+4=${n + 4}\n#### ${n + 4}` }),
  },
  math: {
    options: { format: 'math' },
    fields: { id: 'id', problem: 'string', solution: 'boxed', level: 'optional', type: 'optional' },
    line: (n) => ({ id: `ok-${n}`, problem: `What is $${n}/2$?`, solution: `Halve it: $\\boxed{\\frac{${n}}{2}}$.`, level: 'Level 1', type: 'Algebra' }),
  },
  medmcqa: {
    options: { format: 'medmcqa', copBase: 1 },
    fields: { id: 'id', question: 'string', opa: 'text', opb: 'text', opc: 'text', opd: 'text', cop: 'cop' },
    line: (n) => ({ id: `ok-${n}`, question: `Which nerve, case ${n}?`, opa: 'Vagus', opb: 'Facial', opc: 'Optic', opd: 'Ulnar', cop: 1 + (n % 4) }),
  },
  jsonl: {
    options: { format: 'jsonl', mapping: { id: 'uid', question: 'q', gold: 'a', task: 'numeric' } },
    fields: { uid: 'id', q: 'string', a: 'text' },
    line: (n) => ({ uid: `ok-${n}`, q: `What is ${n} + 1?`, a: String(n + 1) }),
  },
};

export interface LineMutation {
  format: string;
  kind: 'delete' | 'wrong-type' | 'value' | 'unknown-key' | 'duplicate-id' | 'truncated' | 'not-json' | 'not-an-object';
  /** Valid lines before and after the mutated one. */
  before: number;
  after: number;
  text: string;
  /** accept, or reject naming the mutated line (before + 1) and this field (null: the line itself). */
  expect: { accept: true } | { accept: false; field: string | null };
}

const isBlank = (v: unknown): boolean => typeof v === 'string' && v.trim() === '';

function accepts(kind: Kind, v: Json | undefined): boolean {
  const str = typeof v === 'string' && !isBlank(v);
  switch (kind) {
    case 'string':
      return str;
    case 'text':
      return str || (typeof v === 'number' && Number.isFinite(v));
    case 'optional':
      return v === undefined || v === null || typeof v === 'string';
    case 'id':
      return v === undefined || v === null || str || (typeof v === 'number' && Number.isFinite(v));
    case 'cop': {
      const n = typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : v;
      return typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 4;
    }
    case 'gsm8k-answer':
    case 'boxed':
      return false; // only ever given values built to be bad (below)
  }
}

const anyValue: fc.Arbitrary<Json> = fc.oneof(
  fc.constant(null), fc.boolean(), fc.integer({ min: -5, max: 10 }), fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom('', '   ', '\t', 'x', '3', ' 2 ', '-1', '4.0'), fc.string({ maxLength: 8 }),
  fc.constant<Json>([]), fc.constant<Json>(['a', 1]), fc.constant<Json>({ nested: { deeper: [null] } }),
);

/** Values a semantic field must refuse: no `#### n` / `\boxed{}` line, or a broken one. */
const badSemantic: Record<'gsm8k-answer' | 'boxed', fc.Arbitrary<Json>> = {
  'gsm8k-answer': fc.oneof(
    fc.string({ minLength: 1 }).filter((s) => !s.includes('#') && !isBlank(s)),
    fc.constantFrom('#### ', '#### seven', 'x\n#### 1.2.3', '#### 4\nthen more', '## 4'),
  ),
  boxed: fc.oneof(
    fc.string({ minLength: 1 }).filter((s) => !s.includes('boxed') && !isBlank(s)),
    fc.constantFrom('\\boxed{}', 'so \\boxed{1', '\\boxed', 'answer: 1/2'),
  ),
};

// At least one valid line: a file with no loadable record at all is a different error (DatasetEmptyError).
const position = fc.record({ before: fc.integer({ min: 0, max: 3 }), after: fc.integer({ min: 1, max: 2 }) });

function mutationsOf(name: string): fc.Arbitrary<LineMutation> {
  const format = formats[name];
  const names = Object.keys(format.fields);
  const idField = names.find((f) => format.fields[f] === 'id')!;
  const at = (before: number): Obj => format.line(before + 1);
  const mk = (p: { before: number; after: number }, kind: LineMutation['kind'], text: string, expect: LineMutation['expect']): LineMutation =>
    ({ format: name, kind, ...p, text, expect });
  const reject = (field: string | null): LineMutation['expect'] => ({ accept: false, field });
  const withField = (line: Obj, field: string, value: Json | undefined): string => {
    const copy: Obj = { ...line };
    if (value === undefined) delete copy[field];
    else copy[field] = value;
    return JSON.stringify(copy);
  };

  const del = fc.tuple(position, fc.constantFrom(...names)).map(([p, field]) =>
    mk(p, 'delete', withField(at(p.before), field, undefined), accepts(format.fields[field], undefined) ? { accept: true } : reject(field)));
  const plainFields = names.filter((f) => !['gsm8k-answer', 'boxed'].includes(format.fields[f]));
  const value = fc.tuple(position, fc.constantFrom(...plainFields), anyValue).map(([p, field, v]) => {
    const kind = typeof v === 'string' || typeof v === 'number' ? 'value' : 'wrong-type';
    return mk(p, kind, withField(at(p.before), field, v), accepts(format.fields[field], v) ? { accept: true } : reject(field));
  });
  const semanticFields = names.filter((f) => ['gsm8k-answer', 'boxed'].includes(format.fields[f]));
  const semantic = semanticFields.length === 0 ? value : fc.tuple(position, fc.constantFrom(...semanticFields)).chain(([p, field]) =>
    fc.oneof(badSemantic[format.fields[field] as 'boxed'], anyValue).map((v) => mk(p, 'value', withField(at(p.before), field, v), reject(field))));
  const extra = fc.tuple(position, fc.string({ minLength: 1, maxLength: 10 }).filter((k) => !names.includes(k)), anyValue).map(([p, key, v]) =>
    mk(p, 'unknown-key', withField(at(p.before), key, v), { accept: true }));
  const duplicate = position.filter((p) => p.before > 0).map((p) =>
    mk(p, 'duplicate-id', withField(at(p.before), idField, `ok-${p.before}`), reject('id')));
  const truncated = fc.tuple(position, fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true })).map(([p, cut]) => {
    const full = JSON.stringify(at(p.before));
    const text = full.slice(0, 1 + Math.floor(cut * (full.length - 1)));
    return mk(p, 'truncated', text, reject(null));
  });
  const notJson = fc.tuple(position, fc.string({ minLength: 1, maxLength: 30 }))
    .filter(([, s]) => !isBlank(s) && !/[\r\n\u2028\u2029\ufeff]/.test(s) && !isJson(s))
    .map(([p, s]) => mk(p, 'not-json', s, reject(null)));
  const notObject = fc.tuple(position, fc.oneof(fc.integer(), fc.constantFrom('"text"', 'null', 'true', '[1,2]', '[]', '[{"question":"q"}]')))
    .map(([p, v]) => mk(p, 'not-an-object', typeof v === 'number' ? String(v) : v, reject('(record)')));
  return fc.oneof(del, value, semantic, extra, duplicate, truncated, notJson, notObject);
}

function isJson(s: string): boolean {
  try {
    JSON.parse(s);
    return true;
  } catch {
    return false;
  }
}

export const lineMutation: fc.Arbitrary<LineMutation> = fc.oneof(...Object.keys(formats).map(mutationsOf));

/** The file a mutation stands in: valid lines, the mutated one, valid lines. */
export function fileText(m: LineMutation): string {
  const lines = Array.from({ length: m.before + 1 + m.after }, (_, i) => (i === m.before ? m.text : JSON.stringify(formats[m.format].line(i + 1))));
  return `${lines.join('\n')}\n`;
}
