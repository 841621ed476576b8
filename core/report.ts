import type { EvaluationResult } from './evaluation';
import type { DatasetStats } from './records';

/**
 * A run's report (report.json), what report.md, report.html and the charts are drawn from. Every
 * number in it comes from an artifact of the run: the debate's stats.json, the trainer's events,
 * the evaluation's scores.
 */

/** One point of a training curve: an optimizer step and what the trainer reported at it. */
export interface CurvePoint {
  step: number;
  loss: number | null;
  /** GRPO only: mean reward, KL to the reference, rollout accuracy. */
  reward?: number | null;
  kl?: number | null;
  accuracy?: number | null;
}

export interface TrainingSummary {
  job: string;
  method: string;
  trainer: string;
  steps: number;
  lastLoss: number | null;
  seconds: number | null;
  finalKey: string;
  curve: CurvePoint[];
}

/** A night's score that fell below the previous night's interval. */
export interface Regression {
  model: string;
  testSet: string;
  previous: { accuracy: number; low: number; high: number; runId: string };
  current: { accuracy: number; low: number; high: number };
}

export interface Report {
  runId: string;
  createdAt: string;
  /** The debate stage on the training problems, when the run had one. */
  debate: DatasetStats | null;
  training: TrainingSummary[];
  evaluation: EvaluationResult | null;
  /** Nightly evaluations: the drops against the previous night. */
  regressions: Regression[];
  /** Chart name → its PNG's key in the store. */
  charts: Record<string, string>;
}

export const reportPrefix = (runId: string): string => `runs/${runId}/report`;
