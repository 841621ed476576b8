import { ApplicationFailure } from '@temporalio/activity';
import { testSetPrefix, type TestSet } from '../../core/evaluation';
import type { Problem } from '../../core/problem';
import { firstRoundMessage } from '../../core/prompts';
import { storeFor } from '../artifacts';
import { problemSource } from '../debate/problems';
import { DatasetConfigError, DatasetEmptyError, DatasetRecordError } from '../datasets/errors';
import { hashConfig } from '../store/config-hash';
import { findManifest, writeManifest } from '../store/manifest';

export interface PreparedTestSet {
  name: string;
  problemsKey: string;
  promptsKey: string;
  problems: number;
  task: string;
}

/**
 * A test set loaded once per run: problems.jsonl (with the gold answers the scoring reads) and
 * prompts.jsonl (what the models answer: the debate's round-1 prompt, the one the students were
 * trained on). Skipped when its manifest records the same dataset config.
 */
export async function prepareTestSet(input: { runId: string; testSet: TestSet; store?: string }): Promise<PreparedTestSet> {
  const store = storeFor(input.store);
  const prefix = testSetPrefix(input.runId, input.testSet.name);
  const keys = { problemsKey: `${prefix}/problems.jsonl`, promptsKey: `${prefix}/prompts.jsonl` };
  const configHash = hashConfig(input.testSet.dataset);
  const manifest = await findManifest(store, prefix);
  if (manifest?.configHash === configHash) {
    return { name: input.testSet.name, ...keys, problems: manifest.counts.problems ?? 0, task: String(manifest.inputs.task ?? 'mixed') };
  }
  const problems: Problem[] = [];
  try {
    for await (const p of problemSource(input.testSet.dataset, `test set '${input.testSet.name}' dataset.url`).problems) problems.push(p);
  } catch (err) {
    if (err instanceof DatasetRecordError || err instanceof DatasetEmptyError || err instanceof DatasetConfigError) {
      throw ApplicationFailure.nonRetryable(`test set '${input.testSet.name}': ${err.message}`, err.name);
    }
    throw err;
  }
  const ids = new Set<string>();
  for (const p of problems) {
    if (ids.has(p.id)) throw ApplicationFailure.nonRetryable(`test set '${input.testSet.name}': problem id '${p.id}' appears twice`, 'DuplicateProblemId');
    ids.add(p.id);
  }
  const tasks = new Set(problems.map((p) => p.task));
  const task = tasks.size === 1 ? [...tasks][0] : 'mixed';
  await store.writeJsonl(keys.problemsKey, problems);
  await store.writeJsonl(keys.promptsKey, problems.map((p) => ({ id: p.id, prompt: firstRoundMessage(p).content })));
  await writeManifest(store, prefix, { inputs: { dataset: input.testSet.dataset, task }, configHash, counts: { problems: problems.length } });
  return { name: input.testSet.name, ...keys, problems: problems.length, task };
}
