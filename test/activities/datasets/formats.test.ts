import { openDataset, loadDataset } from '../../../activities/datasets/load-dataset';
import { openStore } from '../../../activities/store/store';
import { emptyPrefix, ensureBucket, TEST_BUCKET, useLocalS3Env } from '../store/s3-test-env';
import { fixtureDir, jsonl } from './fixtures';

useLocalS3Env();

let files: Awaited<ReturnType<typeof fixtureDir>>;
beforeAll(async () => {
  files = await fixtureDir();
});
afterAll(() => files.remove());

const gsm8kRecords = [
  { question: 'Tom has 3 apples and buys 4 more. How many?', answer: 'He has 3 + 4 = <<3+4=7>>7 apples.\n#### 7' },
  { question: 'A car costs $12,500 and a bike $1,250. Total?', answer: 'Total 12500 + 1250 = 13750\n#### 13,750' },
  { question: 'What is 5 - 8?', answer: '5 - 8 = -3\n#### -3' },
];

describe('GSM8K loader', () => {
  it('takes gold from the #### line without commas and the solution from above it', async () => {
    const url = await files.write('gsm8k.jsonl', jsonl(...gsm8kRecords));
    const { problems, report } = await loadDataset({ url, format: 'gsm8k' });
    expect(problems).toEqual([
      { id: 'gsm8k-1', task: 'numeric', question: gsm8kRecords[0].question, gold: '7', solution: 'He has 3 + 4 = <<3+4=7>>7 apples.' },
      { id: 'gsm8k-2', task: 'numeric', question: gsm8kRecords[1].question, gold: '13750', solution: 'Total 12500 + 1250 = 13750' },
      { id: 'gsm8k-3', task: 'numeric', question: gsm8kRecords[2].question, gold: '-3', solution: '5 - 8 = -3' },
    ]);
    expect(report).toMatchObject({ format: 'gsm8k', read: 3, loaded: 3, skipped: 0, errors: [] });
    expect(report.url).toBe(url);
  });

  it('keeps ids stable by line number across blank lines and uses a dataset id when present', async () => {
    const url = await files.write('gsm8k-ids.jsonl', `${JSON.stringify(gsm8kRecords[0])}\n\n${JSON.stringify({ ...gsm8kRecords[1], id: 'own-id' })}\n${JSON.stringify(gsm8kRecords[2])}`);
    const { problems, report } = await loadDataset({ url, format: 'gsm8k' });
    expect(problems.map((p) => p.id)).toEqual(['gsm8k-1', 'own-id', 'gsm8k-4']);
    expect(report.read).toBe(3);
  });

  it('stops after limit problems', async () => {
    const url = await files.write('gsm8k-limit.jsonl', jsonl(...gsm8kRecords));
    const { problems, report } = await loadDataset({ url, format: 'gsm8k', limit: 2 });
    expect(problems.map((p) => p.gold)).toEqual(['7', '13750']);
    expect(report.loaded).toBe(2);
  });

  it('reads the same file from S3 through the store', async () => {
    await ensureBucket();
    const prefix = `test-datasets-${process.pid}-${Date.now()}`;
    try {
      await openStore(`s3://${TEST_BUCKET}/${prefix}`).putText('gsm8k/test.jsonl', jsonl(...gsm8kRecords));
      const { problems, report } = await loadDataset({ url: `s3://${TEST_BUCKET}/${prefix}/gsm8k/test.jsonl`, format: 'gsm8k' });
      expect(problems.map((p) => p.gold)).toEqual(['7', '13750', '-3']);
      expect(report.url).toBe(`s3://${TEST_BUCKET}/${prefix}/gsm8k/test.jsonl`);
    } finally {
      await emptyPrefix(`${prefix}/`);
    }
  });
});

