import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const repo = path.resolve(__dirname, '../..');
const agentark = path.join(repo, 'bin/agentark');
const gsm8kPath = path.resolve(__dirname, '../../../shared/datasets/gsm8k/test.jsonl');

interface Run {
  code: number;
  stderr: string;
}

/** Runs the real `agentark` command as a user would, in its own process. */
function runCli(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((resolve) => {
    execFile(agentark, args, { cwd: repo, env, maxBuffer: 64 * 1024 * 1024 }, (err, _stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stderr });
    });
  });
}

/** The summary is the command's last line on stderr (a runtime may print warnings before it). */
function summaryLine(stderr: string): string | undefined {
  return stderr.trimEnd().split('\n').pop();
}

interface Verdict {
  id: string;
  extracted: string | null;
  correct: boolean | null;
  checker: string;
  version: string;
  reason?: string;
}

/** Every verdict names the checker that gave it. */
const by = { checker: 'agentark-answer', version: expect.stringMatching(/^2\+math-verify-\d/) as unknown as string };

function readVerdicts(file: string): Verdict[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Verdict);
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'agentark-verify-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const gsm8kAvailable = existsSync(gsm8kPath);
if (!gsm8kAvailable) {
  // Stated loudly: the acceptance test below is skipped only because its data set is absent.
  console.warn(`GSM8K acceptance test skipped: ${gsm8kPath} not found`);
}

(gsm8kAvailable ? describe : describe.skip)('agentark verify on the GSM8K test set', () => {
  const rows = gsm8kAvailable
    ? readFileSync(gsm8kPath, 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as { question: string; answer: string })
    : [];
  const golds = rows.map((r) => r.answer.slice(r.answer.lastIndexOf('####') + 4).trim());

  function writeInput(name: string, goldOf: (gold: string) => string): string {
    const file = path.join(dir, name);
    const lines = rows.map((r, i) => JSON.stringify({ id: `gsm8k-${i}`, gold: goldOf(golds[i]), completion: r.answer }));
    writeFileSync(file, lines.join('\n') + '\n');
    return file;
  }

  it('marks every reference answer correct against its own gold', async () => {
    expect(rows).toHaveLength(1319);
    const input = writeInput('gold.jsonl', (g) => g);
    const out = path.join(dir, 'gold.verdicts.jsonl');
    const run = await runCli(['verify', '--task', 'numeric', '--in', input, '--out', out]);
    expect(run.code).toBe(0);
    expect(summaryLine(run.stderr)).toBe('1319 lines, 1319 correct, 0 wrong, 0 undecided');
    const verdicts = readVerdicts(out);
    expect(verdicts.map((v) => v.id)).toEqual(rows.map((_r, i) => `gsm8k-${i}`));
    expect(verdicts.filter((v) => v.correct !== true)).toEqual([]);
    expect(verdicts[0]).toEqual({ id: 'gsm8k-0', extracted: '18', correct: true, ...by });
  });

  it('marks every reference answer wrong when each gold is off by one', async () => {
    const input = writeInput('off-by-one.jsonl', (g) => String(Number(g.replace(/,/g, '')) + 1));
    const out = path.join(dir, 'off-by-one.verdicts.jsonl');
    const run = await runCli(['verify', '--task', 'numeric', '--in', input, '--out', out]);
    expect(run.code).toBe(0);
    expect(summaryLine(run.stderr)).toBe('1319 lines, 0 correct, 1319 wrong, 0 undecided');
    const verdicts = readVerdicts(out);
    expect(verdicts).toHaveLength(1319);
    expect(verdicts.filter((v) => v.correct !== false)).toEqual([]);
  });
});

