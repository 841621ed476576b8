import fc from 'fast-check';

/**
 * Mutated generateDebates run configs, each with the outcome it must have by construction: accepted
 * (the mutation happens to stay inside the schema) or rejected with a message naming `path`.
 * The field table below is the test's own statement of the documented limits (core/config.ts).
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Obj = { [key: string]: Json };

type Leaf =
  | { kind: 'int'; min: number; max?: number }
  | { kind: 'number'; min: number; max: number; above?: true }
  | { kind: 'enum'; values: readonly string[] }
  | { kind: 'string'; pattern?: RegExp; minLength?: number; maxLength?: number }
  | { kind: 'url' }
  | { kind: 'bool' }
  | { kind: 'object'; strict: boolean };

interface Field {
  leaf: Leaf;
  /** Deleting it must be rejected (no default, not optional for this base). */
  required?: true;
}

const idPattern = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

const fields: Record<string, Field> = {
  '': { leaf: { kind: 'object', strict: true }, required: true },
  runId: { leaf: { kind: 'string', pattern: idPattern, maxLength: 100 }, required: true },
  dataset: { leaf: { kind: 'object', strict: true }, required: true },
  'dataset.format': { leaf: { kind: 'enum', values: ['gsm8k', 'math', 'medmcqa', 'metamathqa', 'demo'] }, required: true },
  'dataset.url': { leaf: { kind: 'string' }, required: true },
  'dataset.limit': { leaf: { kind: 'int', min: 1 } },
  'dataset.onBadRecord': { leaf: { kind: 'enum', values: ['fail', 'skip'] } },
  'dataset.mapping': { leaf: { kind: 'object', strict: false }, required: true },
  'dataset.mapping.question': { leaf: { kind: 'string', minLength: 0 }, required: true },
  'dataset.mapping.gold': { leaf: { kind: 'string', minLength: 0 }, required: true },
  'dataset.mapping.id': { leaf: { kind: 'string', minLength: 0 } },
  'dataset.mapping.task': { leaf: { kind: 'enum', values: ['numeric', 'math', 'choice', 'text'] }, required: true },
  teacher: { leaf: { kind: 'object', strict: true } },
  'teacher.baseUrl': { leaf: { kind: 'url' } },
  'teacher.model': { leaf: { kind: 'string' } },
  'teacher.temperature': { leaf: { kind: 'number', min: 0, max: 2 } },
  'teacher.topP': { leaf: { kind: 'number', min: 0, max: 1, above: true } },
  'teacher.maxTokens': { leaf: { kind: 'int', min: 1, max: 1_048_576 } },
  debate: { leaf: { kind: 'object', strict: true } },
  'debate.agents': { leaf: { kind: 'int', min: 1, max: 16 } },
  'debate.rounds': { leaf: { kind: 'int', min: 1, max: 10 } },
  'debate.earlyStop': { leaf: { kind: 'enum', values: ['unanimous', 'never'] } },
  'debate.peerReasoning': { leaf: { kind: 'enum', values: ['strip', 'keep'] } },
  verifier: { leaf: { kind: 'object', strict: true } },
  'verifier.enabled': { leaf: { kind: 'bool' } },
  judge: { leaf: { kind: 'object', strict: true } },
  'judge.enabled': { leaf: { kind: 'bool' } },
  'judge.k': { leaf: { kind: 'int', min: 1, max: 3 } },
  datasets: { leaf: { kind: 'object', strict: true } },
  'datasets.includeReasoning': { leaf: { kind: 'bool' } },
  window: { leaf: { kind: 'int', min: 1, max: 500 } },
  childrenPerExecution: { leaf: { kind: 'int', min: 1, max: 5000 } },
  settleAfterSeconds: { leaf: { kind: 'int', min: 1, max: 86_400 } },
  llmQueue: { leaf: { kind: 'string' } },
  seed: { leaf: { kind: 'int', min: 0 } },
};

/** Keys every object of the schema knows, so an "unknown key" is never one of them. */
const knownKeys = new Set([
  ...Object.keys(fields).flatMap((p) => p.split('.')),
  'store', 'profile', 'agentModels', 'contextWindow', 'cacheNamespace', 'demo', 'solution', 'options', 'chain',
]);

