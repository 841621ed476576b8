import type { Problem } from '../../core/problem';
import { comparisonsForScoring, Equivalences, exactMatch, type Generation, majorityAnswer, normaliseText, passAtK, rougeScores, scoreModel, tokenF1, wilson } from '../../core/scoring';
import type { Verdict } from '../../core/verdict';

/** A checker's verdict as the activity would pass it on (the checker itself is tested in test/activities/checker). */
const v = (extracted: string | null, correct: boolean | null): Verdict => ({ extracted, correct, checker: 'agentark-answer', version: 'test' });
/** `same` for majorityAnswer from the pairs a checker would call equal (either way round). */
const sameAs = (pairs: [string, string][]) => (a: string, b: string): boolean => pairs.some(([x, y]) => (x === a && y === b) || (x === b && y === a));

describe('wilson', () => {
  it('(7, 10) at z = 1.96', () => {
    // z² = 3.8416, p = 0.7, denom = 1 + z²/n = 1.38416
    // centre = (0.7 + 0.19208) / 1.38416 = 0.644492
    // half = 1.96 · sqrt(0.7·0.3/10 + 3.8416/400) / 1.38416 = 1.96 · sqrt(0.030604) / 1.38416 = 0.247718
    const r = wilson(7, 10);
    expect(r.k).toBe(7);
    expect(r.n).toBe(10);
    expect(r.rate).toBe(0.7);
    expect(r.low).toBeCloseTo(0.396774, 5);
    expect(r.high).toBeCloseTo(0.89221, 5);
  });

  it('(10, 10): low = n / (n + z²) = 10 / 13.8416, high = 1', () => {
    const r = wilson(10, 10);
    expect(r.rate).toBe(1);
    expect(r.low).toBeCloseTo(0.72246, 5);
    expect(r.high).toBe(1);
  });

  it('(0, 0): rate 0, interval [0, 1]', () => {
    expect(wilson(0, 0)).toEqual({ k: 0, n: 0, rate: 0, low: 0, high: 1 });
  });

  it('(0, 10) starts at 0 and mirrors (10, 10)', () => {
    const r = wilson(0, 10);
    expect(r.low).toBe(0);
    expect(r.high).toBeCloseTo(1 - 0.72246, 5);
  });

  it('rejects k > n and non-integers', () => {
    expect(() => wilson(3, 2)).toThrow();
    expect(() => wilson(1.5, 2)).toThrow();
  });
});

describe('passAtK', () => {
  it.each([
    [5, 2, 1, 0.4], // 1 - (3/5)
    [5, 2, 2, 0.7], // 1 - C(3,2)/C(5,2) = 1 - 3/10
    [5, 0, 3, 0],
    [5, 3, 3, 1], // n - c = 2 < k
    [5, 5, 1, 1],
    [10, 1, 10, 1],
  ])('n=%d c=%d k=%d → %d', (n, c, k, want) => {
    expect(passAtK(n, c, k)).toBeCloseTo(want, 12);
  });

  it('matches the binomial ratio on a larger case', () => {
    // 1 - C(90, 10) / C(100, 10) = 1 - Π_{i=0..9} (90 - i) / (100 - i)
    let ratio = 1;
    for (let i = 0; i < 10; i++) ratio *= (90 - i) / (100 - i);
    expect(passAtK(100, 10, 10)).toBeCloseTo(1 - ratio, 12);
  });

  it('rejects impossible counts', () => {
    expect(() => passAtK(5, 6, 1)).toThrow();
    expect(() => passAtK(5, 2, 0)).toThrow();
    expect(() => passAtK(5, 2, 6)).toThrow();
  });
});

describe('majorityAnswer', () => {
  it('groups the answers the checker calls the same', () => {
    expect(majorityAnswer(['17', '18', '18.00', '$18', '17'], sameAs([['18.00', '18'], ['$18', '18']]))).toBe('18');
    expect(majorityAnswer(['17', '18', '18.00', '$18', '17'], sameAs([]))).toBe('17');
  });

  it('counts equal strings as one answer without asking', () => {
    expect(majorityAnswer(['4', null, '4'], () => { throw new Error('asked'); })).toBe('4');
  });

  it('breaks a tie for the answer that reached the count first', () => {
    expect(majorityAnswer(['3', '4'], sameAs([]))).toBe('3');
    expect(majorityAnswer(['3', '4', '4', '3'], sameAs([]))).toBe('4');
  });

  it('ignores unextracted samples; none at all gives null', () => {
    expect(majorityAnswer([null, '5', null], sameAs([]))).toBe('5');
    expect(majorityAnswer([null, null], sameAs([]))).toBeNull();
    expect(majorityAnswer([], sameAs([]))).toBeNull();
  });
});

