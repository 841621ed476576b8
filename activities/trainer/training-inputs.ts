import { ApplicationFailure } from '@temporalio/activity';
import { TrainJobInput, type DatasetName, type TrainJobResult } from '../../core/training';
import { storeFor } from '../artifacts';
import { checkInputKey } from '../store/input-store';
import { findManifest } from '../store/manifest';
import { finishedJob, jobIdentity } from './job-record';

/** Main-queue activities of the training stage: where its datasets are, and which jobs are already done. */

export interface ResolveDatasetsInput {
  datasets: { runId: string } | { keys: Partial<Record<DatasetName, string>> };
  needed: DatasetName[];
  store?: string;
}

export interface ResolvedDatasets {
  keys: Partial<Record<DatasetName, string>>;
  /** Records per file, when a datasets manifest says so. */
  counts: Partial<Record<DatasetName, number>>;
}

/** The dataset keys of a generateDebates run (from its manifest) or the given ones, each checked to exist and to hold records. */
export async function resolveTrainingData(input: ResolveDatasetsInput): Promise<ResolvedDatasets> {
  const store = storeFor(input.store);
  let keys: Partial<Record<DatasetName, string>>;
  const counts: Partial<Record<DatasetName, number>> = {};
  if ('runId' in input.datasets) {
    const stage = `runs/${input.datasets.runId}/datasets`;
    const manifest = await findManifest(store, stage);
    if (!manifest) {
      throw ApplicationFailure.nonRetryable(
        `no datasets for run '${input.datasets.runId}' (${store.urlOf(stage)}/manifest.json is missing): run generateDebates for it first, or give datasets.keys`,
        'NoDatasets',
      );
    }
    keys = Object.fromEntries(input.needed.map((name) => [name, `${stage}/${name}.jsonl`]));
    for (const name of input.needed) counts[name] = manifest.counts[name] ?? 0;
  } else {
    keys = input.datasets.keys;
  }
  for (const name of input.needed) {
    const key = keys[name];
    if (!key) throw ApplicationFailure.nonRetryable(`datasets.keys.${name}: required by the methods asked for`, 'NoDatasets');
    checkInputKey(key, `datasets.keys.${name}`);
    if (!(await store.exists(key))) throw ApplicationFailure.nonRetryable(`datasets.keys.${name}: ${store.urlOf(key)} does not exist`, 'NoDatasets');
    if (counts[name] === 0) {
      throw ApplicationFailure.nonRetryable(`${store.urlOf(key)} has no records: the debate produced nothing to train ${name} on (see the run's stats.json)`, 'EmptyDataset');
    }
  }
  return { keys, counts };
}

/** The recorded result of a job that finished earlier with the same inputs and settings, else null. */
export async function findTrainJob(raw: TrainJobInput): Promise<TrainJobResult | null> {
  const input = TrainJobInput.parse(raw);
  const store = storeFor(input.store);
  return finishedJob(store, input, await jobIdentity(store, input));
}
