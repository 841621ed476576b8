import { z } from 'zod';
import { RunId } from './config';
import { Sampling, TestSet } from './evaluation';
import { Method, ModelRef } from './training';

/**
 * Nightly evaluation: a Temporal Schedule starts nightlyEvaluation, which evaluates the newest final
 * models of some training runs (and the base student) on fixed test sets, builds the night's report
 * and flags the scores that fell below the previous night's 95% interval.
 */

/** Also a key segment and part of each night's run id, so the run id rule applies (kept short). */
export const ScheduleId = RunId.max(60);

export const NightlyEvaluationInput = z.strictObject({
  scheduleId: ScheduleId,
  /** distillPipeline or trainStudent run ids whose trained models are evaluated. */
  runs: z.array(RunId).min(1),
  methods: z.array(Method).min(1).default([...Method.options]),
  /** The base student, evaluated as `base`. With it, a night with no trained model yet evaluates the base alone. */
  base: ModelRef.optional(),
  testSets: z.array(TestSet).min(1),
  sampling: Sampling.optional(),
  gpuQueue: z.string().min(1).optional(),
  store: z.string().min(1).optional(),
});
export type NightlyEvaluationInput = z.input<typeof NightlyEvaluationInput>;
export type NightlyEvaluationConfig = z.infer<typeof NightlyEvaluationInput>;

/** `nightly-<scheduleId>-20261201T020000Z`: the night's run id, from when its workflow started (UTC, to the second). */
export function nightlyRunId(scheduleId: string, startedAtIso: string): string {
  const stamp = new Date(startedAtIso).toISOString().replace(/\.\d+Z$/, 'Z').replace(/[-:]/g, '');
  return `nightly-${scheduleId}-${stamp}`;
}

export const nightlyPrefix = (scheduleId: string): string => `nightly/${scheduleId}`;
/** The nights of a schedule that finished, oldest first (see NightIndex). */
export const nightsKey = (scheduleId: string): string => `${nightlyPrefix(scheduleId)}/nights.json`;

export interface NightEntry {
  runId: string;
  previousRunId: string | null;
  models: string[];
  regressions: number;
  reportKey: string;
  finishedAt: string;
}

export interface NightIndex {
  scheduleId: string;
  nights: NightEntry[];
}

/**
 * The night a night is compared with: the newest finished one whose run id is earlier. Run ids of
 * one schedule differ only in their fixed-width UTC stamp, so string order is time order.
 */
export function previousNightIn(index: NightIndex | null, before: string): string | null {
  const earlier = (index?.nights ?? []).map((n) => n.runId).filter((id) => id < before).sort();
  return earlier.at(-1) ?? null;
}

/** A trained model's name in the evaluation: `<run>.<method>`, e.g. `r1.rsft+da`, within ModelName's 64 characters. */
export const nightlyModelName = (runId: string, method: Method): string => `${runId.slice(0, 63 - method.length)}.${method}`;