describe('MATH loader', () => {
  it('takes gold from the last \\boxed{} with nested braces', async () => {
    const url = await files.write('math.jsonl', jsonl(
      { problem: 'Compute 1/2 + 1/4.', solution: 'First \\boxed{1} is wrong; the sum is $\\boxed{\\frac{3}{4}}$.', level: 'Level 2', type: 'Prealgebra' },
      { problem: 'Solve x^2 = 4.', solution: 'So $x \\in \\boxed{\\{-2, 2\\}}$' },
    ));
    const { problems } = await loadDataset({ url, format: 'math' });
    expect(problems.map((p) => [p.id, p.task, p.gold])).toEqual([
      ['math-1', 'math', '\\frac{3}{4}'],
      ['math-2', 'math', '\\{-2, 2\\}'],
    ]);
    expect(problems[0].solution).toContain('the sum is');
  });

  it('names the solution field when it has no \\boxed{} answer', async () => {
    const url = await files.write('math-bad.jsonl', jsonl({ problem: 'p', solution: 'The answer is 4.' }));
    await expect(loadDataset({ url, format: 'math' })).rejects.toThrow("math math-bad.jsonl line 1: field 'solution' has no \\boxed{...} answer");
  });
});

describe('MedMCQA loader', () => {
  const record = (cop: number, extra: object = {}) => ({ question: 'Which vitamin?', opa: 'A', opb: 'B12', opc: 'C', opd: 'D', cop, ...extra });

  it('detects 1-based cop (original release) from a 4', async () => {
    const url = await files.write('medmcqa-1.jsonl', jsonl(record(2, { id: 'q-a' }), record(4, { id: 'q-b' }), record(1, { id: 'q-c' })));
    const { problems } = await loadDataset({ url, format: 'medmcqa' });
    expect(problems).toEqual([
      { id: 'q-a', task: 'choice', question: 'Which vitamin?', gold: 'B', options: ['A', 'B12', 'C', 'D'] },
      { id: 'q-b', task: 'choice', question: 'Which vitamin?', gold: 'D', options: ['A', 'B12', 'C', 'D'] },
      { id: 'q-c', task: 'choice', question: 'Which vitamin?', gold: 'A', options: ['A', 'B12', 'C', 'D'] },
    ]);
  });

  it('detects 0-based cop (Hugging Face copy) from a 0', async () => {
    const url = await files.write('medmcqa-0.jsonl', jsonl(record(2), record(0), record(3)));
    const { problems } = await loadDataset({ url, format: 'medmcqa' });
    expect(problems.map((p) => p.gold)).toEqual(['C', 'A', 'D']);
    expect(problems.map((p) => p.id)).toEqual(['medmcqa-1', 'medmcqa-2', 'medmcqa-3']);
  });

  it('asks for copBase when the file cannot tell, and obeys it when given', async () => {
    const url = await files.write('medmcqa-ambiguous.jsonl', jsonl(record(1), record(2)));
    await expect(loadDataset({ url, format: 'medmcqa' })).rejects.toThrow("cannot tell whether 'cop' is 0–3 or 1–4 (no record has 0 or 4); set copBase to 0 or 1");
    expect((await loadDataset({ url, format: 'medmcqa', copBase: 1 })).problems.map((p) => p.gold)).toEqual(['A', 'B']);
    expect((await loadDataset({ url, format: 'medmcqa', copBase: 0 })).problems.map((p) => p.gold)).toEqual(['B', 'C']);
  });

  it('refuses a record without an answer key (cop -1 in the test split)', async () => {
    const url = await files.write('medmcqa-test.jsonl', jsonl(record(0), record(-1)));
    await expect(loadDataset({ url, format: 'medmcqa' })).rejects.toThrow("medmcqa medmcqa-test.jsonl line 2: field 'cop' is -1: the record has no answer key");
  });
});

