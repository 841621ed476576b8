import { generateDemoProblems } from '../../core/demo-problems';
import { Problem } from '../../core/problem';

describe('generateDemoProblems', () => {
  it('gives the same problems for the same seed and different ones for another seed', () => {
    const first = generateDemoProblems({ seed: 7, count: 50 });
    expect(generateDemoProblems({ seed: 7, count: 50 })).toEqual(first);
    const other = generateDemoProblems({ seed: 8, count: 50 });
    expect(other.map((p) => p.question)).not.toEqual(first.map((p) => p.question));
    expect(generateDemoProblems({ seed: 7, count: 10 })).toEqual(first.slice(0, 10));
  });

  it('writes valid numeric problems with unique ids', () => {
    const problems = generateDemoProblems({ seed: 1, count: 200 });
    expect(problems).toHaveLength(200);
    for (const problem of problems) expect(Problem.parse(problem)).toEqual(problem);
    expect(new Set(problems.map((p) => p.id)).size).toBe(200);
    expect(problems.every((p) => p.task === 'numeric')).toBe(true);
  });

  it('ends every solution with a #### line equal to gold, and every step checks out', () => {
    for (const problem of generateDemoProblems({ seed: 42, count: 300 })) {
      const lines = problem.solution!.split('\n');
      expect(lines[lines.length - 1]).toBe(`#### ${problem.gold}`);
      expect(Number.isInteger(Number(problem.gold))).toBe(true);
      expect(Number(problem.gold)).toBeGreaterThanOrEqual(0);
      // Recompute every "a op b = c" in the worked solution independently of the generator.
      for (const [, a, op, b, c] of problem.solution!.matchAll(/(\d+) ([-+*/]) (\d+) = \$?(\d+)/g)) {
        const [x, y] = [Number(a), Number(b)];
        const result = op === '+' ? x + y : op === '-' ? x - y : op === '*' ? x * y : x / y;
        expect(result).toBe(Number(c));
      }
    }
  });

  it('uses several templates', () => {
    const kinds = [/ buys /, /shares the rest/, /drives at/, /years old/, /piggy bank/, /batch of cookies/];
    const used = new Set(generateDemoProblems({ seed: 3, count: 100 }).map((p) => kinds.findIndex((kind) => kind.test(p.question))));
    expect(used.has(-1)).toBe(false);
    expect(used.size).toBe(kinds.length);
  });

  it('refuses a negative or fractional count', () => {
    expect(() => generateDemoProblems({ seed: 1, count: -1 })).toThrow('count');
    expect(() => generateDemoProblems({ seed: 1.5, count: 1 })).toThrow('seed');
  });
});
