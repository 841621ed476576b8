import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { JobName, Method, TrainJobProgress, TrainJobResult } from '../core/training';
import { TRAIN_PROGRESS_SIGNAL } from '../core/training';

/** A running job's progress, sent by the trainer activity; validated on receipt (it may come from anywhere). */
export const trainProgress = defineSignal<[unknown]>(TRAIN_PROGRESS_SIGNAL);

export type JobState = 'waiting' | 'staging' | 'running' | 'uploading' | 'stopping' | 'done' | 'skipped' | 'failed';

export interface TrainJobStatus {
  job: JobName;
  method: Method;
  state: JobState;
  step: number;
  total: number;
  loss: number | null;
  tokensPerS: number | null;
  attempt: number;
  startStep: number;
  checkpointStep: number | null;
  finalKey: string | null;
  seconds: number | null;
  error: string | null;
}

export interface TrainStatus {
  runId: string;
  stage: 'prepare' | 'waiting' | 'train' | 'done' | 'failed';
  jobs: TrainJobStatus[];
  /** Each method's student: the final model folder of its last job. */
  models: Partial<Record<Method, string>>;
}

export interface TrainStudentResult extends TrainStatus {
  results: TrainJobResult[];
}

export const trainStatusQuery = defineQuery<TrainStatus>('trainStatus');

/** A running job's status from its newest report (the workflow's signal, or the CLI's read of the heartbeat). */
export function applyProgress(status: TrainJobStatus, p: TrainJobProgress): void {
  Object.assign(status, {
    state: p.state, step: p.step, total: p.total, loss: p.loss, tokensPerS: p.tokensPerS,
    attempt: p.attempt, startStep: p.startStep, checkpointStep: p.checkpointStep,
  });
}