describe('comparisonsForScoring', () => {
  const problems: Problem[] = [
    { id: 'p1', task: 'math', question: 'Half?', gold: '\\frac12' },
    { id: 't1', task: 'text', question: 'Capital?', gold: 'Paris' },
  ];
  const gens: Generation[] = [0, 1, 2, 3].flatMap((sample) => [
    { id: 'p1', sample, completion: '', finishReason: 'stop' as const },
    { id: 't1', sample, completion: '', finishReason: 'stop' as const },
  ]);
  const extracted: Record<string, (string | null)[]> = { p1: ['0.5', null, '1/2', '0.5'], t1: ['Paris', 'paris', 'Lyon', 'Paris'] };
  const verdicts = gens.map((g) => v(extracted[g.id][g.sample], null));

  it('asks each pair of different answers (later against earlier) and each answer against the gold; text asks nothing', () => {
    expect(comparisonsForScoring({ problems, generations: gens, verdicts, samples: 4 })).toEqual([
      { task: 'math', a: '0.5', b: '\\frac12' },
      { task: 'math', a: '1/2', b: '0.5' },
      { task: 'math', a: '1/2', b: '\\frac12' },
    ]);
  });

  it('asks nothing for one sample', () => {
    expect(comparisonsForScoring({ problems, generations: gens.filter((g) => g.sample === 0), verdicts: verdicts.filter((_x, i) => gens[i].sample === 0), samples: 1 })).toEqual([]);
  });

  it('Equivalences gives what it was told and refuses what it was not', () => {
    const table = new Equivalences([{ task: 'math', a: '1/2', b: '0.5' }], [true]);
    expect(table.get({ task: 'math', a: '1/2', b: '0.5' })).toBe(true);
    expect(() => table.get({ task: 'math', a: '0.5', b: '1/2' })).toThrow(/no equivalence given/);
  });
});

describe('text metrics', () => {
  it('normaliseText follows SQuAD', () => {
    expect(normaliseText('  The  Eiffel-Tower, in an  A.D. age! ')).toBe('eiffeltower in ad age');
  });

  it('exactMatch', () => {
    expect(exactMatch('The Eiffel Tower!', 'eiffel tower')).toBe(1);
    expect(exactMatch('Eiffel Towers', 'eiffel tower')).toBe(0);
  });

  it('tokenF1', () => {
    expect(tokenF1('Denver Broncos', 'The Denver Broncos')).toBe(1);
    // pred "broncos of denver" (3 words), gold "denver broncos" (2): common 2, P = 2/3, R = 1 → 0.8
    expect(tokenF1('the Broncos of Denver', 'Denver Broncos')).toBeCloseTo(0.8, 12);
    // repeated words count once per match: pred "cat cat" vs "cat": P = 1/2, R = 1 → 2/3
    expect(tokenF1('cat cat', 'cat')).toBeCloseTo(2 / 3, 12);
    expect(tokenF1('dog', 'cat')).toBe(0);
    expect(tokenF1('the', 'cat')).toBe(0);
    expect(tokenF1('a', 'the')).toBe(1);
  });

  it('ROUGE: identical = 1, disjoint = 0', () => {
    expect(rougeScores('The cat sat on the mat.', 'the cat sat on the mat')).toEqual({ rouge1: 1, rouge2: 1, rougeL: 1 });
    expect(rougeScores('red green blue', 'one two three')).toEqual({ rouge1: 0, rouge2: 0, rougeL: 0 });
    expect(rougeScores('', 'x')).toEqual({ rouge1: 0, rouge2: 0, rougeL: 0 });
  });

  it('ROUGE on a partial overlap', () => {
    // cand "i think it is the tower" (6), ref "the eiffel tower" (3): unigram overlap 2 → P 1/3, R 2/3, F 4/9;
    // no shared bigram; LCS "the tower" = 2 → 4/9.
    const r = rougeScores('I think it is the tower', 'the Eiffel Tower');
    expect(r.rouge1).toBeCloseTo(4 / 9, 12);
    expect(r.rouge2).toBe(0);
    expect(r.rougeL).toBeCloseTo(4 / 9, 12);
  });
});

