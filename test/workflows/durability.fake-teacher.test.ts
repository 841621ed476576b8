import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { Client, Connection } from '@temporalio/client';
import { startFakeLlmServer, type FakeLlmServer } from '../fixtures/fake-llm';
import { allowTeacherUrl, gsm8kProblems, gsm8kTest, haveGsm8k, readRunDatasets, repeatedCalls, storedReplies, unstoredReplies } from './harness';
import { startService, stopService } from '../../infra/dev/background-process';
import { temporalSpec } from '../../infra/dev/services';
import { repoRoot } from '../../infra/dev/paths';
import { openStore } from '../../activities/store/store';
import { dataConverter } from '../../workers/codec';
import { generateWorkflowId, type generateDebates } from '../../workflows/generate-debates';
import { progressQuery } from '../../workflows/signals';

/**
 * Crash tests with the SCRIPTED FAKE teacher, on a private Temporal dev server (its own port and
 * SQLite file, so restarting it disturbs no other test) and worker processes started as a user
 * would (`bin/agentark worker main|llm`). Finished work must never be lost or paid for twice.
 */
const LLM_CONCURRENCY = 16;
const errorRates = [0.15, 0.3, 0.45, 0.6, 0.75];
const temporalPort = Number(process.env.AGENTARK_TEST_TEMPORAL_PORT ?? 17233);
const service = 'temporal-durability';
const describeIfData = haveGsm8k ? describe : describe.skip; // the shared GSM8K file is beside the repo in CI