/** Valid configs the mutations start from: a GSM8K file and a generic JSONL file with a mapping. */
export const baseConfigs: Obj[] = [
  {
    runId: 'chaos-gsm8k',
    dataset: { format: 'gsm8k', url: 'file:///tmp/chaos/gsm8k.jsonl', limit: 40, onBadRecord: 'fail' },
    teacher: { baseUrl: 'http://127.0.0.1:9/v1', model: 'fake-teacher', temperature: 0.7, topP: 1, maxTokens: 256 },
    debate: { agents: 3, rounds: 2, earlyStop: 'never', peerReasoning: 'strip' },
    verifier: { enabled: true },
    judge: { enabled: false, k: 3 },
    datasets: { includeReasoning: true },
    window: 100,
    childrenPerExecution: 1000,
    settleAfterSeconds: 120,
    llmQueue: 'agentark-llm',
    seed: 0,
  },
  {
    runId: 'chaos-jsonl',
    dataset: { format: 'jsonl', url: 's3://agentark/data/q.jsonl', mapping: { id: 'uid', question: 'q', gold: 'a', task: 'numeric' } },
    debate: { agents: 2, rounds: 1 },
    window: 5,
  },
];

export interface Mutation {
  kind: 'delete' | 'wrong-type' | 'number' | 'string' | 'unknown-key' | 'nested-garbage' | 'not-an-object';
  config: Json;
  /** What the parser must do: accept, or reject naming this path ('' is the top level). */
  expect: { accept: true } | { accept: false; path: string; mentions?: string };
}

const pathsOf = (value: Json, prefix = ''): string[] => {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [prefix];
  return [prefix, ...Object.entries(value).flatMap(([k, v]) => pathsOf(v, prefix ? `${prefix}.${k}` : k))];
};

/** A copy of `config` with the value at `path` replaced (undefined: deleted). */
function withValue(config: Obj, path: string, value: Json | undefined): Json {
  if (path === '') return value ?? null;
  const copy = structuredClone(config);
  const parts = path.split('.');
  let node = copy;
  for (const p of parts.slice(0, -1)) node = node[p] as Obj;
  const last = parts[parts.length - 1];
  if (value === undefined) delete node[last];
  else node[last] = value;
  return copy;
}

const getValue = (config: Obj, path: string): Json =>
  path === '' ? config : path.split('.').reduce<Json>((node, p) => (node as Obj)[p], config);

const leafAccepts = (leaf: Leaf, value: Json): boolean => {
  switch (leaf.kind) {
    case 'int':
      return typeof value === 'number' && Number.isSafeInteger(value) && value >= leaf.min && (leaf.max === undefined || value <= leaf.max);
    case 'number':
      return typeof value === 'number' && (leaf.above ? value > leaf.min : value >= leaf.min) && value <= leaf.max;
    case 'enum':
      return typeof value === 'string' && leaf.values.includes(value);
    case 'string':
      return typeof value === 'string' && value.length >= (leaf.minLength ?? 1) && value.length <= (leaf.maxLength ?? Infinity) && (leaf.pattern?.test(value) ?? true);
    case 'url':
    case 'object':
      throw new Error(`no generated values for ${leaf.kind}`);
    case 'bool':
      return typeof value === 'boolean';
  }
};

/** JSON values of a type the leaf never takes. */
const wrongTypeFor = (leaf: Leaf): fc.Arbitrary<Json> => {
  const scalar = fc.oneof(fc.constant(null), fc.boolean(), fc.integer(), fc.string(), fc.constant([]), fc.constant({ nested: { deeper: [1, 'x'] } }));
  const isRightType = (v: Json): boolean =>
    (['int', 'number'].includes(leaf.kind) && typeof v === 'number') ||
    (['enum', 'string', 'url'].includes(leaf.kind) && typeof v === 'string') ||
    (leaf.kind === 'bool' && typeof v === 'boolean') ||
    (leaf.kind === 'object' && v !== null && typeof v === 'object' && !Array.isArray(v));
  return scalar.filter((v) => !isRightType(v as Json)) as fc.Arbitrary<Json>;
};

