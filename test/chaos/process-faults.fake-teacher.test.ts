import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import type { Client, Connection } from '@temporalio/client';
import { startService, stopService } from '../../infra/dev/background-process';
import { openStore } from '../../activities/store/store';
import { generateWorkflowId, type generateDebates } from '../../workflows/generate-debates';
import { progressQuery } from '../../workflows/signals';
import { startFakeLlmServer, type FakeLlmServer, type RequestLogEntry } from '../fixtures/fake-llm';
import { uniform } from '../fixtures/fake-llm/hash';
import { gsm8kProblems, gsm8kTest, haveGsm8k, readRunDatasets, repeatedCalls, storedReplies, unstoredReplies } from '../workflows/harness';
import { chaosFull, chaosSize, figure } from './chaos-size';
import { PrivateCluster, type WorkerKind } from './private-cluster';
import { scanForSecret } from './secrets-scan';

/**
 * Process faults during a generateDebates run, with the SCRIPTED FAKE teacher: workers SIGKILLed at
 * seeded moments, the Temporal dev server restarted, the S3 server and the teacher down for a while.
 * Everything runs on a private cluster (private-cluster.ts). Each run must finish with one debate
 * record per problem, and repeat (answer twice) no more teacher calls than were in flight at its
 * faults. Then the run's histories, artifacts and worker logs must not hold the teacher's API key.
 */
const N = chaosSize(40, 500);
const KILLS = chaosSize(1, 10);
const OUTAGE_MS = chaosSize(5_000, 60_000);
const LLM_CONCURRENCY = 16;
const WINDOW = chaosSize(8, 50);
const AGENTS = 3;
const ROUNDS = 2;
const SEED = 2026;
const describeIfData = haveGsm8k ? describe : describe.skip; // the shared GSM8K file is beside the repo in CI

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The fake teacher, which can go down (its port closed) and come back on the same port, keeping its log. */
class Teacher {
  private archived: RequestLogEntry[] = [];
  private constructor(private server: FakeLlmServer, private readonly options: Parameters<typeof startFakeLlmServer>[0]) {}

  static async start(options: Parameters<typeof startFakeLlmServer>[0]): Promise<Teacher> {
    return new Teacher(await startFakeLlmServer(options), options);
  }

  get url(): string {
    return this.server.url;
  }

  inFlight = (): number => this.server.stats().inFlight;

  log = (): RequestLogEntry[] => [...this.archived, ...this.server.log];

  resetLog(): void {
    this.archived = [];
    this.server.resetLog();
  }

  /** Down for `ms`, then back on its port; returns how many calls going down cut off (the calls in flight). */
  async down(ms: number): Promise<number> {
    const port = this.server.port;
    const cancelledBefore = this.server.stats().cancelled;
    await this.server.close();
    await sleep(20); // the cut responses' close events
    const cut = this.server.stats().cancelled - cancelledBefore;
    this.archived.push(...this.server.log);
    await sleep(ms);
    this.server = await startFakeLlmServer({ ...this.options, port });
    return cut;
  }

  close = (): Promise<void> => this.server.close();
}

