import { ApplicationFailure, CancelledFailure } from '@temporalio/activity';
import type { TrainerEvent, TrainerExit } from './trainer-process';

/**
 * What a trainer's unsuccessful exit becomes for Temporal (trainer/README.md's exit codes): exit 2
 * is a bad config and fails for good; cancel, worker shutdown, a hang, exit 75 or a crash are
 * retried, and the retry resumes from what the store holds (`resumable` says from where).
 */
export function trainerFailure(job: string, exit: TrainerExit, errorEvent: TrainerEvent | null, message: string, resumable: string, hangMinutes: number): Error {
  // Under torchrun a rank's exit 2 or 75 reaches us as 1: the error event carries the trainer's own code.
  const code = typeof errorEvent?.code === 'number' ? errorEvent.code : exit.code;
  if (code === 2) {
    const field = typeof errorEvent?.field === 'string' ? errorEvent.field : undefined;
    return ApplicationFailure.create({ message: `${job}: ${message}`, type: 'TrainerConfigError', nonRetryable: true, details: field ? [{ field }] : [] });
  }
  if (exit.stopReason === 'cancelled') return new CancelledFailure(`${job}: cancelled${resumable}`);
  if (exit.stopReason === 'shutdown') return ApplicationFailure.retryable(`${job}: the gpu worker shut down${resumable}`, 'WorkerShutdown');
  if (exit.stopReason === 'hung') return ApplicationFailure.retryable(`${job}: no trainer event for ${hangMinutes} min; stopped${resumable}`, 'TrainerHung');
  const how = exit.code === null ? `was killed by ${exit.signal ?? 'a signal'}` : `exited ${exit.code}`;
  return ApplicationFailure.retryable(`${job}: trainer ${how}: ${message}${resumable}`, code === 75 ? 'TrainerInterrupted' : 'TrainerCrashed');
}

/** The trainer's own error message, else the end of its stderr. */
export const failureMessage = (exit: TrainerExit, errorEvent: TrainerEvent | null): string =>
  typeof errorEvent?.message === 'string' ? errorEvent.message : exit.stderrTail.split('\n').slice(-8).join('\n');
