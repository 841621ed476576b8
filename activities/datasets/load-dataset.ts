import { z } from 'zod';
import { Problem } from '../../core/problem';
import { DEFAULT_MAX_LINE_BYTES } from '../store/lines';
import { JsonlParseError, type ArtifactStore } from '../store/store';
import { openObject } from '../store/store';
import { DatasetConfigError, DatasetEmptyError, DatasetRecordError, FieldError } from './errors';
import { FieldMapping, makeGenericParser } from './generic';
import { parseGsm8k } from './gsm8k';
import { JsonArrayError, readJsonArray } from './json-array';
import { parseMath } from './math';
import { copValue, detectCopBase, makeMedmcqaParser, type CopBase } from './medmcqa';
import { parseMetaMathQa } from './metamathqa';

export const DatasetFormat = z.enum(['gsm8k', 'math', 'medmcqa', 'metamathqa', 'jsonl']);
export type DatasetFormat = z.infer<typeof DatasetFormat>;

export const LoadDatasetOptions = z.strictObject({
  /** file:///abs/file.jsonl, s3://bucket/key.jsonl, or a local path. */
  url: z.string().min(1),
  format: DatasetFormat,
  /** Required for format `jsonl`, refused for the others (whose fields are fixed). */
  mapping: FieldMapping.optional(),
  onBadRecord: z.enum(['fail', 'skip']).default('fail'),
  /** Stop after this many problems have loaded. */
  limit: z.number().int().positive().optional(),
  maxLineBytes: z.number().int().positive().default(DEFAULT_MAX_LINE_BYTES),
  /** MedMCQA only: whether `cop` counts from 0 or 1; detected from the file when left out. */
  copBase: z.union([z.literal(0), z.literal(1)]).optional(),
});
export type LoadDatasetOptions = z.input<typeof LoadDatasetOptions>;

export interface LoadError {
  line: number;
  field: string | null;
  message: string;
}

export interface LoadReport {
  url: string;
  format: DatasetFormat;
  /** Records read (blank lines are not records). */
  read: number;
  loaded: number;
  skipped: number;
  /** The first 20 errors, in file order. */
  errors: LoadError[];
}

const MAX_REPORTED_ERRORS = 20;

type Parser = (raw: unknown, position: number) => Problem;

/** What a file yields before parsing: a value with its position, or why the line/element is bad. */
type Entry = { line: number; position: number; value: unknown } | { line: number; position: number; error: string };

/**
 * Opens a dataset as a stream of problems. `report` fills in as `problems` is consumed and is
 * final once iteration ends. With onBadRecord 'fail' the first bad record throws a
 * DatasetRecordError naming file, line and field; with 'skip' it is counted and listed in the
 * report. A file with no records, or none loadable, throws DatasetEmptyError either way.
 */
export function openDataset(input: LoadDatasetOptions): { problems: AsyncIterable<Problem>; report: LoadReport } {
  const parsed = LoadDatasetOptions.safeParse(input);
  if (!parsed.success) throw new DatasetConfigError(`dataset options: ${z.prettifyError(parsed.error)}`);
  const options = parsed.data;
  if (options.format === 'jsonl' && !options.mapping) throw new DatasetConfigError("dataset format 'jsonl' needs a field mapping {question, gold, task, id?, solution?, options?}");
  if (options.format !== 'jsonl' && options.mapping) throw new DatasetConfigError(`dataset format '${options.format}' has fixed fields; a mapping is only for format 'jsonl'`);
  if (options.format !== 'medmcqa' && options.copBase !== undefined) throw new DatasetConfigError("copBase is only for format 'medmcqa'");
  const { store, key } = openObject(options.url);
  const report: LoadReport = { url: store.urlOf(key), format: options.format, read: 0, loaded: 0, skipped: 0, errors: [] };
  return { problems: load(store, key, options, report), report };
}

/** Loads the whole dataset into memory: fine for test sets; stream large training sets with openDataset. */
export async function loadDataset(input: LoadDatasetOptions): Promise<{ problems: Problem[]; report: LoadReport }> {
  const { problems, report } = openDataset(input);
  const all: Problem[] = [];
  for await (const problem of problems) all.push(problem);
  return { problems: all, report };
}