describeIfData('durability: workers SIGKILLed and Temporal restarted mid-run (scripted fake teacher)', () => {
  const suffix = randomUUID().slice(0, 8);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agentark-durability-'));
  const spec = temporalSpec({ name: service, port: temporalPort, uiPort: temporalPort + 1000, dbFile: path.join(dir, 'temporal.sqlite') });
  const store = `${process.env.AGENTARK_STORE ?? 's3://agentark'}/tests/${suffix}`;
  const taskQueue = `durability-main-${suffix}`;
  const llmQueue = `durability-llm-${suffix}`;
  let fake: FakeLlmServer;
  /** A slow teacher (half a second a reply), so a restart finds calls in flight. */
  let slow: FakeLlmServer;
  let workers: ChildProcess[] = [];

  const connectClient = async (): Promise<{ client: Client; connection: Connection }> => {
    const connection = await Connection.connect({ address: `127.0.0.1:${temporalPort}` });
    return { client: new Client({ connection, dataConverter: dataConverter() }), connection };
  };

  const spawnWorker = (kind: 'main' | 'llm'): ChildProcess => {
    const env = {
      ...process.env,
      TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`,
      AGENTARK_TASK_QUEUE: taskQueue,
      AGENTARK_LLM_QUEUE: llmQueue,
      AGENTARK_LLM_CONCURRENCY: String(LLM_CONCURRENCY),
      AGENTARK_STORE: store,
    };
    const log = fs.openSync(path.join(dir, `worker-${kind}.log`), 'a');
    const child = spawn(path.join(repoRoot, 'bin/agentark'), ['worker', kind], { env, detached: true, stdio: ['ignore', log, log] });
    fs.closeSync(log);
    return child;
  };
  const startWorkers = (): void => {
    workers = (['main', 'llm'] as const).map(spawnWorker);
  };
  const stop = (w: ChildProcess, signal: NodeJS.Signals): Promise<void> =>
    new Promise<void>((resolve) => {
      if (w.exitCode !== null || w.signalCode !== null) return resolve();
      w.once('exit', () => resolve());
      process.kill(-w.pid!, signal);
    });
  const killWorkers = async (signal: NodeJS.Signals): Promise<void> => {
    await Promise.all(workers.map((w) => stop(w, signal)));
  };
  const peakRssMiB = (w: ChildProcess): number => {
    // The worker runs as node under bin/agentark's exec, so its pid is the node process.
    const status = fs.readFileSync(`/proc/${w.pid}/status`, 'utf8');
    return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  };

  const runConfig = (runId: string, limit: number, teacher = fake) => ({
    runId,
    store,
    llmQueue,
    dataset: { format: 'gsm8k' as const, url: gsm8kTest, limit },
    teacher: { baseUrl: teacher.url, maxTokens: 256 },
    debate: { agents: 5, rounds: 3 },
    judge: { enabled: false, k: 3 },
    window: 100,
  });

  const waitForDone = async (client: Client, workflowId: string, atLeast: number): Promise<void> => {
    for (;;) {
      const p = await client.workflow.getHandle(workflowId).query(progressQuery).catch(() => undefined);
      if (p && p.done >= atLeast) return;
      await new Promise((r) => setTimeout(r, 250));
    }
  };

  beforeAll(async () => {
    const problems = await gsm8kProblems(200);
    fake = await startFakeLlmServer({ problems: new Map(problems.map((p) => [p.id, { gold: p.gold }])), errorRates, seed: 3, latencyMs: 2 });
    slow = await startFakeLlmServer({ problems: new Map(problems.map((p) => [p.id, { gold: p.gold }])), errorRates, seed: 4, latencyMs: 500 });
    allowTeacherUrl(fake.url);
    allowTeacherUrl(slow.url);
    await startService(spec);
    startWorkers();
  }, 120_000);
  afterAll(async () => {
    await killWorkers('SIGTERM');
    await stopService(service);
    await fake?.close();
    await slow?.close();
  }, 60_000);

  it('a rolling restart (SIGTERM) of the llm worker mid-run pays for no finished and no in-flight call again', async () => {
    const N = 40;
    const runId = `rolling-${suffix}`;
    const { client, connection } = await connectClient();
    try {
      const handle = await client.workflow.start<typeof generateDebates>('generateDebates', { taskQueue, workflowId: generateWorkflowId(runId), args: [runConfig(runId, N, slow)] });
      // A third of the calls made: the worker holds a full set of calls in flight (half a second each).
      while (slow.log.length < (N * 16) / 3) await new Promise((r) => setTimeout(r, 50));
      const old = workers[1];
      const inFlight = slow.log.length;
      // The new worker starts as the old one drains, as a Deployment's rolling update does.
      workers[1] = spawnWorker('llm');
      await stop(old, 'SIGTERM');
      const afterDrain = slow.log.length;
      const result = await handle.result();
      expect(result.done).toBe(N);
      expect(result.failed).toBe(0);
      expect(old.exitCode).toBe(0);
      // Calls were in flight when SIGTERM came (the teacher takes half a second), and none was asked twice.
      expect(afterDrain).toBeGreaterThan(inFlight);
      expect(repeatedCalls(slow.log)).toBe(0);
      expect(slow.log).toHaveLength(N * (5 * 3 + 1));
      console.log(`rolling restart: ${slow.log.length} requests, ${afterDrain - inFlight} made while the old worker drained, 0 repeated`);
    } finally {
      await connection.close();
    }
  }, 300_000);

  it('SIGKILL of both worker processes mid-run: every problem done once, no finished call paid twice', async () => {
    const N = 200;
    const runId = `kill-${suffix}`;
    const { client, connection } = await connectClient();
    try {
      const storedBefore = await storedReplies(store);
      const handle = await client.workflow.start<typeof generateDebates>('generateDebates', {
        taskQueue,
        workflowId: generateWorkflowId(runId),
        args: [runConfig(runId, N)],
      });
      await waitForDone(client, handle.workflowId, N * 0.3);
      await killWorkers('SIGKILL');
      // Requests the workers sent just before they died may reach the teacher a moment later.
      await new Promise((r) => setTimeout(r, 1000));
      const atKill = fake.log.length;
      // The calls a retry may pay for again: answered (or being answered) and not yet in the store.
      const unstored = await unstoredReplies(store, fake.log, storedBefore);
      startWorkers();
      const result = await handle.result();
      expect(result.done).toBe(N);
      expect(result.failed).toBe(0);

      const debates: string[] = [];
      for await (const key of openStore(store).list(`runs/${runId}/debates/`)) debates.push(key);
      expect(debates).toHaveLength(N);
      const { stats, grpo } = await readRunDatasets(store, runId);
      expect(stats.problems).toBe(N);
      expect(grpo).toHaveLength(N);
      // Only calls whose reply had not reached the store at the kill may have been made again.
      expect(repeatedCalls(fake.log)).toBeLessThanOrEqual(unstored);
      console.log(`SIGKILL run: ${fake.log.length} requests (${atKill} before the kill), ${unstored} answered and not stored at the kill, ` +
        `${repeatedCalls(fake.log)} repeated; ` +
        `worker peak RSS after restart: main ${peakRssMiB(workers[0]).toFixed(0)} MiB, llm ${peakRssMiB(workers[1]).toFixed(0)} MiB`);
    } finally {
      await connection.close();
    }
  }, 400_000);

  it('stopping and restarting the Temporal dev server mid-run loses nothing', async () => {
    const N = 100;
    const runId = `restart-${suffix}`;
    fake.resetLog();
    let { client, connection } = await connectClient();
    const workflowId = generateWorkflowId(runId);
    await client.workflow.start<typeof generateDebates>('generateDebates', { taskQueue, workflowId, args: [runConfig(runId, N)] });
    await waitForDone(client, workflowId, N * 0.3);
    await connection.close();
    await stopService(service);
    await startService(spec);
    ({ client, connection } = await connectClient());
    try {
      const result = await client.workflow.getHandle<typeof generateDebates>(workflowId).result();
      expect(result.done).toBe(N);
      expect(result.failed).toBe(0);
      const { stats } = await readRunDatasets(store, runId);
      expect(stats.problems).toBe(N);
      expect(repeatedCalls(fake.log)).toBeLessThanOrEqual(LLM_CONCURRENCY);
    } finally {
      await connection.close();
    }
  }, 400_000);
});
