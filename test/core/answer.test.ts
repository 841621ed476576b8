import { checkAnswer, extractAnswer, isEquivalent, normaliseMath } from '../../core/answer';
import type { TaskKind } from '../../core/problem';
import vectorsJson from '../../core/answer/vectors.json';

interface Vector {
  name: string;
  task: TaskKind;
  completion: string;
  gold: string;
  options?: string[];
  extracted: string | null;
  correct: boolean | null;
}

const vectors = vectorsJson as Vector[];

describe('shared answer vectors (core/answer/vectors.json)', () => {
  it('cover every task kind with unique names', () => {
    expect(new Set(vectors.map((v) => v.task))).toEqual(new Set(['numeric', 'math', 'choice', 'text']));
    expect(vectors.length).toBeGreaterThanOrEqual(120);
    expect(new Set(vectors.map((v) => v.name)).size).toBe(vectors.length);
  });

  it.each(vectors.map((v) => [v.name, v] as const))('%s', (_name, v) => {
    expect(checkAnswer({ task: v.task, completion: v.completion, gold: v.gold, options: v.options })).toEqual({
      extracted: v.extracted,
      correct: v.correct,
    });
  });
});

describe('checkAnswer parts', () => {
  it('extractAnswer and isEquivalent give what checkAnswer combines', () => {
    const completion = 'Step 1: 9 * 2 = 18\nThe answer is 18 dollars.';
    expect(extractAnswer('numeric', completion)).toBe('18 dollars');
    expect(isEquivalent('numeric', '18 dollars', '18')).toBe(true);
    expect(checkAnswer({ task: 'numeric', completion, gold: '18' })).toEqual({ extracted: '18 dollars', correct: true });
  });

  it('text answers are never decided by a rule, even when identical to the gold', () => {
    expect(isEquivalent('text', 'Paris', 'Paris')).toBeNull();
  });

  it('equivalence is symmetric for math answers written in different forms', () => {
    const forms = ['\\frac{1}{2}', '\\dfrac12', '0.5', '1/2', '\\tfrac{2}{4}', '.5'];
    for (const a of forms) for (const b of forms) expect([a, b, isEquivalent('math', a, b)]).toEqual([a, b, true]);
  });

  it('normalises MATH answers the way a grader reads them', () => {
    expect(normaliseMath('\\left( 3, \\dfrac{\\pi}{2} \\right)')).toBe('(3,\\frac{\\pi}{2})');
    expect(normaliseMath('x = \\sqrt2')).toBe('\\sqrt{2}');
    expect(normaliseMath('12 \\text{ cm}^2')).toBe('12');
  });

  it('reads only the final answer of a long worked GSM8K solution, not its intermediate numbers', () => {
    const completion =
      'The cost of the house and repairs came out to 80,000+50,000=$<<80000+50000=130000>>130,000\n' +
      'So he made a profit of 200,000-130,000=$<<200000-130000=70000>>70,000\n#### 70000';
    expect(checkAnswer({ task: 'numeric', completion, gold: '70000' })).toEqual({ extracted: '70000', correct: true });
    expect(checkAnswer({ task: 'numeric', completion, gold: '130000' }).correct).toBe(false);
  });
});
