import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadDataset } from '../../../activities/datasets/load-dataset';

/** The real GSM8K test split, kept outside the repository (never copied into it). */
const GSM8K_TEST = join(__dirname, '../../../../shared/datasets/gsm8k/test.jsonl');
const present = existsSync(GSM8K_TEST);
if (!present) process.stderr.write(`gsm8k-real.test.ts: skipped, ${GSM8K_TEST} is absent\n`);

(present ? describe : describe.skip)('GSM8K test split (real file)', () => {
  it('loads all 1,319 problems, each matching its raw line: question, gold from the #### line, solution above it', async () => {
    const { problems, report } = await loadDataset({ url: pathToFileURL(GSM8K_TEST).href, format: 'gsm8k' });
    expect(report).toMatchObject({ read: 1319, loaded: 1319, skipped: 0, errors: [] });
    expect(new Set(problems.map((p) => p.id)).size).toBe(1319);
    expect(problems[0].id).toBe('gsm8k-1');
    expect(problems[0].question).toContain('Janet’s ducks lay 16 eggs per day');
    expect(problems[0].gold).toBe('18');
    // Checked against the raw file read here, line by line, not through the store.
    const raw = readFileSync(GSM8K_TEST, 'utf8').trimEnd().split('\n').map((line) => JSON.parse(line) as { question: string; answer: string });
    raw.forEach((record, i) => {
      const problem = problems[i];
      expect(problem.question).toBe(record.question);
      expect(problem.gold).toMatch(/^-?\d+$/);
      expect(record.answer.endsWith(`#### ${Number(problem.gold).toLocaleString('en-US')}`) || record.answer.endsWith(`#### ${problem.gold}`)).toBe(true);
      expect(`${problem.solution}\n`).toBe(record.answer.slice(0, record.answer.lastIndexOf('####')));
    });
  });

  it('also loads it from a plain filesystem path', async () => {
    const { problems } = await loadDataset({ url: GSM8K_TEST, format: 'gsm8k', limit: 5 });
    expect(problems).toHaveLength(5);
  });
});
