import { ApplicationFailure } from '@temporalio/workflow';

/** Outcomes of a run's latest finished problems, oldest first: null for a success, else the failure's root message. */
export type RecentOutcomes = (string | null)[];

export interface BreakerSettings {
  maxFailureRate: number;
  window: number;
}

export function recordOutcome(recent: RecentOutcomes, failure: string | null, window: number): void {
  recent.push(failure);
  if (recent.length > window) recent.splice(0, recent.length - window);
}

/**
 * The failure-rate breaker: once a full window of problems has finished and more than maxFailureRate
 * of them failed, the run's failure (non-retryable), naming the most common cause among them.
 */
export function breakerFailure(recent: RecentOutcomes, s: BreakerSettings): ApplicationFailure | null {
  if (recent.length < s.window) return null;
  const failures = recent.filter((r): r is string => r !== null);
  if (failures.length <= s.maxFailureRate * recent.length) return null;
  const counts = new Map<string, number>();
  for (const f of failures) counts.set(f, (counts.get(f) ?? 0) + 1);
  const [cause, n] = [...counts.entries()].reduce((a, b) => (b[1] > a[1] ? b : a));
  return ApplicationFailure.nonRetryable(
    `${failures.length} of the last ${recent.length} problems failed (more than ${Math.round(s.maxFailureRate * 100)}%), `
      + `so the run stopped; most common cause (${n} of them): ${cause}`,
    'FailureRateBreaker',
  );
}
