import type { TokenUsage } from '../../core/chat';
import type { DebateRecord, Extraction } from '../../core/debate-record';
import type { Problem } from '../../core/problem';

/** Hand-built debate artifacts for the tests of buildDatasets and of what reads its files. */

/** [content, correct, extracted]; verifiedBy follows from `correct`. */
export type TurnSpec = [string, boolean | null, string | null];

export interface DebateSpec {
  rounds: TurnSpec[][];
  roundsPlanned?: number;
  earlyStopAfterRound?: number;
  callsSaved?: number;
  summarizer: TurnSpec;
  extraction: Omit<Extraction, 'consensusCorrect'>;
  usage: TokenUsage;
}

export function debate(runId: string, problem: Problem, spec: DebateSpec): DebateRecord {
  const verdict = ([content, correct, extracted]: TurnSpec) => ({ content, correct, extracted, verifiedBy: correct === null ? 'none' : 'rule' }) as const;
  return {
    runId,
    problem,
    agents: spec.rounds[0].length,
    roundsPlanned: spec.roundsPlanned ?? spec.rounds.length,
    rounds: spec.rounds.map((turns, r) => ({
      round: r + 1,
      turns: turns.map((turn, agent) => ({ ...verdict(turn), agent, model: 'teacher', finishReason: 'stop' as const })),
    })),
    earlyStopAfterRound: spec.earlyStopAfterRound ?? null,
    callsSaved: spec.callsSaved ?? 0,
    summarizer: { ...verdict(spec.summarizer), model: 'teacher' },
    extraction: { ...spec.extraction, consensusCorrect: spec.summarizer[1] },
    usage: spec.usage,
  };
}

export const numeric = (id: string, question: string, gold: string): Problem => ({ id, task: 'numeric', question, gold });

/** An extraction with no corrective trace and no diverse selection. */
export const none = { correctiveTraces: [], diverseAgents: [], diverseSelectedBy: 'none' as const };
