import { DatasetEmptyError, DatasetRecordError } from '../../../activities/datasets/errors';
import { loadDataset } from '../../../activities/datasets/load-dataset';
import { fixtureDir } from './fixtures';

let files: Awaited<ReturnType<typeof fixtureDir>>;
beforeAll(async () => {
  files = await fixtureDir();
});
afterAll(() => files.remove());

const good = (n: number) => JSON.stringify({ question: `What is ${n} + 1?`, answer: `${n} + 1 = ${n + 1}\n#### ${n + 1}` });

async function failure(name: string, content: string, extra: { maxLineBytes?: number } = {}): Promise<Error> {
  const url = await files.write(name, content);
  return loadDataset({ url, format: 'gsm8k', ...extra }).then(
    () => {
      throw new Error('expected the load to fail');
    },
    (error: Error) => error,
  );
}

describe('malformed GSM8K records', () => {
  it('names file and line for a truncated JSON line', async () => {
    const error = await failure('truncated.jsonl', `${good(1)}\n${good(2)}\n{"question": "cut off", "answ\n`);
    expect(error).toBeInstanceOf(DatasetRecordError);
    expect(error.message).toMatch(/^gsm8k truncated\.jsonl line 3: invalid JSON \(.+\)$/);
    expect((error as DatasetRecordError).line).toBe(3);
  });

  it('names the missing field', async () => {
    const error = await failure('missing.jsonl', `${good(1)}\n${JSON.stringify({ question: 'No answer here' })}\n`);
    expect(error.message).toBe("gsm8k missing.jsonl line 2: field 'answer' is missing");
    expect((error as DatasetRecordError).field).toBe('answer');
  });

  it('names a field of the wrong type', async () => {
    const error = await failure('wrong-type.jsonl', `${JSON.stringify({ question: 42, answer: '#### 1' })}\n`);
    expect(error.message).toBe("gsm8k wrong-type.jsonl line 1: field 'question' must be a string, got a number");
  });

  it("names an answer without a '#### <number>' line", async () => {
    const lines = Array.from({ length: 16 }, (_, i) => good(i));
    lines.push(JSON.stringify({ question: 'q', answer: 'The answer is 5.' }));
    const error = await failure('no-marker.jsonl', lines.join('\n'));
    expect(error.message).toBe("gsm8k no-marker.jsonl line 17: field 'answer' has no '#### <number>' line");
  });

  it('refuses a record that is not an object', async () => {
    const error = await failure('array.jsonl', `[1, 2]\n`);
    expect(error.message).toBe("gsm8k array.jsonl line 1: field '(record)' must be a JSON object, got an array");
  });

  it('refuses an empty or blank file with a clear message', async () => {
    for (const [name, content] of [['empty.jsonl', ''], ['blank.jsonl', '\n  \n\n']]) {
      const error = await failure(name, content);
      expect(error).toBeInstanceOf(DatasetEmptyError);
      expect(error.message).toBe(`gsm8k ${name}: the file has no records (it is empty or blank)`);
    }
  });

  it('refuses a line above the maximum length, naming the line, without buffering it', async () => {
    const huge = JSON.stringify({ question: 'x'.repeat(3 * 1024 * 1024), answer: '#### 1' });
    const error = await failure('huge.jsonl', `${good(1)}\n${huge}\n${good(3)}\n`, { maxLineBytes: 1024 * 1024 });
    expect(error.message).toBe('gsm8k huge.jsonl line 2: line is longer than the maximum of 1048576 bytes');
  });

  it('refuses repeated ids, naming both lines', async () => {
    const record = (id: string) => JSON.stringify({ id, question: 'q', answer: '#### 1' });
    const error = await failure('dupes.jsonl', [record('a'), record('b'), record('a')].join('\n'));
    expect(error.message).toBe(`gsm8k dupes.jsonl line 3: field 'id' repeats id "a" of line 1`);
  });
});

describe('onBadRecord: skip', () => {
  it('skips bad records, counts them and lists their errors', async () => {
    const huge = JSON.stringify({ question: 'x'.repeat(2 * 1024 * 1024), answer: '#### 1' });
    const content = [
      good(1),
      '{"question": "cut',
      JSON.stringify({ question: 'q' }),
      good(4),
      huge,
      JSON.stringify({ question: ['not', 'text'], answer: '#### 2' }),
      good(7),
    ].join('\n');
    const url = await files.write('mixed.jsonl', content);
    const { problems, report } = await loadDataset({ url, format: 'gsm8k', onBadRecord: 'skip', maxLineBytes: 1024 * 1024 });
    expect(problems.map((p) => p.id)).toEqual(['gsm8k-1', 'gsm8k-4', 'gsm8k-7']);
    expect(report).toMatchObject({ read: 7, loaded: 3, skipped: 4 });
    expect(report.errors.map(({ line, field }) => [line, field])).toEqual([
      [2, null],
      [3, 'answer'],
      [5, null],
      [6, 'question'],
    ]);
    expect(report.errors[1].message).toBe("gsm8k mixed.jsonl line 3: field 'answer' is missing");
    expect(report.errors[2].message).toBe('gsm8k mixed.jsonl line 5: line is longer than the maximum of 1048576 bytes');
  });

  it('keeps only the first 20 errors but counts them all', async () => {
    const lines = Array.from({ length: 30 }, (_, i) => JSON.stringify({ question: `q${i}` }));
    lines.push(good(99));
    const url = await files.write('many-bad.jsonl', lines.join('\n'));
    const { problems, report } = await loadDataset({ url, format: 'gsm8k', onBadRecord: 'skip' });
    expect(problems).toHaveLength(1);
    expect(report.skipped).toBe(30);
    expect(report.errors).toHaveLength(20);
    expect(report.errors[19].line).toBe(20);
  });

  it('still fails when nothing at all could be loaded', async () => {
    const url = await files.write('all-bad.jsonl', `${JSON.stringify({ question: 'q' })}\n{oops\n`);
    await expect(loadDataset({ url, format: 'gsm8k', onBadRecord: 'skip' })).rejects.toThrow(
      "gsm8k all-bad.jsonl: no record could be loaded: all 2 were skipped; first error: gsm8k all-bad.jsonl line 1: field 'answer' is missing",
    );
  });
});
