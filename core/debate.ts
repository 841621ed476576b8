import { checkAnswer, isEquivalent } from './answer';
import type { CorrectiveTrace, Extraction, Round, Verdict } from './debate-record';
import type { Problem } from './problem';

/**
 * The pure parts of one problem's debate, shared by the workflow and its tests: rule-based verify,
 * the early-stop test, seeds and call tags, and extract (A_correct, corrective traces).
 */

/** Verify one answer with the core rules; `correct: null` leaves it to the LLM verifier. */
export function ruleVerdict(problem: Problem, content: string): Verdict {
  const { extracted, correct } = checkAnswer({
    task: problem.task,
    completion: content,
    gold: problem.gold,
    ...(problem.options ? { options: problem.options } : {}),
  });
  return { extracted, correct, verifiedBy: correct === null ? 'none' : 'rule' };
}

/** True when every agent gave an answer and all answers are equivalent to the first one. */
export function unanimous(problem: Problem, answers: (string | null)[]): boolean {
  const [first, ...rest] = answers;
  if (first === null || first === undefined) return false;
  return rest.every((a) => {
    if (a === null) return false;
    const same = isEquivalent(problem.task, a, first, problem.options);
    return same === null ? normalise(a) === normalise(first) : same;
  });
}

const normalise = (s: string): string => s.trim().toLowerCase().replace(/\s+/g, ' ');

/** FNV-1a: a small stable hash, so seeds do not depend on anything but their inputs. */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The sampling seed of one agent turn: a repeated run asks the same question with the same seed. */
export const turnSeed = (runSeed: number, problemId: string, agent: number, round: number): number =>
  hash32(`${runSeed}:${problemId}:${agent}:${round}`) & 0x7fffffff;

/** The `user` tag sent with each call, so the teacher's logs can tell which turn a request was. */
export const callTag = (runId: string, problemId: string, role: string): string => `agentark:${runId}:${problemId}:${role}`;

/**
 * Extract: A_correct is the agents verified correct in the final round; a corrective trace is an
 * agent wrong in some earlier round and right in the final one. The DA selection is done apart.
 */
export function extractCorrect(rounds: Round[]): Pick<Extraction, 'correctAgents' | 'correctiveTraces'> {
  const last = rounds[rounds.length - 1];
  const correctAgents = last.turns.filter((t) => t.correct === true).map((t) => t.agent);
  const correctiveTraces: CorrectiveTrace[] = [];
  for (const agent of correctAgents) {
    const wrong = rounds.slice(0, -1).find((r) => r.turns.find((t) => t.agent === agent)?.correct === false);
    if (wrong) correctiveTraces.push({ agent, wrongRound: wrong.round, rightRound: last.round });
  }
  return { correctAgents, correctiveTraces };
}

/** Parse the LLM verifier's reply: {"correct": true|false}, or a bare true/false; anything else is undecided. */
export function parseVerifierReply(reply: string): boolean | null {
  const json = /\{[^{}]*\}/.exec(reply)?.[0];
  if (json) {
    try {
      const value: unknown = JSON.parse(json);
      if (typeof value === 'object' && value !== null && 'correct' in value) {
        const c = (value as { correct: unknown }).correct;
        if (typeof c === 'boolean') return c;
      }
    } catch {
      // fall through to the bare-word reading
    }
  }
  const word = reply.trim().toLowerCase();
  if (word === 'true') return true;
  if (word === 'false') return false;
  return null;
}
