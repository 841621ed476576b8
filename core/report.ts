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

/**
 * The (model, test set) pairs whose accuracy fell below the previous evaluation's 95% interval: a
 * drop larger than the previous night's own sampling noise.
 */
export function findRegressions(previous: EvaluationResult, current: EvaluationResult): Regression[] {
  const out: Regression[] = [];
  for (const now of current.scores) {
    const before = previous.scores.find((s) => s.model === now.model && s.testSet === now.testSet);
    if (!before || now.accuracy.rate >= before.accuracy.low) continue;
    out.push({
      model: now.model,
      testSet: now.testSet,
      previous: { accuracy: before.accuracy.rate, low: before.accuracy.low, high: before.accuracy.high, runId: previous.runId },
      current: { accuracy: now.accuracy.rate, low: now.accuracy.low, high: now.accuracy.high },
    });
  }
  return out;
}