async function* load(store: ArtifactStore, key: string, options: z.infer<typeof LoadDatasetOptions>, report: LoadReport): AsyncGenerator<Problem> {
  const label = `${options.format} ${key}`;
  const parse = await parserFor(store, key, options, label);
  const entries = options.format === 'metamathqa' ? arrayEntries(store, key, options.maxLineBytes, label) : lineEntries(store, key, options.maxLineBytes);
  const seen = new Map<string, number>();
  for await (const entry of entries) {
    report.read++;
    const outcome = 'error' in entry ? new DatasetRecordError(label, entry.line, null, entry.error) : toProblem(parse, entry, label, seen);
    if (outcome instanceof DatasetRecordError) {
      if (options.onBadRecord === 'fail') throw outcome;
      report.skipped++;
      if (report.errors.length < MAX_REPORTED_ERRORS) report.errors.push({ line: outcome.line, field: outcome.field, message: outcome.message });
      continue;
    }
    report.loaded++;
    yield outcome;
    if (options.limit !== undefined && report.loaded >= options.limit) return;
  }
  if (report.read === 0) throw new DatasetEmptyError(label, 'the file has no records (it is empty or blank)');
  if (report.loaded === 0) throw new DatasetEmptyError(label, `no record could be loaded: all ${report.read} were skipped; first error: ${report.errors[0]?.message}`);
}

function toProblem(parse: Parser, entry: { line: number; position: number; value: unknown }, label: string, seen: Map<string, number>): Problem | DatasetRecordError {
  let problem: Problem;
  try {
    problem = parse(entry.value, entry.position);
  } catch (error) {
    if (error instanceof FieldError) return new DatasetRecordError(label, entry.line, error.field, error.detail);
    throw error;
  }
  const checked = Problem.safeParse(problem);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    return new DatasetRecordError(label, entry.line, issue.path.join('.') || null, issue.message);
  }
  const earlier = seen.get(problem.id);
  if (earlier !== undefined) return new DatasetRecordError(label, entry.line, 'id', `repeats id ${JSON.stringify(problem.id)} of line ${earlier}`);
  seen.set(problem.id, entry.line);
  return checked.data;
}

async function parserFor(store: ArtifactStore, key: string, options: z.infer<typeof LoadDatasetOptions>, label: string): Promise<Parser> {
  switch (options.format) {
    case 'gsm8k':
      return parseGsm8k;
    case 'math':
      return parseMath;
    case 'metamathqa':
      return parseMetaMathQa;
    case 'jsonl':
      return makeGenericParser(options.mapping as FieldMapping);
    case 'medmcqa':
      return makeMedmcqaParser(options.copBase ?? (await scanCopBase(store, key, options.maxLineBytes, label)));
  }
}

/** A first pass over the file, stopping at the first 0 or 4, which settles the question. */
async function scanCopBase(store: ArtifactStore, key: string, maxLineBytes: number, label: string): Promise<CopBase> {
  const decisive: number[] = [];
  for await (const entry of store.readJsonl(key, { onError: 'yield', maxLineBytes })) {
    const cop = 'value' in entry ? copValue(entry.value) : null;
    if (cop === 0 || cop === 4) {
      decisive.push(cop);
      break;
    }
  }
  return detectCopBase(decisive, label);
}

async function* lineEntries(store: ArtifactStore, key: string, maxLineBytes: number): AsyncGenerator<Entry> {
  for await (const entry of store.readJsonl(key, { onError: 'yield', maxLineBytes })) {
    if ('value' in entry) yield { line: entry.line, position: entry.line, value: entry.value };
    else if (entry.error instanceof JsonlParseError) yield { line: entry.line, position: entry.line, error: `invalid JSON (${entry.error.reason})` };
    else yield { line: entry.line, position: entry.line, error: `line is longer than the maximum of ${maxLineBytes} bytes` };
  }
}

async function* arrayEntries(store: ArtifactStore, key: string, maxBytes: number, label: string): AsyncGenerator<Entry> {
  try {
    for await (const element of readJsonArray(store.readStream(key), maxBytes)) {
      yield 'value' in element
        ? { line: element.line, position: element.record, value: element.value }
        : { line: element.line, position: element.record, error: element.error };
    }
  } catch (error) {
    if (error instanceof JsonArrayError) throw new DatasetRecordError(label, error.line, null, error.message);
    throw error;
  }
}