const unknownKey = fc.oneof(
  fc.string({ minLength: 1, maxLength: 12 }),
  fc.constantFrom('__proto__', 'constructor', 'toString', 'apiKey', 'teacherKey', 'rounds ', 'Runid'),
).filter((k) => !knownKeys.has(k));

/** Deep JSON with at least one key no schema object knows, or an array: wrong wherever it lands. */
const nestedGarbage: fc.Arbitrary<Json> = fc.oneof(
  fc.tuple(unknownKey, fc.jsonValue({ maxDepth: 4 })).map(([k, v]) => ({ [k]: { [k]: [v, { [k]: v }] } }) as Json),
  fc.array(fc.jsonValue({ maxDepth: 3 }), { minLength: 0, maxLength: 4 }) as fc.Arbitrary<Json>,
);

const reject = (path: string, mentions?: string): Mutation['expect'] => ({ accept: false, path, ...(mentions ? { mentions } : {}) });

function mutationOf(base: Obj): fc.Arbitrary<Mutation> {
  const present = pathsOf(base).filter((p) => p in fields);
  const pick = fc.constantFrom(...present);
  const leaves = present.filter((p) => fields[p].leaf.kind !== 'object');
  const numeric = leaves.filter((p) => ['int', 'number'].includes(fields[p].leaf.kind));
  const texts = leaves.filter((p) => ['enum', 'string'].includes(fields[p].leaf.kind));
  const objects = present.filter((p) => fields[p].leaf.kind === 'object');
  const number = fc.oneof(fc.integer({ min: -1_000, max: 2_000_000 }), fc.double({ min: -10, max: 1e4, noNaN: true, noDefaultInfinity: true }), fc.constantFrom(0, -0, 0.5, 1.5, 2 ** 53));

  const del = pick.filter((p) => p !== '').map((path): Mutation => ({
    kind: 'delete',
    config: withValue(base, path, undefined),
    expect: fields[path].required ? reject(path) : { accept: true },
  }));
  const wrongType = pick.chain((path) => wrongTypeFor(fields[path].leaf).map((value): Mutation => ({
    kind: path === '' ? 'not-an-object' : 'wrong-type',
    config: withValue(base, path, value),
    expect: reject(path),
  })));
  const numbers = fc.tuple(fc.constantFrom(...numeric), number).map(([path, value]): Mutation => ({
    kind: 'number',
    config: withValue(base, path, value),
    expect: leafAccepts(fields[path].leaf, value) ? { accept: true } : reject(path),
  }));
  const strings = fc.tuple(fc.constantFrom(...texts), fc.oneof(fc.string({ maxLength: 120 }), fc.constantFrom('', ' ', 'skip', 'never', 'a'.repeat(101))))
    .map(([path, value]): Mutation => ({
      kind: 'string',
      config: withValue(base, path, value),
      expect: leafAccepts(fields[path].leaf, value) ? { accept: true } : reject(path),
    }));
  const extra = fc.tuple(fc.constantFrom(...objects), unknownKey, fc.jsonValue({ maxDepth: 2 })).map(([path, key, value]): Mutation => {
    const target = { ...(getValue(base, path) as Obj) };
    Object.defineProperty(target, key, { value: value as Json, enumerable: true, writable: true, configurable: true });
    const strict = (fields[path].leaf as { strict: boolean }).strict;
    return { kind: 'unknown-key', config: withValue(base, path, target), expect: strict ? reject(path, `"${key}"`) : { accept: true } };
  });
  const garbage = fc.tuple(pick, nestedGarbage).map(([path, value]): Mutation => ({
    kind: path === '' ? 'not-an-object' : 'nested-garbage',
    config: withValue(base, path, value),
    expect: reject(path),
  }));
  return fc.oneof(del, wrongType, numbers, strings, extra, garbage);
}

export const configMutation: fc.Arbitrary<Mutation> = fc.oneof(...baseConfigs.map(mutationOf));