describe('scoreModel', () => {
  const numeric: Problem[] = [
    { id: 'p1', task: 'numeric', question: 'Three at 6 each?', gold: '18' },
    { id: 'p2', task: 'numeric', question: '3 + 4?', gold: '7' },
    { id: 'p3', task: 'numeric', question: '6 * 7?', gold: '42' },
    { id: 'p4', task: 'numeric', question: '12 + 5?', gold: '17' },
  ];
  const base = { model: 'rsft', testSet: 'gsm8k', generationsKey: 'g.jsonl', scoresKey: 's.json' };
  const oneEach: Generation[] = [
    { id: 'p1', sample: 0, completion: 'Each costs 6, so 3 * 6 = 18.\n#### 18', finishReason: 'stop', tokens: 14 },
    { id: 'p2', sample: 0, completion: 'So the answer is 17.', finishReason: 'stop', tokens: 6 },
    { id: 'p3', sample: 0, completion: 'I cannot tell.', finishReason: 'stop' }, // 3 words
    { id: 'p4', sample: 0, completion: 'First, 12 + 5 is', finishReason: 'length', tokens: 512 },
  ];
  const oneEachVerdicts = [v('18', true), v('17', false), v(null, false), v('5', false)];

  it('counts one sample per problem exactly, and names the checker', () => {
    const s = scoreModel({ ...base, problems: numeric, generations: oneEach, verdicts: oneEachVerdicts, samples: 1 });
    expect(s).toEqual({
      ...base,
      task: 'numeric',
      n: 4,
      samples: 1,
      accuracy: wilson(1, 4),
      undecided: 0,
      truncated: 1,
      meanCompletionTokens: (14 + 6 + 3 + 512) / 4,
      majAtK: null,
      passAtK: null,
      text: null,
      checker: { name: 'agentark-answer', version: 'test' },
    });
    expect(s.accuracy).toMatchObject({ k: 1, n: 4, rate: 0.25 });
  });

  it('counts a first sample the checker could not decide as undecided', () => {
    const s = scoreModel({ ...base, problems: numeric.slice(0, 1), generations: oneEach.slice(0, 1), verdicts: [v(null, null)], samples: 1 });
    expect([s.accuracy.k, s.undecided]).toEqual([0, 1]);
  });

  it('gives maj@k and pass@k with several samples, in any line order', () => {
    const problems = numeric.slice(0, 3);
    const lines: [Generation, Verdict][] = [
      // p1: first right, majority 18 (2 of 3, "$18" and "18.00" the same answer), c = 2
      [{ id: 'p1', sample: 2, completion: 'The answer is $18.', finishReason: 'stop', tokens: 5 }, v('$18', true)],
      [{ id: 'p1', sample: 0, completion: '#### 18.00', finishReason: 'stop', tokens: 5 }, v('18.00', true)],
      [{ id: 'p1', sample: 1, completion: '#### 17', finishReason: 'stop', tokens: 5 }, v('17', false)],
      // p2: first wrong, majority 4 (wrong), c = 1
      [{ id: 'p2', sample: 0, completion: '#### 4', finishReason: 'stop', tokens: 5 }, v('4', false)],
      [{ id: 'p2', sample: 1, completion: '#### 4', finishReason: 'stop', tokens: 5 }, v('4', false)],
      [{ id: 'p2', sample: 2, completion: '#### 7', finishReason: 'length', tokens: 5 }, v('7', true)],
      // p3: nothing right, c = 0
      [{ id: 'p3', sample: 0, completion: '#### 41', finishReason: 'stop', tokens: 5 }, v('41', false)],
      [{ id: 'p3', sample: 1, completion: 'no idea', finishReason: 'stop', tokens: 5 }, v(null, false)],
      [{ id: 'p3', sample: 2, completion: '#### 43', finishReason: 'stop', tokens: 5 }, v('43', false)],
    ];
    const generations = lines.map(([g]) => g);
    const verdicts = lines.map(([, x]) => x);
    const comparisons = comparisonsForScoring({ problems, generations, verdicts, samples: 3 });
    const equal = sameAs([['$18', '18.00'], ['18.00', '18'], ['$18', '18'], ['7', '7']]);
    const equivalences = new Equivalences(comparisons, comparisons.map((c) => equal(c.a, c.b)));
    const s = scoreModel({ ...base, problems, generations, verdicts, equivalences, samples: 3 });
    expect(s.n).toBe(3);
    expect(s.accuracy).toEqual(wilson(1, 3));
    expect(s.majAtK).toEqual(wilson(1, 3));
    // pass@3 from 3 samples: 1 for p1 and p2 (some sample right), 0 for p3
    expect(s.passAtK).toBeCloseTo(2 / 3, 12);
    expect(s.truncated).toBe(0); // only first samples count
    expect(s.meanCompletionTokens).toBe(5);
    expect(() => scoreModel({ ...base, problems, generations, verdicts, samples: 3 })).toThrow(/majority voting needs the equivalences/);
  });

  it('scores text test sets with the text metrics and counts them undecided', () => {
    const problems: Problem[] = [
      { id: 't1', task: 'text', question: 'Capital of France?', gold: 'Paris' },
      { id: 't2', task: 'text', question: 'Landmark?', gold: 'the Eiffel Tower' },
    ];
    const gens: Generation[] = [
      { id: 't1', sample: 0, completion: 'The answer is Paris.', finishReason: 'stop' },
      { id: 't2', sample: 0, completion: 'I think it is the tower', finishReason: 'stop' },
    ];
    const s = scoreModel({ ...base, problems, generations: gens, verdicts: [v('Paris', null), v('I think it is the tower', null)], samples: 1 });
    expect(s.task).toBe('text');
    expect(s.accuracy).toEqual(wilson(0, 2));
    expect(s.undecided).toBe(2);
    expect(s.meanCompletionTokens).toBe((4 + 6) / 2);
    // t1: all 1 except ROUGE-2 (a one-word answer has no bigram); t2: EM 0, F1 2/7 ("tower" of 5 and 2 words), ROUGE-1/L 4/9, ROUGE-2 0
    expect(s.text!.exactMatch).toBe(0.5);
    expect(s.text!.tokenF1).toBeCloseTo((1 + 2 / 7) / 2, 12);
    expect(s.text!.rouge1).toBeCloseTo((1 + 4 / 9) / 2, 12);
    expect(s.text!.rouge2).toBe(0);
    expect(s.text!.rougeL).toBeCloseTo((1 + 4 / 9) / 2, 12);
  });

  it('groups text answers by their normalised form for maj@k, and never counts them correct', () => {
    const problems: Problem[] = [{ id: 't1', task: 'text', question: 'Capital of France?', gold: 'Paris' }];
    const gens: Generation[] = [0, 1, 2].map((sample) => ({ id: 't1', sample, completion: '', finishReason: 'stop' as const }));
    const s = scoreModel({ ...base, problems, generations: gens, verdicts: [v('London', null), v('Paris', null), v('paris.', null)], equivalences: new Equivalences(), samples: 3 });
    expect(s.majAtK).toEqual(wilson(0, 1));
  });

  it("names a mixed test set's task 'mixed'", () => {
    const problems: Problem[] = [numeric[0], { id: 'c1', task: 'choice', question: 'Which?', gold: 'B', options: ['red', 'blue'] }];
    const gens: Generation[] = [oneEach[0], { id: 'c1', sample: 0, completion: 'The answer is (B).', finishReason: 'stop' }];
    const s = scoreModel({ ...base, problems, generations: gens, verdicts: [v('18', true), v('B', true)], samples: 1 });
    expect(s.task).toBe('mixed');
    expect(s.accuracy.k).toBe(2);
    expect(s.text).toBeNull();
  });

  it('throws naming the problem when a generation is missing, unknown or miscounted', () => {
    const score = (problems: Problem[], generations: Generation[], samples: number) =>
      scoreModel({ ...base, problems, generations, verdicts: generations.map(() => v(null, false)), samples, equivalences: new Equivalences() });
    expect(() => score(numeric, oneEach.slice(0, 3), 1)).toThrow(/problem p4: no generation/);
    expect(() => score(numeric, [...oneEach, { id: 'zz', sample: 0, completion: '1', finishReason: 'stop' }], 1)).toThrow(/problem zz: .*not in the test set/);
    expect(() => score(numeric, oneEach, 2)).toThrow(/problem p1: 1 generations, expected 2/);
    const twice = [...oneEach, { ...oneEach[0] }];
    expect(() => score(numeric, twice, 1)).toThrow(/problem p1: 2 generations, expected 1/);
    expect(() => score(numeric.slice(0, 1), [oneEach[0], { ...oneEach[0] }], 2)).toThrow(/problem p1: samples are 0, 0, expected 0\.\.1/);
    expect(() => score([], [], 1)).toThrow(/no problems/);
    expect(() => scoreModel({ ...base, problems: numeric, generations: oneEach, verdicts: [], samples: 1 })).toThrow(/4 generations but 0 verdicts/);
  });
});
