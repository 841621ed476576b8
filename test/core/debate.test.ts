import { callTag, extractCorrect, hash32, parseVerifierReply, ruleVerdict, turnSeed, unanimous } from '../../core/debate';
import type { Round, Turn } from '../../core/debate-record';
import type { Problem } from '../../core/problem';

const numeric: Problem = { id: 'p1', task: 'numeric', question: 'How many?', gold: '18' };
const text: Problem = { id: 'p2', task: 'text', question: 'Name the capital of France.', gold: 'Paris' };

const turn = (agent: number, correct: boolean | null): Turn => ({
  agent, model: 'm', content: '', finishReason: 'stop', extracted: null, correct, verifiedBy: correct === null ? 'none' : 'rule',
});
const round = (n: number, verdicts: (boolean | null)[]): Round => ({ round: n, turns: verdicts.map((c, i) => turn(i, c)) });

describe('debate logic', () => {
  it('verifies by rule where a rule decides, and leaves text answers to the LLM verifier', () => {
    expect(ruleVerdict(numeric, 'So 9 + 9 = 18.\n#### 18')).toEqual({ extracted: '18', correct: true, verifiedBy: 'rule' });
    expect(ruleVerdict(numeric, '#### 17').correct).toBe(false);
    expect(ruleVerdict(text, 'Answer: Paris')).toMatchObject({ correct: null, verifiedBy: 'none' });
  });

  it('calls a debate unanimous only when every agent answered the same', () => {
    expect(unanimous(numeric, ['18', '18.0', '$18'])).toBe(true);
    expect(unanimous(numeric, ['18', '17', '18'])).toBe(false);
    expect(unanimous(numeric, ['18', null, '18'])).toBe(false);
    expect(unanimous(text, ['Paris', ' paris '])).toBe(true);
    expect(unanimous(text, ['Paris', 'Lyon'])).toBe(false);
  });

  it('extracts A_correct from the final round and corrective traces from earlier wrong rounds', () => {
    const rounds = [round(1, [false, true, false]), round(2, [true, true, false]), round(3, [true, true, null])];
    expect(extractCorrect(rounds)).toEqual({
      correctAgents: [0, 1],
      correctiveTraces: [{ agent: 0, wrongRound: 1, rightRound: 3 }],
    });
    expect(extractCorrect([round(1, [true, false])])).toEqual({ correctAgents: [0], correctiveTraces: [] });
  });

  it('reads the LLM verifier strictly: JSON or a bare true/false, anything else undecided', () => {
    expect(parseVerifierReply('{"correct": true}')).toBe(true);
    expect(parseVerifierReply('```json\n{"correct": false}\n```')).toBe(false);
    expect(parseVerifierReply('false')).toBe(false);
    expect(parseVerifierReply('{"correct": "yes"}')).toBeNull();
    expect(parseVerifierReply('I think it is right')).toBeNull();
  });

  it('derives seeds and tags from their inputs only', () => {
    expect(turnSeed(0, 'p1', 2, 1)).toBe(turnSeed(0, 'p1', 2, 1));
    expect(new Set([turnSeed(0, 'p1', 0, 1), turnSeed(0, 'p1', 1, 1), turnSeed(0, 'p1', 0, 2), turnSeed(1, 'p1', 0, 1)]).size).toBe(4);
    expect(hash32('a')).toBe(0xe40c292c); // FNV-1a reference value for "a"
    expect(callTag('r1', 'p1', 'agent-0:round-1')).toBe('agentark:r1:p1:agent-0:round-1');
  });
});
