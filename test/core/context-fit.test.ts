import { estimateTokens, fitAgentTurn, fitTexts, messagesTokens, OMITTED, tail, ContextTooSmall } from '../../core/context-fit';
import { agentConversation } from '../../core/prompts';
import type { Problem } from '../../core/problem';

const problem: Problem = { id: 'p1', task: 'numeric', question: 'Tom has 3 apples and buys 4 more. How many apples does he have?', gold: '7' };
const solution = (agent: number, lines: number): string =>
  [...Array.from({ length: lines }, (_, i) => `Agent ${agent}, step ${i + 1}: I add what the story gives and keep a running total of it.`), '#### 7'].join('\n');
const build = (own: string[], peers: string[][]) => agentConversation(problem, own, peers);

describe('tail', () => {
  it('keeps a text that fits, and otherwise its last whole lines behind a marker', () => {
    expect(tail('a\nb', 10)).toBe('a\nb');
    const cut = tail(solution(0, 50), 300);
    expect(cut.startsWith(OMITTED)).toBe(true);
    expect(cut.length).toBeLessThanOrEqual(300);
    expect(cut.endsWith('#### 7')).toBe(true);
    expect(cut).toContain('step 50:');
    expect(cut).not.toContain('step 1:');
  });
});

describe('fitAgentTurn: the documented order of cuts', () => {
  const rounds = 3;
  const own = Array.from({ length: rounds - 1 }, () => solution(0, 30));
  const peers = Array.from({ length: rounds - 1 }, () => [1, 2, 3, 4].map((a) => ({ content: solution(a, 30), reasoning: `thinking of agent ${a} `.repeat(200) })));
  const full = messagesTokens(build(own, peers.map((r) => r.map((p) => `${p.reasoning}\n\n${p.content}`))));

  it('changes nothing without a known context, or when the prompt fits', () => {
    expect(fitAgentTurn(build, { own, peers, peerReasoning: 'keep' }, undefined).cut).toEqual([]);
    const fit = fitAgentTurn(build, { own, peers, peerReasoning: 'keep' }, full + 10);
    expect(fit.cut).toEqual([]);
    expect(fit.messages).toHaveLength(5);
  });

  it('leaves out peers\' reasoning first, then older rounds, then cuts peers, then its own reply', () => {
    const noReasoning = messagesTokens(build(own, peers.map((r) => r.map((p) => p.content))));
    const latestOnly = messagesTokens(build(own.slice(-1), peers.slice(-1).map((r) => r.map((p) => p.content))));
    const cases: [number, string[]][] = [
      [noReasoning + 5, ['peer-reasoning']],
      [latestOnly + 5, ['peer-reasoning', 'older-rounds']],
      [latestOnly - 400, ['peer-reasoning', 'older-rounds', 'peer-tail']],
      [messagesTokens(build([''], [['', '', '', '']])) + 120, ['peer-reasoning', 'older-rounds', 'peer-tail', 'own-tail']],
    ];
    for (const [budget, cuts] of cases) {
      const fit = fitAgentTurn(build, { own, peers, peerReasoning: 'keep' }, budget);
      expect(fit.cut).toEqual(cuts);
      expect(messagesTokens(fit.messages)).toBeLessThanOrEqual(budget);
      // The problem is always restated in full in the last prompt.
      expect(fit.messages[fit.messages.length - 1].content).toContain(problem.question);
    }
  });

  it('with peerReasoning strip, peers never show reasoning and nothing is cut for it', () => {
    const fit = fitAgentTurn(build, { own, peers, peerReasoning: 'strip' }, full);
    expect(fit.cut).toEqual([]);
    expect(fit.messages.map((m) => m.content).join('\n')).not.toContain('thinking of agent');
  });

  it('says how much it needs when even the bare problem does not fit', () => {
    expect(() => fitAgentTurn(build, { own, peers, peerReasoning: 'strip' }, 20)).toThrow(ContextTooSmall);
    expect(() => fitAgentTurn(build, { own, peers, peerReasoning: 'strip' }, 20)).toThrow(/needs about \d+ prompt tokens/);
  });
});

describe('fitTexts', () => {
  it('cuts every text in equal shares and fits the budget, or says it cannot', () => {
    const texts = [solution(1, 40), solution(2, 40), solution(3, 5)];
    const b = (t: string[]) => [{ role: 'user' as const, content: `Solutions:\n${t.join('\n---\n')}` }];
    const fit = fitTexts(b, texts, 600)!;
    expect(fit.cut).toBe(true);
    expect(messagesTokens(fit.messages)).toBeLessThanOrEqual(600);
    expect(fit.messages[0].content.match(/#### 7/g)).toHaveLength(3);
    expect(fitTexts(b, texts, 10_000)!.cut).toBe(false);
    expect(fitTexts(b, texts, 5)).toBeNull();
    expect(estimateTokens('abcdef')).toBe(2);
  });
});
