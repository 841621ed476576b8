import { parseJudgeSelection, selectDiverseLexical } from '../../core/diversity';

describe('selectDiverseLexical', () => {
  // Word 3-gram sets: t0 {abc,bcd,cde}, t1 {abc,bcd,cdf}, t2 {xyz,yzw,zwv}.
  // d(0,1) = 1 − 2/4 = 0.5, d(0,2) = d(1,2) = 1 → t2 is farthest on average; then t0 and t1 tie at 1.
  const three = ['a b c d e', 'a b c d f', 'x y z w v'];

  it('starts with the trace farthest from the others, breaking ties by lowest index', () => {
    expect(selectDiverseLexical(three, 1)).toEqual([2]);
    expect(selectDiverseLexical(three, 2)).toEqual([2, 0]);
    expect(selectDiverseLexical(three, 3)).toEqual([2, 0, 1]);
  });

  it('picks by the distance to the nearest selected trace, not by index', () => {
    // d(0,1) = 1 − 3/5 = 0.4, d(2,3) = 1 − 1/3 ≈ 0.67, every cross pair 1.
    // Sums: t0 = t1 = 2.4, t2 = t3 ≈ 2.67 → t2; then t0 (1 vs 1 vs 0.67); then t3 (0.67 > 0.4); then t1.
    const traces = ['a b c d e f', 'a b c d e g', 'p q r s', 'p q r t'];
    expect(selectDiverseLexical(traces, 4)).toEqual([2, 0, 3, 1]);
  });

  it('ignores case and punctuation when comparing words', () => {
    // t0 and t1 are the same words; t2 shares nothing → t2 first, then t0 (tie with t1 → lowest index).
    expect(selectDiverseLexical(['So, A + B = C.', 'so a b c', 'entirely other words here'], 2)).toEqual([2, 0]);
    expect(selectDiverseLexical(['So, A + B = C.', 'so a b c'], 2)).toEqual([0, 1]);
  });

  it('compares texts shorter than three words as whole phrases', () => {
    // {"yes"} vs {"yes"} are identical, {"no way"} differs from both.
    expect(selectDiverseLexical(['yes', 'Yes!', 'no way'], 2)).toEqual([2, 0]);
  });

  it('returns identical traces in index order', () => {
    expect(selectDiverseLexical(['same text here', 'same text here', 'same text here'], 3)).toEqual([0, 1, 2]);
    expect(selectDiverseLexical(['', '', ''], 2)).toEqual([0, 1]);
  });

  it('clamps k to the number of traces and returns nothing for k ≤ 0 or no traces', () => {
    expect(selectDiverseLexical(three, 10)).toEqual([2, 0, 1]);
    expect(selectDiverseLexical(three, 0)).toEqual([]);
    expect(selectDiverseLexical([], 3)).toEqual([]);
  });
});

describe('parseJudgeSelection', () => {
  it('reads a bare JSON reply, keeping the judge\'s order', () => {
    expect(parseJudgeSelection('{"selected": [2, 0]}', 3, 2)).toEqual([2, 0]);
  });

  it('tolerates code fences and prose around the JSON', () => {
    const reply = 'Solutions 1 and 2 use different identities.\n```json\n{ "selected": [1, 2] }\n```\nHope this helps!';
    expect(parseJudgeSelection(reply, 3, 2)).toEqual([1, 2]);
  });

  it('skips brace spans that are not JSON and braces inside JSON strings', () => {
    expect(parseJudgeSelection('Consider {x | x > 0}. Then {"selected": [0, 1]}', 2, 2)).toEqual([0, 1]);
    expect(parseJudgeSelection('{"why": "one uses {a}, one \\"}\\" b", "selected": [3, 0]}', 4, 2)).toEqual([3, 0]);
  });

  it('accepts solution numbers given as digit strings', () => {
    expect(parseJudgeSelection('{"selected": ["1", "0"]}', 2, 2)).toEqual([1, 0]);
  });

  it.each([
    ['out of range', '{"selected": [0, 3]}'],
    ['negative', '{"selected": [-1, 0]}'],
    ['duplicate', '{"selected": [1, 1]}'],
    ['too short', '{"selected": [1]}'],
    ['too long', '{"selected": [0, 1, 2]}'],
    ['not integers', '{"selected": [0.5, 1]}'],
    ['not numbers', '{"selected": ["first", "second"]}'],
    ['not a list', '{"selected": 1}'],
    ['missing', '{"choice": [0, 1]}'],
    ['no JSON at all', 'I pick solutions 0 and 1.'],
    ['unclosed JSON', '{"selected": [0, 1]'],
    ['empty', ''],
  ])('rejects a selection that is %s', (_, reply) => {
    expect(parseJudgeSelection(reply, 3, 2)).toBeNull();
  });

  it('lets the first object with a selection decide, even when a later one would be valid', () => {
    expect(parseJudgeSelection('{"selected": [7, 8]} or maybe {"selected": [0, 1]}', 3, 2)).toBeNull();
  });
});
