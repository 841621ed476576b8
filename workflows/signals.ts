import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { DebateCounts } from '../core/debate-calls';

/** What a finished debateProblem tells its parent (small: counts, never transcripts). */
export interface ProblemOutcome extends DebateCounts {
  problemId: string;
  ok: boolean;
  error?: string;
}

export const problemDone = defineSignal<[ProblemOutcome]>('problemDone');

export interface GenerateProgress {
  runId: string;
  stage: 'prepare' | 'debate' | 'build' | 'done';
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