describe('MetaMathQA loader', () => {
  it('streams a JSON array, numeric answers as numeric and others as math', async () => {
    const data = [
      { query: 'What is 1,000 + 234?', response: 'Add them: 1000 + 234 = 1234.\nThe answer is: 1,234', type: 'GSM_Rephrased' },
      { query: 'Simplify 2/4.', response: 'Divide both by 2.\nThe answer is: \\frac{1}{2}', type: 'MATH_AnsAug' },
      { query: 'What is 0.5 * 4?', response: 'The answer is: 2.', type: 'GSM_SV' },
    ];
    const url = await files.write('MetaMathQA.json', JSON.stringify(data, null, 2));
    const { problems, report } = await loadDataset({ url, format: 'metamathqa' });
    expect(problems).toEqual([
      { id: 'metamathqa-1', task: 'numeric', question: data[0].query, gold: '1234', solution: 'Add them: 1000 + 234 = 1234.' },
      { id: 'metamathqa-2', task: 'math', question: data[1].query, gold: '\\frac{1}{2}', solution: 'Divide both by 2.' },
      { id: 'metamathqa-3', task: 'numeric', question: data[2].query, gold: '2' },
    ]);
    expect(report.read).toBe(3);
  });

  it('names the record and its line when the answer line is missing', async () => {
    const data = [{ query: 'q1', response: 'The answer is: 3' }, { query: 'q2', response: 'no final answer here' }];
    const url = await files.write('MetaMathQA-bad.json', JSON.stringify(data, null, 2));
    await expect(loadDataset({ url, format: 'metamathqa' })).rejects.toThrow("metamathqa MetaMathQA-bad.json line 6: field 'response' has no 'The answer is: <answer>' line");
  });

  it('refuses a file that is not an array, and one cut off midway', async () => {
    const notArray = await files.write('MetaMathQA-object.json', '{"query": "q"}');
    await expect(loadDataset({ url: notArray, format: 'metamathqa' })).rejects.toThrow('MetaMathQA-object.json line 1: the file is not a JSON array');
    const cut = await files.write('MetaMathQA-cut.json', '[\n{"query": "q", "response": "The answer is: 1"},\n{"query": "q2", "resp');
    await expect(loadDataset({ url: cut, format: 'metamathqa' })).rejects.toThrow('MetaMathQA-cut.json line 3: the JSON array is truncated');
  });
});

describe('generic JSONL loader', () => {
  it('maps fields, including nested ones, onto problems', async () => {
    const url = await files.write('generic.jsonl', jsonl(
      { uid: 17, q: 'Pick the prime.', meta: { answer: 'b' }, choices: ['4', '5', '6'], why: 'Only 5 is prime.' },
      { uid: 'x-2', q: 'Another?', meta: { answer: 'A' }, choices: ['yes', 'no'] },
    ));
    const { problems } = await loadDataset({ url, format: 'jsonl', mapping: { id: 'uid', question: 'q', gold: 'meta.answer', options: 'choices', solution: 'why', task: 'choice' } });
    expect(problems).toEqual([
      { id: '17', task: 'choice', question: 'Pick the prime.', gold: 'B', options: ['4', '5', '6'], solution: 'Only 5 is prime.' },
      { id: 'x-2', task: 'choice', question: 'Another?', gold: 'A', options: ['yes', 'no'] },
    ]);
  });

  it('accepts numeric gold for numeric tasks and numbers ids by line', async () => {
    const url = await files.write('generic-num.jsonl', jsonl({ text: 'Two plus two?', value: 4 }));
    const { problems } = await loadDataset({ url, format: 'jsonl', mapping: { question: 'text', gold: 'value', task: 'numeric' } });
    expect(problems).toEqual([{ id: 'jsonl-1', task: 'numeric', question: 'Two plus two?', gold: '4' }]);
  });

  it('refuses a choice gold that is not one of the option letters', async () => {
    const url = await files.write('generic-bad-letter.jsonl', jsonl({ q: 'Pick.', a: 'D', o: ['x', 'y', 'z'] }));
    await expect(loadDataset({ url, format: 'jsonl', mapping: { question: 'q', gold: 'a', options: 'o', task: 'choice' } })).rejects.toThrow(
      "jsonl generic-bad-letter.jsonl line 1: field 'a' must be an option letter A–C, got \"D\"",
    );
  });

  it('needs a mapping for jsonl and refuses one for fixed formats', () => {
    expect(() => openDataset({ url: 'file:///x.jsonl', format: 'jsonl' })).toThrow("format 'jsonl' needs a field mapping");
    expect(() => openDataset({ url: 'file:///x.jsonl', format: 'gsm8k', mapping: { question: 'q', gold: 'g', task: 'numeric' } })).toThrow('a mapping is only for');
    expect(() => openDataset({ url: 'file:///x.jsonl', format: 'csv' as 'jsonl' })).toThrow('dataset options');
  });
});
