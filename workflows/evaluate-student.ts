import {
  ActivityCancellationType, ApplicationFailure, defineQuery, isCancellation, proxyActivities, setCurrentDetails, setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type * as mainActivities from '../activities/main';
import type { TrainerActivities } from '../activities/trainer/train-job';
import {
  describeModel, EvaluateStudentInput, modelEvalPrefix, type EvaluationResult, type ModelScore,
} from '../core/evaluation';
import { PROGRESS, RUN_ID, STAGE } from '../core/search-attributes';
import type { ModelRef } from '../core/training';
import { rootMessage } from './failures';
import { parseInput } from './parse-input';

export { evalWorkflowId } from '../core/evaluation';

const { resolveEvalModels, prepareTestSet, scoreGenerations, masLines, writeEvaluation } = proxyActivities<typeof mainActivities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '5 minutes',
  retry: { maximumAttempts: 10, nonRetryableErrorTypes: ['BadGenerations'] },
});

export interface EvalPairStatus {
  model: string;
  testSet: string;
  state: 'waiting' | 'generating' | 'scoring' | 'done' | 'skipped' | 'failed';
  accuracy: number | null;
  error: string | null;
}

export interface EvalStatus {
  runId: string;
  stage: 'prepare' | 'evaluate' | 'done' | 'failed';
  pairs: EvalPairStatus[];
}

export const evalStatusQuery = defineQuery<EvalStatus>('evalStatus');

/**
 * evaluateStudent (paper §4): every model answers every test set with the trainer's generate job on
 * the GPU queue (resumable, skipped when its inputs are unchanged), then the answers are scored on
 * the CPU with the debate's checker; the teacher's MAS lines come from debates over the test sets.
 */
export async function evaluateStudent(rawInput: EvaluateStudentInput): Promise<EvaluationResult> {
  const config = parseInput(EvaluateStudentInput, rawInput, 'evaluateStudent');
  const storeArg = config.store ? { store: config.store } : {};
  const { generateJob } = proxyActivities<TrainerActivities['activities']>({
    taskQueue: config.gpuQueue,
    startToCloseTimeout: '72 hours',
    heartbeatTimeout: `${config.heartbeatTimeoutSeconds} seconds`,
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: {
      maximumAttempts: config.maxAttempts, initialInterval: '5 seconds', maximumInterval: '5 minutes',
      nonRetryableErrorTypes: ['TrainerConfigError', 'InvalidGenerateJobInput'],
    },
  });
  let stage: EvalStatus['stage'] = 'prepare';
  const pairs: EvalPairStatus[] = [];
  const status = (): EvalStatus => ({ runId: config.runId, stage, pairs });
  setHandler(evalStatusQuery, status);
  const show = (): void => {
    const done = pairs.filter((p) => p.state === 'done' || p.state === 'skipped').length;
    setCurrentDetails(`evaluateStudent ${config.runId} — ${stage}: ${done}/${pairs.length} model × test set\n${pairs.map((p) =>
      `${p.model} on ${p.testSet}: ${p.state}${p.accuracy === null ? '' : ` ${(100 * p.accuracy).toFixed(1)}%`}${p.error ? ` (${p.error.slice(0, 200)})` : ''}`).join('\n')}`);
    upsertSearchAttributes([{ key: PROGRESS, value: pairs.length ? done / pairs.length : 0 }]);
  };
  upsertSearchAttributes([{ key: RUN_ID, value: config.runId }, { key: STAGE, value: 'evaluate' }]);

  const models: Record<string, ModelRef> = await resolveEvalModels({ base: config.base, training: config.training, models: config.models, ...storeArg });
  const sets = await Promise.all(config.testSets.map((testSet) => prepareTestSet({ runId: config.runId, testSet, ...storeArg })));
  for (const set of sets) for (const model of Object.keys(models)) pairs.push({ model, testSet: set.name, state: 'waiting', accuracy: null, error: null });
  stage = 'evaluate';
  show();

  const evaluatePair = async (p: EvalPairStatus): Promise<ModelScore> => {
    const set = sets.find((s) => s.name === p.testSet)!;
    const prefix = modelEvalPrefix(config.runId, p.testSet, p.model);
    p.state = 'generating';
    show();
    const gen = await generateJob({
      runId: config.runId, prefix, prompts: set.promptsKey, model: models[p.model], sampling: config.sampling,
      hangTimeoutMinutes: config.hangTimeoutMinutes, ...storeArg,
    });
    p.state = 'scoring';
    const score = await scoreGenerations({
      model: p.model, testSet: p.testSet, problemsKey: set.problemsKey, generationsKey: gen.generationsKey,
      scoresKey: `${prefix}/scores.json`, samples: config.sampling.samples, ...storeArg,
    });
    Object.assign(p, { state: gen.skipped ? 'skipped' : 'done', accuracy: score.accuracy.rate });
    show();
    return score;
  };
  const outcomes = await Promise.allSettled(pairs.map(evaluatePair));
  const cancelled = outcomes.find((o) => o.status === 'rejected' && isCancellation(o.reason));
  if (cancelled) throw (cancelled as PromiseRejectedResult).reason;
  outcomes.forEach((o, i) => {
    if (o.status === 'rejected') Object.assign(pairs[i], { state: 'failed', error: rootMessage(o.reason) });
  });
  const failed = pairs.filter((p) => p.state === 'failed');
  if (failed.length) {
    stage = 'failed';
    show();
    throw ApplicationFailure.nonRetryable(
      `evaluation failed: ${failed.map((p) => `${p.model} on ${p.testSet}: ${p.error}`).join('; ')}. Start run '${config.runId}' again to retry; finished generations are not redone.`,
      'EvaluationFailed',
    );
  }
  const result: EvaluationResult = {
    runId: config.runId,
    sampling: config.sampling,
    scores: outcomes.map((o) => (o as PromiseFulfilledResult<ModelScore>).value),
    mas: await masLines({ mas: config.mas, ...storeArg }),
    models: Object.fromEntries(Object.entries(models).map(([name, m]) => [name, describeModel(m)])),
  };
  await writeEvaluation({ result, ...storeArg });
  stage = 'done';
  upsertSearchAttributes([{ key: STAGE, value: 'done' }]);
  show();
  return result;
}