describe('agentark verify --task math', () => {
  it('judges by math-verify and rejects a digit pulled out of a word or an expression', async () => {
    const lines = [
      { id: 'third', gold: '\\frac{1}{3}', completion: 'The probability is $\\dfrac{1}{3}$.' },
      { id: 'interval', gold: '[0,1)', completion: 'So $x \\in [0,1)$.' },
      { id: 'relation', gold: 'x \\geq 5', completion: 'Hence $x >= 5$.' },
      { id: 'word', gold: '2', completion: 'The answer is AZYUK2A' },
      { id: 'denominator', gold: '3', completion: 'The probability is $1/3$.' },
      { id: 'coefficient', gold: '3', completion: 'the answer is 3x+2' },
    ];
    const input = path.join(dir, 'math.jsonl');
    writeFileSync(input, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    const out = path.join(dir, 'math.verdicts.jsonl');
    const run = await runCli(['verify', '--task', 'math', '--in', input, '--out', out]);
    expect(run.code).toBe(0);
    expect(summaryLine(run.stderr)).toBe('6 lines, 3 correct, 3 wrong, 0 undecided');
    const verdicts = readVerdicts(out);
    expect(verdicts.map((v) => [v.id, v.correct])).toEqual(lines.map((l, i) => [l.id, i < 3]));
    expect(verdicts[0]).toEqual({ id: 'third', extracted: '\\frac{1}{3}', correct: true, ...by });
    expect(verdicts[3]).toEqual({ id: 'word', extracted: null, correct: false, ...by });
  });
});

describe('agentark verify on malformed input', () => {
  const good = JSON.stringify({ id: 'a', gold: '18', completion: '#### 18' });

  async function verifyText(name: string, text: string, extra: string[] = []): Promise<Run & { out: string }> {
    const input = path.join(dir, name);
    writeFileSync(input, text);
    const out = path.join(dir, `${name}.out`);
    const run = await runCli(['verify', '--task', 'numeric', '--in', input, '--out', out, ...extra]);
    return { ...run, out };
  }

  function leftovers(name: string): string[] {
    return readdirSync(dir).filter((f) => f.includes(`${name}.out`));
  }

  it.each([
    ['truncated JSON', 'truncated.jsonl', `${good}\n${good}\n{"id": "c", "gold": "1", "compl\n`, /truncated\.jsonl line 3: not valid JSON/],
    ['a missing field', 'missing.jsonl', `${good}\n\n{"id": "b", "completion": "#### 3"}\n`, /missing\.jsonl line 3: field 'gold' is missing/],
    ['a wrong type', 'type.jsonl', `${good}\n{"id": "b", "gold": 18, "completion": "#### 18"}\n`, /type\.jsonl line 2: field 'gold' must be a string, got number/],
    ['a line that is not an object', 'array.jsonl', `[1, 2]\n`, /array\.jsonl line 1: expected a JSON object/],
    ['an empty file', 'empty.jsonl', '', /empty\.jsonl: no answers to verify \(the file is empty\)/],
  ])('%s fails with exit code 1, names the line and field, and writes no output', async (_what, name, text, message) => {
    const run = await verifyText(name, text);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(message);
    expect(leftovers(name)).toEqual([]);
  });

  it('leaves an existing output untouched when the input is bad', async () => {
    const out = path.join(dir, 'kept.jsonl.out');
    writeFileSync(out, 'previous results\n');
    const run = await verifyText('kept.jsonl', `${good}\n{"id": "b", "gold": "1"}\n`);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/kept\.jsonl line 2: field 'completion' is missing/);
    expect(readFileSync(out, 'utf8')).toBe('previous results\n');
  });

  it('reads choice options from the field named by --options-field and reports its name on errors', async () => {
    const options = ['Aspirin', 'Paracetamol', 'Ibuprofen', 'Morphine'];
    const lines = [
      { id: 1, gold: 'B', completion: 'Answer: paracetamol', choices: options },
      { id: 2, gold: 'Paracetamol', completion: 'Answer: C', choices: options },
    ];
    const input = path.join(dir, 'choices.jsonl');
    writeFileSync(input, lines.map((l) => JSON.stringify(l)).join('\n'));
    const out = path.join(dir, 'choices.verdicts.jsonl');
    const run = await runCli(['verify', '--task', 'choice', '--in', input, '--out', out, '--options-field', 'choices']);
    expect(run.code).toBe(0);
    expect(summaryLine(run.stderr)).toBe('2 lines, 1 correct, 1 wrong, 0 undecided');
    expect(readVerdicts(out)).toEqual([
      { id: 1, extracted: 'paracetamol', correct: true, ...by },
      { id: 2, extracted: 'C', correct: false, ...by },
    ]);

    writeFileSync(input, JSON.stringify({ id: 3, gold: 'B', completion: 'B', choices: ['a', 2] }));
    const bad = await runCli(['verify', '--task', 'choice', '--in', input, '--out', out, '--options-field', 'choices']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/choices\.jsonl line 1: field 'choices\.1' must be a string, got number/);
  });

  it('counts text answers as undecided', async () => {
    const input = path.join(dir, 'text.jsonl');
    writeFileSync(input, JSON.stringify({ id: 't', gold: 'Paris', completion: 'Paris' }) + '\n');
    const out = path.join(dir, 'text.verdicts.jsonl');
    const run = await runCli(['verify', '--task', 'text', '--in', input, '--out', out]);
    expect(run.code).toBe(0);
    expect(summaryLine(run.stderr)).toBe('1 line, 0 correct, 0 wrong, 1 undecided');
    expect(readVerdicts(out)).toEqual([{ id: 't', extracted: 'Paris', correct: null, ...by }]);
  });

  it('tells the user to run make setup when the trainer Python is missing, and writes no output', async () => {
    const input = path.join(dir, 'nopython.jsonl');
    writeFileSync(input, good + '\n');
    const out = path.join(dir, 'nopython.jsonl.out');
    const run = await runCli(['verify', '--task', 'numeric', '--in', input, '--out', out], { ...process.env, AGENTARK_TRAINER_PYTHON: '/nonexistent/python3' });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/the checker needs the trainer's Python, and \/nonexistent\/python3 was not found\. Run `make setup`/);
    expect(leftovers('nopython.jsonl')).toEqual([]);
  });

  it('rejects an unknown task kind with a usage error', async () => {
    const run = await runCli(['verify', '--task', 'essay', '--in', 'x', '--out', 'y']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/--task <kind>' argument 'essay' is invalid. Allowed choices are numeric, math, choice, text/);
  });
});
