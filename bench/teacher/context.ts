import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import type { Client } from '@temporalio/client';
import { connectClient } from '../../cli/client';
import { generateDemoProblems } from '../../core/demo-problems';
import type { Problem } from '../../core/problem';
import { readPid } from '../../infra/dev/background-process';
import { stateDir } from '../../infra/dev/paths';
import { devEnv, devUp } from '../../infra/dev/services';
import { startFakeLlmServer, type FakeLlmServer } from '../../test/fixtures/fake-llm';
import { WorkerPair } from './workers';

/**
 * Everything one bench run shares across its figures: the dev services (started when down, never
 * stopped), one scripted fake teacher (retuned per figure; its URL is what the workers were given),
 * the two worker processes on task queues of this run alone, and the demo problems with their golds.
 */

export const DEMO_SEED = 7;
/** Round-1 error rate of each of the five agents: some problems unanimous at once, some revised. */
export const ERROR_RATES = [0.1, 0.2, 0.3, 0.4, 0.5];
export const SCRIPT_SEED = 3;

export interface BenchContext {
  benchId: string;
  client: Client;
  fake: FakeLlmServer;
  workers: WorkerPair;
  taskQueue: string;
  llmQueue: string;
  /** Each figure's run gets its own prefix under it, so no teacher reply is a cache hit for another. */
  storeBase: string;
  problems: Problem[];
  gold: Map<string, string>;
  /** Service processes whose CPU is read (when they were started from this checkout). */
  servicePids: { temporal?: number; s3?: number };
  logDir: string;
  log(line: string): void;
  close(): Promise<void>;
}

export async function openBench(opts: { problems: number; log?: (line: string) => void }): Promise<BenchContext> {
  // The bench measures the local services; a shell already pointed at them keeps its settings.
  for (const [k, v] of Object.entries(devEnv())) process.env[k] ??= v;
  await devUp(['temporal', 's3']);
  const suffix = randomUUID().slice(0, 8);
  const benchId = `bench-${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '')}-${suffix}`;
  const problems = generateDemoProblems({ seed: DEMO_SEED, count: opts.problems });
  const fake = await startFakeLlmServer({ problems: new Map(problems.map((p) => [p.id, { gold: p.gold }])), errorRates: ERROR_RATES, seed: SCRIPT_SEED });
  const { client, close } = await connectClient();
  const taskQueue = `bench-main-${suffix}`;
  const llmQueue = `bench-llm-${suffix}`;
  const logDir = path.join(stateDir, 'bench', benchId);
  const workers = new WorkerPair({ teacherUrl: fake.url, taskQueue, llmQueue, logDir });
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  return {
    benchId,
    client,
    fake,
    workers,
    taskQueue,
    llmQueue,
    storeBase: `${process.env.AGENTARK_STORE ?? 's3://agentark'}/bench/${benchId}`,
    problems,
    gold: new Map(problems.map((p) => [p.id, p.gold])),
    servicePids: { temporal: readPid('temporal'), s3: readPid('s3') },
    logDir,
    log,
    close: async () => {
      await workers.stop();
      await fake.close();
      await close();
    },
  };
}
