import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { rename, stat, unlink } from 'node:fs/promises';
import { once } from 'node:events';
import { basename, dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { Command, Option } from 'commander';
import { z } from 'zod';
import { checkAnswers, closeChecker, type CheckItem } from '../activities/checker';
import { TaskKind } from '../core/problem';

/** One line of the input; `options` is read from the field named by --options-field. */
const AnswerLine = z.object({
  id: z.union([z.string(), z.number()]),
  gold: z.string(),
  completion: z.string(),
  options: z.array(z.string()).optional(),
});

interface VerifyOptions {
  task: TaskKind;
  in: string;
  out: string;
  optionsField: string;
}

interface Summary {
  lines: number;
  correct: number;
  wrong: number;
  undecided: number;
}

export function registerVerify(program: Command): void {
  program
    .command('verify')
    .description(
      'Check model answers against gold answers with the answer checker the pipeline uses\n' +
        '(math by math-verify; numeric, choice and text by the project\'s rules; it needs the trainer\'s Python: make setup).\n' +
        'Reads JSON lines {"id", "gold", "completion", "options"?} and writes JSON lines\n' +
        '{"id", "extracted", "correct", "checker", "version", "reason"?}; correct is null where no rule decides\n' +
        '(task "text") or a check ran past AGENTARK_CHECK_TIMEOUT_MS (reason says so).',
    )
    .addOption(new Option('--task <kind>', 'how answers are checked').choices(TaskKind.options).makeOptionMandatory())
    .requiredOption('--in <file>', 'input JSON-lines file')
    .requiredOption('--out <file>', 'output JSON-lines file (written only if every input line is valid)')
    .option('--options-field <name>', 'input field holding the answer options of a choice question', 'options')
    .addHelpText(
      'after',
      '\nExample:\n' +
        '  $ agentark verify --task numeric --in answers.jsonl --out verdicts.jsonl\n' +
        '  1319 lines, 1301 correct, 18 wrong, 0 undecided   (summary on stderr)\n' +
        '\nA malformed input line stops the command with exit code 1 and a message naming the line and field.',
    )
    .action(async (opts: VerifyOptions) => {
      let summary: Summary;
      try {
        summary = await verifyFile(opts);
      } finally {
        closeChecker();
      }
      process.stderr.write(
        `${summary.lines} ${summary.lines === 1 ? 'line' : 'lines'}, ${summary.correct} correct, ${summary.wrong} wrong, ${summary.undecided} undecided\n`,
      );
    });
}

/** Lines checked per call to the checker; while one chunk is checked the next is read. */
const CHUNK = 512;

/**
 * Streams the input so that files of any size fit in memory. The output goes to a temporary file
 * renamed into place at the end: a bad line never leaves a half-written --out behind.
 */
export async function verifyFile({ task, in: input, out, optionsField }: VerifyOptions): Promise<Summary> {
  const folder = dirname(out);
  if (!(await stat(folder).then((st) => st.isDirectory(), () => false))) {
    throw new Error(`--out ${out}: folder ${folder} does not exist`);
  }
  const tmp = join(folder, `.${basename(out)}.${process.pid}.tmp`);
  const sink = createWriteStream(tmp);
  const summary: Summary = { lines: 0, correct: 0, wrong: 0, undecided: 0 };
  // Chunks are checked in order, one being checked while the one before is written.
  let writing: Promise<void> = Promise.resolve();
  const flush = async (chunk: { id: string | number; item: CheckItem }[]): Promise<void> => {
    const verdicts = checkAnswers(chunk.map((c) => c.item));
    verdicts.catch(() => undefined); // awaited in turn below; a failure before then is not unhandled
    const previous = writing;
    writing = (async () => {
      await previous;
      for (const [i, verdict] of (await verdicts).entries()) {
        summary.lines++;
        if (verdict.correct === true) summary.correct++;
        else if (verdict.correct === false) summary.wrong++;
        else summary.undecided++;
        await write(sink, JSON.stringify({ id: chunk[i].id, ...verdict }) + '\n');
      }
    })();
    writing.catch(() => undefined); // likewise
    await previous;
  };
  try {
    const source = createReadStream(input, { encoding: 'utf8' });
    const lines = createInterface({ input: source, crlfDelay: Infinity });
    let lineNo = 0;
    let chunk: { id: string | number; item: CheckItem }[] = [];
    for await (const text of lines) {
      lineNo++;
      if (text.trim() === '') continue;
      const where = `${input} line ${lineNo}`;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (err) {
        throw new Error(`${where}: not valid JSON (${(err as Error).message})`);
      }
      const fields = renameField(value, optionsField, 'options');
      const parsed = AnswerLine.safeParse(fields);
      if (!parsed.success) throw new Error(`${where}: ${describeIssue(parsed.error, fields, optionsField)}`);
      const { id, completion, gold, options } = parsed.data;
      chunk.push({ id, item: { task, completion, gold, options } });
      if (chunk.length === CHUNK) {
        await flush(chunk);
        chunk = [];
      }
    }
    if (chunk.length > 0) await flush(chunk);
    await writing;
    if (summary.lines === 0) throw new Error(`${input}: no answers to verify (the file is empty)`);
    sink.end();
    await once(sink, 'finish');
    await rename(tmp, out);
    return summary;
  } catch (err) {
    await writing.catch(() => undefined);
    sink.destroy();
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

function renameField(value: unknown, from: string, to: string): unknown {
  if (from === to || value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const { [from]: moved, ...rest } = value as Record<string, unknown>;
  return { ...rest, [to]: moved };
}

async function write(sink: WriteStream, chunk: string): Promise<void> {
  if (!sink.write(chunk)) await once(sink, 'drain');
}

/** "field 'gold' is missing" / "field 'gold' must be a string, got number" — the first problem only. */
function describeIssue(error: z.ZodError, value: unknown, optionsField: string): string {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return `expected a JSON object like {"id", "gold", "completion"}, got ${typeName(value)}`;
  }
  const issue = error.issues[0];
  const path = [issue.path[0] === 'options' ? optionsField : issue.path[0], ...issue.path.slice(1)].map(String).join('.');
  let actual: unknown = value;
  for (const key of issue.path) actual = (actual as Record<PropertyKey, unknown> | undefined)?.[key as PropertyKey];
  if (actual === undefined) return `field '${path}' is missing`;
  if (issue.code === 'invalid_type' || issue.code === 'invalid_union') {
    const expected = issue.code === 'invalid_type' ? describeExpected(issue.expected) : 'a string or a number';
    return `field '${path}' must be ${expected}, got ${typeName(actual)}`;
  }
  return `field '${path}': ${issue.message}`;
}

function describeExpected(expected: string): string {
  return expected === 'array' ? 'an array of strings' : `a ${expected}`;
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v;
}
