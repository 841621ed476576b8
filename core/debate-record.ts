import { z } from 'zod';
import { Problem } from './problem';
import { TokenUsage } from './chat';

/**
 * The full record of one problem's debate: `runs/<runId>/debates/<problemId>.json`, written once by
 * debateProblem and read by buildDatasets. Rounds and agents are numbered as in the paper:
 * rounds 1..K, agents 0..n-1.
 */

/** How a turn's answer was judged: by the core rules, by the LLM verifier, or not at all. */
export const VerifiedBy = z.enum(['rule', 'llm', 'none']);

export const Verdict = z.object({
  /** The final answer taken from the text (null when none could be found). */
  extracted: z.string().nullable(),
  /** Whether it matches the gold answer; null when nothing could decide. */
  correct: z.boolean().nullable(),
  verifiedBy: VerifiedBy,
  /** The rules' checker and version ("agentark-answer 2+math-verify-0.9.0"); absent in records from before it was named. */
  checker: z.string().optional(),
});
export type Verdict = z.infer<typeof Verdict>;

/** Parts of a prompt left out to fit the teacher's context (core/context-fit.ts), in the order taken. */
export const ContextCutField = z.array(z.enum(['peer-reasoning', 'older-rounds', 'peer-tail', 'own-tail', 'solution-tail'])).optional();

export const Turn = Verdict.extend({
  agent: z.number().int().nonnegative(),
  model: z.string(),
  /** The answer text. */
  content: z.string(),
  /** A reasoning teacher's reasoning (absent for other teachers). */
  reasoning: z.string().optional(),
  finishReason: z.enum(['stop', 'length', 'empty', 'other']),
  contextCut: ContextCutField,
});
export type Turn = z.infer<typeof Turn>;

export const Round = z.object({ round: z.number().int().positive(), turns: z.array(Turn).min(1) });
export type Round = z.infer<typeof Round>;

export const CorrectiveTrace = z.object({
  agent: z.number().int().nonnegative(),
  /** First round in which this agent was wrong. */
  wrongRound: z.number().int().positive(),
  /** The final round, in which it is right. */
  rightRound: z.number().int().positive(),
});
export type CorrectiveTrace = z.infer<typeof CorrectiveTrace>;

export const Extraction = z.object({
  /** A_correct: agents whose final-round answer is verified correct. */
  correctAgents: z.array(z.number().int().nonnegative()),
  correctiveTraces: z.array(CorrectiveTrace),
  consensusCorrect: z.boolean().nullable(),
  /** Agents whose final-round traces were selected for DA (empty when |A_correct| < 2). */
  diverseAgents: z.array(z.number().int().nonnegative()),
  diverseSelectedBy: z.enum(['llm-judge', 'lexical', 'none']),
});
export type Extraction = z.infer<typeof Extraction>;

export const DebateRecord = z.object({
  runId: z.string(),
  problem: Problem,
  agents: z.number().int().positive(),
  roundsPlanned: z.number().int().positive(),
  rounds: z.array(Round).min(1),
  /** Round after which all agents agreed and the debate stopped early (null when it ran all rounds). */
  earlyStopAfterRound: z.number().int().positive().nullable(),
  /** Agent calls not made thanks to the early stop. */
  callsSaved: z.number().int().nonnegative(),
  summarizer: Verdict.extend({ model: z.string(), content: z.string(), reasoning: z.string().optional(), contextCut: ContextCutField }),
  extraction: Extraction,
  usage: TokenUsage,
});
export type DebateRecord = z.infer<typeof DebateRecord>;

export { debateKey, safeItem } from './ids';