describeIfData('chaos: process faults mid-run lose no work and repeat only calls in flight (scripted fake teacher)', () => {
  const suffix = randomUUID().slice(0, 8);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agentark-chaos-'));
  const apiKey = `sk-chaos-${randomBytes(12).toString('hex')}`;
  const savedEnv = { ...process.env };
  let teacher: Teacher;
  let cluster: PrivateCluster;
  let client: Client;
  let connection: Connection;
  const figures: { fault: string; survived: number; repeated: number; inFlight: number }[] = [];

  beforeAll(async () => {
    const problems = await gsm8kProblems(N);
    teacher = await Teacher.start({ problems: new Map(problems.map((p) => [p.id, { gold: p.gold }])), errorRates: [0.2, 0.4, 0.6], seed: SEED, latencyMs: 50 });
    cluster = new PrivateCluster({
      dir,
      suffix,
      temporalPort: Number(process.env.AGENTARK_CHAOS_TEMPORAL_PORT ?? 17433),
      s3Port: Number(process.env.AGENTARK_CHAOS_S3_PORT ?? 18633),
      teacher: { baseUrl: teacher.url, apiKey },
      llmConcurrency: LLM_CONCURRENCY,
    });
    // This test process reads the private store (records, artifacts) through the same variables.
    Object.assign(process.env, cluster.env);
    await cluster.start();
    ({ client, connection } = await cluster.connect());
  }, 180_000);

  afterAll(async () => {
    await connection?.close().catch(() => undefined);
    await cluster?.stop();
    await teacher?.close();
    process.env = savedEnv;
    for (const f of figures) {
      figure(`${f.fault}: faults survived`, f.survived);
      figure(`${f.fault}: calls repeated`, f.repeated);
      figure(`${f.fault}: calls in flight at the faults`, f.inFlight);
    }
  }, 60_000);

  const start = async (runId: string) => {
    teacher.resetLog();
    return client.workflow.start<typeof generateDebates>('generateDebates', {
      taskQueue: cluster.taskQueue,
      workflowId: generateWorkflowId(runId),
      args: [{
        runId,
        llmQueue: cluster.llmQueue,
        dataset: { format: 'gsm8k', url: gsm8kTest, limit: N },
        // A cache of this run's own, so each run pays for its calls and the faults find calls in flight.
        teacher: { maxTokens: 256, cacheNamespace: `chaos-${runId}` },
        debate: { agents: AGENTS, rounds: ROUNDS },
        judge: { enabled: false, k: 2 },
        // Debates in waves: with every problem in flight at once they all advance in step and finish together,
        // so a fault at "30% done" would find the debates over and nothing in flight.
        window: WINDOW,
      }],
    });
  };

  const waitForDone = async (workflowId: string, atLeast: number): Promise<void> => {
    for (;;) {
      const p = await client.workflow.getHandle(workflowId).query(progressQuery).catch(() => undefined);
      if (p && p.failed > 0) throw new Error(`run ${workflowId}: ${p.failed} problems failed: ${JSON.stringify(p.failures)}`);
      if (p && p.done >= atLeast) return;
      await sleep(100);
    }
  };

  /**
   * Debates go in waves of WINDOW, and a count of problems done can land between two waves, with no call
   * in flight; an outage is meant to find calls in flight, so it waits (briefly) for the next of them.
   */
  const waitForCallsInFlight = async (): Promise<number> => {
    for (let waited = 0; waited < 30_000; waited += 5) {
      const n = teacher.inFlight();
      if (n > 0) return n;
      await sleep(5);
    }
    throw new Error('no teacher call in flight for 30 s mid-run');
  };

  /** The run finished with every problem done once: N debate records, N problems in the datasets. */
  const expectAllDoneOnce = async (runId: string): Promise<void> => {
    const result = await client.workflow.getHandle<typeof generateDebates>(generateWorkflowId(runId)).result();
    expect(result.done).toBe(N);
    expect(result.failed).toBe(0);
    const records: string[] = [];
    for await (const key of openStore(cluster.store).list(`runs/${runId}/debates/`)) records.push(key);
    expect(new Set(records).size).toBe(N);
    const { stats, grpo } = await readRunDatasets(cluster.store, runId);
    expect(stats.problems).toBe(N);
    expect(new Set(grpo.map((r) => r.id)).size).toBe(N);
  };

  const expectRepeatsBounded = (fault: string, survived: number, inFlight: number): void => {
    const repeated = repeatedCalls(teacher.log());
    figures.push({ fault, survived, repeated, inFlight });
    expect(repeated).toBeLessThanOrEqual(inFlight);
  };

  it(`${KILLS} SIGKILLs of a random worker at seeded moments, each restarted`, async () => {
    const runId = `kill-${suffix}`;
    const storedBefore = await storedReplies(cluster.store);
    const handle = await start(runId);
    let inFlight = 0;
    for (let i = 0; i < KILLS; i++) {
      // Between 20% and 80% of the problems done, so every kill lands while debates are in flight.
      await waitForDone(handle.workflowId, Math.floor((0.2 + (0.6 * (i + uniform('at', SEED, i))) / KILLS) * N));
      // The small form kills the main worker once (an llm worker's lost round waits out its heartbeat
      // timeout; the durability suite covers that in make test); the full form picks main or llm at random.
      const kind: WorkerKind = !chaosFull ? 'main' : uniform('worker', SEED, i) < 0.5 ? 'main' : 'llm';
      await cluster.stopWorker(kind, 'SIGKILL');
      // In flight at the fault: the calls answered (or being answered) whose reply had not reached the store,
      // taken a second after the kill, as requests the killed worker sent just before may reach the teacher later.
      await sleep(1000);
      inFlight += await unstoredReplies(cluster.store, teacher.log(), storedBefore);
      cluster.startWorker(kind);
    }
    await expectAllDoneOnce(runId);
    expectRepeatsBounded('worker SIGKILL', KILLS, inFlight);
  }, chaosSize(240_000, 1_800_000));

  it('the Temporal dev server stopped and restarted mid-run', async () => {
    const runId = `temporal-${suffix}`;
    const handle = await start(runId);
    await waitForDone(handle.workflowId, N * 0.3);
    await connection.close();
    const inFlight = await waitForCallsInFlight();
    await stopService(cluster.temporal.name);
    await startService(cluster.temporal);
    ({ client, connection } = await cluster.connect());
    await expectAllDoneOnce(runId);
    expectRepeatsBounded('Temporal restart', 1, inFlight);
  }, chaosSize(180_000, 900_000));

  it(`the S3 server down for ${OUTAGE_MS / 1000} s mid-run`, async () => {
    const runId = `s3-${suffix}`;
    const handle = await start(runId);
    await waitForDone(handle.workflowId, N * 0.3);
    const inFlight = await waitForCallsInFlight();
    await stopService(cluster.s3.name);
    await sleep(OUTAGE_MS);
    await startService(cluster.s3);
    await expectAllDoneOnce(runId);
    expectRepeatsBounded('S3 down', 1, inFlight);
  }, chaosSize(180_000, 900_000));

  it(`the teacher down (connections refused) for ${OUTAGE_MS / 1000} s mid-run`, async () => {
    const runId = `teacher-${suffix}`;
    const handle = await start(runId);
    await waitForDone(handle.workflowId, N * 0.3);
    await waitForCallsInFlight();
    const inFlight = await teacher.down(OUTAGE_MS);
    await expectAllDoneOnce(runId);
    expectRepeatsBounded('teacher down', 1, inFlight);
  }, chaosSize(180_000, 900_000));

  it('the teacher API key appears in no history, artifact or worker log of the runs', async () => {
    // The key did reach the llm worker (so a leak would have something to leak).
    const llmPid = cluster.workers.llm!.pid!;
    expect(fs.readFileSync(`/proc/${llmPid}/environ`, 'utf8')).toContain(`OPENAI_API_KEY=${apiKey}`);
    const scan = await scanForSecret(apiKey, { client, store: cluster.store, logs: [cluster.logFile('main'), cluster.logFile('llm')] });
    figure('secrets scan: histories, artifacts, logs scanned', `${scan.histories}, ${scan.artifacts}, ${scan.logs}`);
    figure('secrets found', scan.found.length);
    expect(scan.histories).toBeGreaterThanOrEqual(N);
    expect(scan.artifacts).toBeGreaterThanOrEqual(N);
    expect(scan.found).toEqual([]);
  }, 120_000);
});
