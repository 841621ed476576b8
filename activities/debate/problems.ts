import { ApplicationFailure, Context } from '@temporalio/activity';
import type { DatasetConfig } from '../../core/config';
import { debateKey } from '../../core/debate-record';
import { generateDemoProblems } from '../../core/demo-problems';
import { Problem } from '../../core/problem';
import { storeFor } from '../artifacts';
import { DatasetConfigError, DatasetEmptyError, DatasetRecordError } from '../datasets/errors';
import { openDataset } from '../datasets/load-dataset';
import { checkInputUrl } from '../store/allowlist';
import { hasManifest, readManifest, writeManifest } from '../store/manifest';
import { hashConfig } from '../store/config-hash';

/**
 * The run's problems, normalised once and stored in parts of PART_SIZE, so generateDebates can page
 * through a dataset of any size with small activity results and no re-reading of the source file.
 */
export const PART_SIZE = 100;
const stage = (runId: string) => `runs/${runId}/problems`;
const partKey = (runId: string, part: number) => `${stage(runId)}/part-${String(part).padStart(6, '0')}.jsonl`;

export interface PreparedProblems {
  total: number;
  parts: number;
  skippedRecords: number;
}

export async function prepareProblems(input: { runId: string; dataset: DatasetConfig; store?: string }): Promise<PreparedProblems> {
  const store = storeFor(input.store);
  if (await hasManifest(store, stage(input.runId))) {
    const m = await readManifest(store, stage(input.runId));
    const sameDataset = m.configHash === hashConfig(input.dataset);
    if (!sameDataset) {
      throw ApplicationFailure.nonRetryable(
        `run ${input.runId} was started with another dataset config; use a new run id to debate a different dataset`,
        'RunConfigChanged',
      );
    }
    return { total: m.counts.total, parts: m.counts.parts, skippedRecords: m.counts.skippedRecords ?? 0 };
  }
  const { problems, report } = problemSource(input.dataset, 'dataset.url');
  let total = 0;
  let part = 0;
  let buffer: Problem[] = [];
  const flush = async () => {
    await store.writeJsonl(partKey(input.runId, part), buffer);
    part++;
    buffer = [];
    heartbeat(total);
  };
  try {
    for await (const problem of problems) {
      buffer.push(problem);
      total++;
      if (buffer.length === PART_SIZE) await flush();
    }
  } catch (err) {
    // A bad dataset is not going to get better by retrying.
    if (err instanceof DatasetRecordError || err instanceof DatasetEmptyError || err instanceof DatasetConfigError) {
      throw ApplicationFailure.nonRetryable(err.message, err.name);
    }
    throw err;
  }
  if (buffer.length) await flush();
  await writeManifest(store, stage(input.runId), {
    inputs: { dataset: input.dataset },
    configHash: hashConfig(input.dataset),
    counts: { total, parts: part, skippedRecords: report?.skipped ?? 0 },
  });
  return { total, parts: part, skippedRecords: report?.skipped ?? 0 };
}

function heartbeat(details: number): void {
  try {
    Context.current().heartbeat(details);
  } catch {
    // outside an activity (tests)
  }
}

/**
 * A dataset config's problems, streamed from its file (or generated, for `demo`). The file's URL
 * came from the run config (`field` says where) and is refused unless this worker allows it.
 */
export function problemSource(dataset: DatasetConfig, field: string): { problems: AsyncIterable<Problem> | Iterable<Problem>; report?: { skipped: number } } {
  if (dataset.format === 'demo') {
    const demo = { seed: dataset.demo?.seed ?? 1, count: dataset.limit ?? dataset.demo?.count ?? 20, level: dataset.demo?.level ?? 'multi-step' };
    return { problems: generateDemoProblems(demo) };
  }
  checkInputUrl(dataset.url!, field);
  return openDataset({
    url: dataset.url!,
    format: dataset.format,
    onBadRecord: dataset.onBadRecord,
    ...(dataset.mapping ? { mapping: dataset.mapping } : {}),
    ...(dataset.limit ? { limit: dataset.limit } : {}),
  });
}

/**
 * One part's problems that still need a debate: those whose debate artifact already exists are
 * counted as done, which is how a re-run with the same run id resumes instead of restarting.
 */
export async function problemsPage(input: { runId: string; part: number; from?: number; store?: string }): Promise<{ todo: { position: number; problem: Problem }[]; alreadyDone: number }> {
  const store = storeFor(input.store);
  const problems: { position: number; problem: Problem }[] = [];
  let position = 0;
  for await (const { value } of store.readJsonl(partKey(input.runId, input.part))) {
    if (position >= (input.from ?? 0)) problems.push({ position, problem: Problem.parse(value) });
    position++;
  }
  const done = await Promise.all(problems.map((p) => store.exists(debateKey(input.runId, p.problem.id))));
  return { todo: problems.filter((_, i) => !done[i]), alreadyDone: done.filter(Boolean).length };
}
