import { z } from 'zod';
import { TokenUsage } from './chat';
import { DebateConfig, JudgeConfig, RunId, TeacherConfig, VerifierConfig } from './config';
import { ContextCutField, type DebateRecord, Verdict } from './debate-record';
import { Problem } from './problem';

/**
 * What the debate's llm activities (debateRound, finishDebate) take and return. Replies stay in the
 * store; through workflow history go only their keys and verdicts, so a history's size does not
 * depend on how long the teacher writes.
 */

/** One agent turn as the workflow keeps it: where its reply is, and what was judged of it. */
export const TurnRef = Verdict.extend({
  agent: z.number().int().nonnegative(),
  /** The stored reply (a teacher cache entry). */
  key: z.string().min(1),
  model: z.string(),
  finishReason: z.enum(['stop', 'length', 'empty', 'other']),
  contextCut: ContextCutField,
});
export type TurnRef = z.infer<typeof TurnRef>;

export const RoundRef = z.object({ round: z.number().int().positive(), turns: z.array(TurnRef).min(1) });
export type RoundRef = z.infer<typeof RoundRef>;

const Common = {
  runId: RunId,
  problem: Problem,
  teacher: TeacherConfig,
  seed: z.number().int().nonnegative(),
  store: z.string().min(1).optional(),
};

export const DebateRoundInput = z.strictObject({
  ...Common,
  debate: DebateConfig,
  round: z.number().int().positive(),
  /** Rounds 1..round−1, as returned by the earlier debateRound calls. */
  previous: z.array(RoundRef),
});
export type DebateRoundInput = z.input<typeof DebateRoundInput>;

export interface DebateRoundResult {
  round: RoundRef;
  /** Every agent gave an answer and all are equivalent (the early-stop test; false when earlyStop is off or no round is left). */
  unanimous: boolean;
  usage: TokenUsage;
}

export const FinishDebateInput = z.strictObject({
  ...Common,
  debate: DebateConfig,
  verifier: VerifierConfig,
  judge: JudgeConfig,
  rounds: z.array(RoundRef).min(1),
  earlyStopAfterRound: z.number().int().positive().nullable(),
  /** What the rounds cost, so the record's usage is the whole debate's. */
  usage: TokenUsage,
});
export type FinishDebateInput = z.input<typeof FinishDebateInput>;

/** What a finished debate tells its parent (small: counts, never transcripts). */
export interface DebateCounts {
  usage: TokenUsage;
  /** Per round run: agent turns and how many were verified correct. */
  turnsByRound: number[];
  correctByRound: number[];
  consensusCorrect: boolean | null;
  correctAgents: number;
  callsSaved: number;
}

export function debateCounts(record: DebateRecord): DebateCounts {
  const last = record.rounds[record.rounds.length - 1];
  return {
    usage: record.usage,
    turnsByRound: record.rounds.map((r) => r.turns.length),
    correctByRound: record.rounds.map((r) => r.turns.filter((t) => t.correct === true).length),
    consensusCorrect: record.extraction.consensusCorrect,
    correctAgents: last.turns.filter((t) => t.correct === true).length,
    callsSaved: record.callsSaved,
  };
}
