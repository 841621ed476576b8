import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { z } from 'zod';
import { BreakerWindow, DebateWindow, MaxFailureRate } from '../core/config';
import type { DebateCounts } from '../core/debate-calls';

/** What a finished debateProblem tells its parent (small: counts, never transcripts). */
export interface ProblemOutcome extends DebateCounts {
  problemId: string;
  ok: boolean;
  error?: string;
}

export const problemDone = defineSignal<[ProblemOutcome]>('problemDone');

const count = z.number().int().nonnegative();
/** problemDone as received: anyone may signal (the Web UI, say), so it is checked before it is counted. */
export const ProblemOutcomeSignal = z.object({
  problemId: z.string().min(1),
  ok: z.boolean(),
  error: z.string().optional(),
  usage: z.object({ promptTokens: count, completionTokens: count, calls: count }),
  turnsByRound: z.array(count),
  correctByRound: z.array(count),
  consensusCorrect: z.boolean().nullable(),
  correctAgents: count,
  callsSaved: count,
});

export interface GenerateProgress {
  runId: string;
  stage: 'prepare' | 'waiting' | 'debate' | 'build' | 'done' | 'cancelled' | 'failed';
  /** While the run waits for a worker on a queue it needs: which ("waiting for llm workers on queue X"). */
  waiting: string | null;
  total: number;
  done: number;
  failed: number;
  /** Problems whose debate artifact already existed (finished by an earlier attempt of this run). */
  alreadyDone: number;
  inFlight: number;
  calls: number;
  promptTokens: number;
  completionTokens: number;
  /** Share of agent turns verified correct, per round (index 0 = round 1), over problems done in this execution chain. */
  accuracyByRound: number[];
  consensusAccuracy: number | null;
  callsSaved: number;
  failures: { problemId: string; error: string }[];
}

export const progressQuery = defineQuery<GenerateProgress>('progress');

/**
 * A running generateDebates's pace, changed live (the Web UI's Update, `temporal workflow update`): debates
 * in flight and the breaker. It lasts for the run's execution chain; config.json keeps the frozen config.
 */
export const TuneRun = z
  .strictObject({
    window: DebateWindow.optional(),
    breaker: z.strictObject({ maxFailureRate: MaxFailureRate.optional(), window: BreakerWindow.optional() }).optional(),
  })
  .refine((t) => t.window !== undefined || t.breaker !== undefined, 'give window or breaker');
export type TuneRun = z.infer<typeof TuneRun>;

export interface TuneResult {
  window: number;
  breaker: { maxFailureRate: number; window: number };
}

export const tuneUpdate = defineUpdate<TuneResult, [TuneRun]>('tune');
