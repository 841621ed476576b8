import { splitThink, withReasoning } from '../../core/reasoning';

describe('reasoning of a reasoning teacher', () => {
  it('moves a leading think block out of the content', () => {
    expect(splitThink('<think>\nadd 3 and 4\n</think>\n\nThe answer is 7.\n#### 7')).toEqual({ content: 'The answer is 7.\n#### 7', reasoning: 'add 3 and 4' });
    expect(splitThink('  <think>x</think>y')).toEqual({ content: 'y', reasoning: 'x' });
  });

  it('takes an unclosed block (cut off at maxTokens) as all reasoning, and leaves other text alone', () => {
    expect(splitThink('<think>still thinking')).toEqual({ content: '', reasoning: 'still thinking' });
    expect(splitThink('No think here <think>x</think>')).toEqual({ content: 'No think here <think>x</think>' });
  });

  it('puts the reasoning in front as a think block only when asked and present', () => {
    expect(withReasoning({ content: 'A', reasoning: 'R' }, true)).toBe('<think>\nR\n</think>\n\nA');
    expect(withReasoning({ content: 'A', reasoning: 'R' }, false)).toBe('A');
    expect(withReasoning({ content: 'A' }, true)).toBe('A');
  });
});
