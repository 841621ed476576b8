import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { connectClient } from '../../cli/client';
import { connect, createLlmWorker, createMainWorker } from '../../workers/create';
import type { RunConfigInput } from '../../core/config';
import { DaRecord, DatasetStats, GrpoRecord, PrmRecord, RsftRecord } from '../../core/records';
import { openStore } from '../../activities/store/store';
import { loadDataset } from '../../activities/datasets/load-dataset';
import type { Problem } from '../../core/problem';
import { generateWorkflowId, type generateDebates } from '../../workflows/generate-debates';

export const gsm8kTest = path.resolve(__dirname, '../../../shared/datasets/gsm8k/test.jsonl');
export const haveGsm8k = fs.existsSync(gsm8kTest);

export async function gsm8kProblems(limit: number): Promise<Problem[]> {
  return (await loadDataset({ url: gsm8kTest, format: 'gsm8k', limit })).problems;
}

/** Workers of this test on private task queues (so a developer's own workers never take its tasks). */
export interface Harness {
  client: Client;
  /** A store of this harness alone (a prefix of the suite's S3 bucket), so no cache is shared between tests. */
  store: string;
  taskQueue: string;
  llmQueue: string;
  generate(config: RunConfigInput): Promise<Awaited<ReturnType<typeof generateDebates>>>;
  close(): Promise<void>;
}

export async function startHarness(opts: { llmConcurrency?: number } = {}): Promise<Harness> {
  const suffix = randomUUID().slice(0, 8);
  const taskQueue = `test-main-${suffix}`;
  const llmQueue = `test-llm-${suffix}`;
  const connection: NativeConnection = await connect();
  const { client, close } = await connectClient();
  const main: Worker = await createMainWorker({ connection, taskQueue });
  const llm: Worker = await createLlmWorker({ connection, taskQueue: llmQueue, concurrency: opts.llmConcurrency ?? 32 });
  // Both workers poll until close(); a worker that dies fails the test that is waiting on it.
  const running = Promise.all([main.run(), llm.run()]);
  running.catch((err: unknown) => console.error('test worker stopped with an error', err));
  const store = `${process.env.AGENTARK_STORE ?? 's3://agentark'}/tests/${suffix}`;
  return {
    client,
    store,
    taskQueue,
    llmQueue,
    generate: (config) =>
      client.workflow.execute<typeof generateDebates>('generateDebates', {
        taskQueue,
        workflowId: generateWorkflowId(config.runId),
        args: [{ llmQueue, store, ...config }],
      }),
    close: async () => {
      main.shutdown();
      llm.shutdown();
      await running.catch(() => undefined);
      await close();
      await connection.close();
    },
  };
}

/**
 * Puts a test's local teacher on the llm worker's allowlist (this process's workers, and the workers
 * it spawns after this call): the worker refuses URLs it was not configured for, and sends this one no key.
 */
export function allowTeacherUrl(url: string): void {
  const list = (process.env.AGENTARK_TEACHER_ALLOWLIST ?? '').split(',').filter((s) => s !== '');
  if (!list.includes(url)) process.env.AGENTARK_TEACHER_ALLOWLIST = [...list, url].join(',');
}

export const uniqueRunId = (name: string): string => `${name}-${randomUUID().slice(0, 8)}`;

/** Every dataset file of a run, each line parsed with its zod schema (a bad line fails the test). */
export async function readRunDatasets(storeUrl: string, runId: string) {
  const store = openStore(storeUrl);
  const read = async <T>(file: string, parse: (v: unknown) => T): Promise<T[]> => {
    const out: T[] = [];
    for await (const { value } of store.readJsonl(`runs/${runId}/datasets/${file}`)) out.push(parse(value));
    return out;
  };
  return {
    rsft: await read('rsft.jsonl', (v) => RsftRecord.parse(v)),
    da: await read('da.jsonl', (v) => DaRecord.parse(v)),
    prm: await read('prm.jsonl', (v) => PrmRecord.parse(v)),
    grpo: await read('grpo.jsonl', (v) => GrpoRecord.parse(v)),
    stats: DatasetStats.parse(await store.getJson(`runs/${runId}/datasets/stats.json`)),
  };
}

/** Teacher replies held in a store's reply cache (one object per call the teacher answered and a worker stored). */
export async function storedReplies(storeUrl: string): Promise<number> {
  let n = 0;
  for await (const key of openStore(storeUrl).list('cache/llm/')) if (key.endsWith('.json')) n++;
  return n;
}

type TeacherLog = { outcome: string; requestHash: string }[];

const answeredBodies = (log: TeacherLog): string[] => log.filter((e) => e.outcome === 'ok').map((e) => e.requestHash);

/** Replies the teacher gave more than once for the same request body (a call paid twice). */
export function repeatedCalls(log: TeacherLog): number {
  const ok = answeredBodies(log);
  return ok.length - new Set(ok).size;
}

/**
 * Calls the teacher answered (distinct request bodies its log holds as ok) whose reply the store does
 * not hold: the only calls a crash may make a run pay for again. An answer counts from the moment the
 * teacher accepts the request, so a reply still on the wire, or answered and not yet written, is one.
 * Take it with the workers stopped; `storedBefore` is storedReplies before the run's first call.
 */
export async function unstoredReplies(storeUrl: string, log: TeacherLog, storedBefore: number): Promise<number> {
  const answered = new Set(answeredBodies(log)).size;
  return answered - ((await storedReplies(storeUrl)) - storedBefore);
}
