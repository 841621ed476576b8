import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  checkAnswers,
  CheckerPool,
  CheckerUnavailable,
  closeChecker,
  equivalences,
  equivalent,
  poolOptionsFromEnv,
  type PoolOptions,
} from '../../../activities/checker';
import { registry } from '../../../activities/metrics';
import type { TaskKind } from '../../../core/problem';
import vectorsJson from '../../../core/answer/checker-vectors.json';

/** The pool against the real checker processes (python -m agentark_trainer check --serve). */

interface CheckVector {
  name: string;
  category: string;
  task: TaskKind;
  completion: string;
  gold: string;
  options?: string[];
  correct: boolean | null;
  extracted?: string | null;
}
interface EquivalenceVector {
  name: string;
  task: TaskKind;
  a: string;
  b: string;
  options?: string[];
  equivalent: boolean | null;
}
const vectors = vectorsJson as unknown as { check: CheckVector[]; equivalent: EquivalenceVector[] };

// sympy works on this tower of powers far longer than any timeout here.
const SLOW = { task: 'math' as const, completion: '\\boxed{9^{9^{9^{9}}}}', gold: '1' };
const quick = (n: number) => ({ task: 'math' as const, completion: `so $\\boxed{\\dfrac{${n}}{2}}$`, gold: String(n / 2) });

const pools: CheckerPool[] = [];
function pool(options: Partial<PoolOptions> = {}): CheckerPool {
  const p = new CheckerPool({ ...poolOptionsFromEnv({ ...process.env, AGENTARK_CHECKER_PROCESSES: '2' }), ...options });
  pools.push(p);
  return p;
}
afterEach(() => {
  for (const p of pools.splice(0)) p.close();
});
afterAll(() => closeChecker());

describe('the checker pool on the shared vectors', () => {
  it('agrees with every check vector, whatever its category', async () => {
    const verdicts = await checkAnswers(vectors.check, pool());
    const wrong = vectors.check.filter((v, i) => verdicts[i].correct !== v.correct || ('extracted' in v && verdicts[i].extracted !== v.extracted));
    expect(wrong.map((v) => v.name)).toEqual([]);
    expect(new Set(verdicts.map((v) => `${v.checker} ${v.version}`))).toEqual(new Set([expect.stringMatching(/^agentark-answer 2\+math-verify-\d/)]));
  });

  it('agrees with every equivalence vector', async () => {
    const same = await equivalences(vectors.equivalent, pool());
    expect(vectors.equivalent.filter((v, i) => same[i] !== v.equivalent).map((v) => v.name)).toEqual([]);
  });
});

