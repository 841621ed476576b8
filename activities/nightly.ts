import { ApplicationFailure } from '@temporalio/activity';
import { nightlyModelName, nightsKey, previousNightIn, type NightIndex } from '../core/nightly';
import type { Regression, Report } from '../core/report';
import { METHOD_OUTPUT, trainJobPrefix, type Method, type ModelRef } from '../core/training';
import { storeFor } from './artifacts';
import { findManifest } from './store/manifest';
import type { ArtifactStore } from './store/store';

export interface NightlyModelsInput {
  runs: string[];
  methods: Method[];
  /** Given: a night without any trained model evaluates the base alone instead of failing. */
  base?: ModelRef;
  store?: string;
}

export interface NightlyModels {
  /** `<run>.<method>` → the method's final model in the store. */
  models: Record<string, ModelRef>;
  /** Runs with no finished method (not trained yet, or not a run at all). */
  emptyRuns: string[];
}

/**
 * Every finished trained model of the runs: a method counts once its job's manifest exists (it is
 * written after the final model). Trained models inherit the base's dtype and attention settings.
 */
export async function nightlyModels(input: NightlyModelsInput): Promise<NightlyModels> {
  const store = storeFor(input.store);
  const inherit = { ...(input.base?.dtype ? { dtype: input.base.dtype } : {}), ...(input.base?.attn_implementation ? { attn_implementation: input.base.attn_implementation } : {}) };
  const models: Record<string, ModelRef> = {};
  const emptyRuns: string[] = [];
  for (const run of input.runs) {
    let found = 0;
    for (const method of input.methods) {
      const prefix = trainJobPrefix(run, METHOD_OUTPUT[method]);
      if (!(await findManifest(store, prefix))) continue;
      const name = nightlyModelName(run, method);
      if (models[name]) throw ApplicationFailure.nonRetryable(`two runs give the model name '${name}': shorten their ids`, 'DuplicateModelName');
      models[name] = { key: `${prefix}/final`, ...inherit };
      found++;
    }
    if (!found) emptyRuns.push(run);
  }
  if (!Object.keys(models).length && !input.base) {
    throw ApplicationFailure.nonRetryable(
      `no trained model in runs ${input.runs.join(', ')} (methods ${input.methods.join(', ')}) and no base model: nothing to evaluate`,
      'NoTrainedModel',
    );
  }
  return { models, emptyRuns };
}

async function readIndex(store: ArtifactStore, scheduleId: string): Promise<NightIndex | null> {
  const key = nightsKey(scheduleId);
  return (await store.exists(key)) ? ((await store.getJson(key)) as NightIndex) : null;
}

/** The evaluation run of the schedule's previous finished night (null on the first night). */
export async function previousNight(input: { scheduleId: string; before: string; store?: string }): Promise<string | null> {
  return previousNightIn(await readIndex(storeFor(input.store), input.scheduleId), input.before);
}

export interface RecordNightInput {
  scheduleId: string;
  runId: string;
  previousRunId: string | null;
  reportKey: string;
  store?: string;
}

/** Adds the night (replacing an earlier attempt of the same run id) to the index; returns its report's regressions. */
export async function recordNight(input: RecordNightInput): Promise<Regression[]> {
  const store = storeFor(input.store);
  const report = (await store.getJson(input.reportKey)) as Report;
  const index = (await readIndex(store, input.scheduleId)) ?? { scheduleId: input.scheduleId, nights: [] };
  index.nights = index.nights.filter((n) => n.runId !== input.runId);
  index.nights.push({
    runId: input.runId,
    previousRunId: input.previousRunId,
    models: Object.keys(report.evaluation?.models ?? {}),
    regressions: report.regressions.length,
    reportKey: input.reportKey,
    finishedAt: new Date().toISOString(),
  });
  index.nights.sort((a, b) => (a.runId < b.runId ? -1 : 1));
  await store.putJson(nightsKey(input.scheduleId), index);
  return report.regressions;
}