describe('the checker pool', () => {
  it('answers in order across batches and processes', async () => {
    const p = pool({ processes: 2, batchSize: 8 });
    const items = Array.from({ length: 100 }, (_, i) => (i % 3 === 0 ? { ...quick(i), gold: String(i / 2 + 1) } : quick(i)));
    const verdicts = await checkAnswers(items, p);
    expect(verdicts.map((v) => v.correct)).toEqual(items.map((_x, i) => i % 3 !== 0));
    const stats = p.stats();
    expect(stats.checks).toBe(100);
    expect(stats.batches).toBeGreaterThanOrEqual(100 / 8);
    expect(stats.started).toBe(2);
    const served = Object.values(stats.byProcess);
    expect(served).toHaveLength(2);
    expect(Math.min(...served)).toBeGreaterThan(0);
  });

  it('batches separate calls made in the same turn of the event loop', async () => {
    const p = pool({ processes: 1, batchSize: 64 });
    await checkAnswers([quick(1)], p); // started and warm
    const before = p.stats().batches;
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => equivalences([{ task: 'math', a: `\\frac{${i}}{4}`, b: String(i / 4) }], p)));
    expect(answers.flat()).toEqual(Array(20).fill(true));
    expect(p.stats().batches - before).toBe(1);
  });

  it('counts every check in agentark_answer_checks_total by task, checker and verdict', async () => {
    const count = async (labels: string): Promise<number> => {
      const line = (await registry.metrics()).split('\n').find((l) => l.startsWith(`agentark_answer_checks_total{${labels}}`));
      return line ? Number(line.split(' ').pop()) : 0;
    };
    const right = 'task="math",checker="agentark-answer",verdict="correct"';
    const before = await count(right);
    const verdicts = await checkAnswers([quick(3), quick(5), { task: 'math', completion: 'so $\\boxed{7}$', gold: '8' }], pool({ processes: 1 }));
    expect(verdicts.map((v) => [v.checker, v.correct])).toEqual([['agentark-answer', true], ['agentark-answer', true], ['agentark-answer', false]]);
    expect(await count(right)).toBe(before + 2);
    expect(await count('task="math",checker="agentark-answer",verdict="wrong"')).toBeGreaterThanOrEqual(1);
  });

  it('kills a process stuck past the timeout, answers that check undecided and goes on with a fresh process', async () => {
    const p = pool({ processes: 1, checkTimeoutMs: 2000, serverTimeoutMs: 0 });
    const [stuck, ...rest] = await checkAnswers([SLOW, quick(3), quick(5)], p);
    expect(stuck).toMatchObject({ extracted: null, correct: null, reason: 'the check took longer than 2000 ms' });
    expect(stuck.version).toMatch(/^2\+math-verify-/);
    expect(rest.map((v) => v.correct)).toEqual([true, true]);
    expect(p.stats()).toMatchObject({ started: 2, lost: 1, timeouts: 1 });
  });

  it("lets the server's own deadline answer first, keeping the process", async () => {
    const p = pool({ processes: 1, checkTimeoutMs: 20_000, serverTimeoutMs: 500 });
    const [stuck, next] = await checkAnswers([SLOW, quick(7)], p);
    expect(stuck).toMatchObject({ correct: null, reason: 'the check took longer than 0.5 s' });
    expect(next.correct).toBe(true);
    expect(p.stats()).toMatchObject({ started: 1, lost: 0, timeouts: 0 });
  });

  it('says which Python it tried and what to run when that Python is missing', async () => {
    const p = pool({ python: '/nonexistent/agentark/python' });
    const failure = checkAnswers([quick(1)], p);
    await expect(failure).rejects.toBeInstanceOf(CheckerUnavailable);
    await expect(failure).rejects.toThrow(/the checker needs the trainer's Python, and \/nonexistent\/agentark\/python was not found\. Run `make setup`/);
  });

  it('names the missing module when the Python lacks math-verify', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'agentark-no-math-verify-'));
    try {
      // Shadows the installed package the way an environment without it behaves.
      writeFileSync(path.join(dir, 'math_verify.py'), 'raise ModuleNotFoundError("No module named \'math_verify\'", name="math_verify")\n');
      const p = pool({ env: { PYTHONPATH: dir } });
      await expect(equivalent('math', '1', '1')).resolves.toBe(true); // the shared pool is not affected
      await expect(checkAnswers([quick(1)], p)).rejects.toThrow(/the checker needs the trainer's Python with math_verify installed: .* has no module 'math_verify'\. Run `make setup`/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads its size and timeout from the environment and rejects bad values', () => {
    expect(poolOptionsFromEnv({ AGENTARK_CHECKER_PROCESSES: '3', AGENTARK_CHECK_TIMEOUT_MS: '1000' })).toMatchObject({ processes: 3, checkTimeoutMs: 1000, serverTimeoutMs: 800 });
    expect(poolOptionsFromEnv({}).processes).toBeLessThanOrEqual(4);
    expect(() => poolOptionsFromEnv({ AGENTARK_CHECKER_PROCESSES: '0' })).toThrow('AGENTARK_CHECKER_PROCESSES must be a positive integer, got "0"');
    expect(() => poolOptionsFromEnv({ AGENTARK_CHECK_TIMEOUT_MS: 'soon' })).toThrow(/AGENTARK_CHECK_TIMEOUT_MS must be a positive integer/);
  });

  it('rejects requests after close', async () => {
    const p = pool();
    p.close();
    await expect(checkAnswers([quick(1)], p)).rejects.toThrow('the checker pool is closed');
  });
});
