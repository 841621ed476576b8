import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import type { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { startFakeLlmServer, type FakeLlmServer } from '../fixtures/fake-llm';
import { allowTeacherUrl, gsm8kProblems, gsm8kTest, haveGsm8k, startHarness, uniqueRunId, type Harness } from './harness';
import type { RunConfigInput } from '../../core/config';
import { debateWorkflowId, generateWorkflowId, type generateDebates } from '../../workflows/generate-debates';
import { progressQuery, tuneUpdate } from '../../workflows/signals';
import { trainWorkflowId } from '../../core/training';
import { trainStatusQuery } from '../../workflows/train-signals';

/**
 * Run integrity on the real dev services (scripted fake teacher, or a stub answering 401): a restart
 * with a changed config is refused, a queue nobody polls fails visibly, a broken teacher trips the
 * breaker, and a cancel stops the children and their teacher calls.
 */
const describeIfData = haveGsm8k ? describe : describe.skip;

/** The whole cause chain's messages: what a user reads in the Web UI for a failed run. */
function messages(err: unknown): string {
  const out: string[] = [];
  for (let e = err as { message?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) out.push(e.message ?? '');
  return out.join(' | ');
}

/** Polls `check`; a query before the workflow registered its handler counts as not yet. */
async function until(what: string, check: () => Promise<boolean> | boolean, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  const attempt = async (): Promise<boolean> => {
    try {
      return await check();
    } catch (err) {
      if ((err as Error).name === 'QueryNotRegisteredError') return false;
      throw err;
    }
  };
  while (!(await attempt())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** An OpenAI-compatible endpoint whose key was revoked: every request is answered 401. */
async function startUnauthorizedTeacher(): Promise<{ url: string; requests: () => number; close: () => Promise<void> }> {
  let requests = 0;
  const server = http.createServer((req, res) => {
    requests++;
    req.resume();
    res.writeHead(401, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { message: 'Incorrect API key provided: unauthorized', type: 'invalid_request_error', code: 'invalid_api_key' } }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/v1`, requests: () => requests, close: () => new Promise((r) => server.close(() => r())) };
}

/**
 * The run's history replays with the current workflow code; under AGENTARK_RECORD_HISTORIES=<release> it
 * is also kept as generateDebates.<release>-<n>.json for test/replay (a first execution, a tripped
 * breaker, a cancel: paths the 200-problem recording does not take).
 */
async function replayAndRecord(client: Client, runId: string, n: number): Promise<void> {
  const history = await client.workflow.getHandle(generateWorkflowId(runId)).fetchHistory();
  await Worker.runReplayHistory({ workflowsPath: require.resolve('../../workflows') }, history, runId);
  const label = process.env.AGENTARK_RECORD_HISTORIES;
  if (label) fs.writeFileSync(path.resolve(__dirname, `../replay/histories/generateDebates.${label}-${n}.json`), historyToJSON(history));
}

/** A teacher that accepts every request and never answers. */
async function startSilentTeacher(): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((req) => req.resume());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    close: () => new Promise((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

const isRunning = async (client: Client, workflowId: string): Promise<boolean> => {
  try {
    return (await client.workflow.getHandle(workflowId).describe()).status.name === 'RUNNING';
  } catch (err) {
    if ((err as Error).name === 'WorkflowNotFoundError') return false;
    throw err;
  }
};

describeIfData('generateDebates run integrity (scripted fake teacher)', () => {
  let harness: Harness;
  let fake: FakeLlmServer;
  beforeAll(async () => {
    const problems = await gsm8kProblems(40);
    fake = await startFakeLlmServer({ problems: new Map(problems.map((p) => [p.id, { gold: p.gold }])), errorRates: [0.2, 0.4, 0.6], seed: 3, latencyMs: 200 });
    allowTeacherUrl(fake.url);
    harness = await startHarness();
  });
  afterEach(() => void fake?.tune({ latencyMs: 200 }));
  afterAll(async () => {
    await harness?.close();
    await fake?.close();
  });

  const start = (config: RunConfigInput) =>
    harness.client.workflow.start<typeof generateDebates>('generateDebates', {
      taskQueue: harness.taskQueue,
      workflowId: generateWorkflowId(config.runId),
      args: [{ llmQueue: harness.llmQueue, store: harness.store, ...config }],
    });

  it('a restart with a changed config is refused naming the field; allowed for a listed changeable field', async () => {
    const runId = uniqueRunId('frozen');
    const config = {
      runId, dataset: { format: 'gsm8k', url: gsm8kTest, limit: 3 }, teacher: { baseUrl: fake.url, maxTokens: 128 },
      debate: { agents: 3, rounds: 2 }, judge: { enabled: false, k: 3 }, window: 4,
    } satisfies RunConfigInput;
    expect((await harness.generate(config)).done).toBe(3);
    await replayAndRecord(harness.client, runId, 1);

    const refused = await harness.generate({ ...config, debate: { agents: 3, rounds: 3 }, window: 2 }).catch((e: unknown) => e);
    expect(messages(refused)).toContain(`run ${runId} was started with another config: debate.rounds: 2 → 3; window: 4 → 2`);
    // Listing the debate's shape does not make it changeable: refused before the run starts.
    const listed = await harness.generate({ ...config, debate: { agents: 3, rounds: 3 }, allowConfigChange: ['debate.rounds'] }).catch((e: unknown) => e);
    expect(messages(listed)).toContain("'debate.rounds' can never change within a run");

    fake.resetLog();
    const allowed = await harness.generate({ ...config, window: 2, allowConfigChange: ['window'] });
    expect(allowed.alreadyDone).toBe(3);
    expect(fake.log).toHaveLength(0);
  }, 120_000);

  it("a queue no worker polls shows the waiting state, then fails naming the queue", async () => {
    const runId = uniqueRunId('no-workers');
    const handle = await start({ runId, dataset: { format: 'demo', demo: { count: 3 } }, llmQueue: 'no-such-queue', noWorkerTimeoutMinutes: 0.1 });
    await until('the waiting state', async () => (await handle.query(progressQuery)).waiting === 'waiting for llm workers on queue no-such-queue');
    expect((await handle.query(progressQuery)).stage).toBe('waiting');
    const err = await handle.result().catch((e: unknown) => e);
    expect(messages(err)).toContain("no llm worker polls task queue 'no-such-queue' after 0.1 minute(s)");
    // No debate was started: the run failed before scheduling any child.
    expect(await isRunning(harness.client, debateWorkflowId(runId, 'demo-0'))).toBe(false);
  }, 60_000);

  it('trainStudent on a gpu queue no worker polls shows the waiting state, then fails naming the queue', async () => {
    const runId = uniqueRunId('no-gpu');
    await harness.generate({
      runId, dataset: { format: 'gsm8k', url: gsm8kTest, limit: 3 }, teacher: { baseUrl: fake.url, maxTokens: 128 },
      debate: { agents: 3, rounds: 2 }, judge: { enabled: false, k: 3 },
    });
    const handle = await harness.client.workflow.start('trainStudent', {
      taskQueue: harness.taskQueue, workflowId: trainWorkflowId(runId),
      args: [{ runId, datasets: { runId }, student: { arch: 'qwen3-tiny' }, methods: ['rsft'], store: harness.store, gpuQueue: 'no-such-gpu-queue', noWorkerTimeoutMinutes: 0.1 }],
    });
    await until('the waiting state', async () => (await handle.query(trainStatusQuery)).stage === 'waiting');
    const err = await handle.result().catch((e: unknown) => e);
    expect(messages(err)).toContain("no gpu worker polls task queue 'no-such-gpu-queue' after 0.1 minute(s)");
  }, 60_000);

  it('a debate stuck on a teacher that never answers ends timed out, and the run counts it failed naming it', async () => {
    const teacher = await startSilentTeacher();
    allowTeacherUrl(teacher.url);
    try {
      const runId = uniqueRunId('stuck');
      // With no debate stored the build then refuses ("no debate artifacts"): the run's own counts say why.
      const built = await harness.generate({
        runId, dataset: { format: 'demo', demo: { count: 2 } }, teacher: { baseUrl: teacher.url, model: 'm', contextWindow: 4096, maxTokens: 128 },
        debate: { agents: 2, rounds: 1 }, judge: { enabled: false, k: 3 }, debateTimeoutMinutes: 0.1, settleAfterSeconds: 1,
      }).catch((e: unknown) => e);
      expect(messages(built)).toContain('no debate artifacts');
      const result = await harness.client.workflow.getHandle(generateWorkflowId(runId)).query(progressQuery);
      expect(result.failed).toBe(2);
      expect(result.failures.map((f) => f.error)).toEqual(['debate workflow ended as TIMED_OUT without storing its debate', 'debate workflow ended as TIMED_OUT without storing its debate']);
      const child = await harness.client.workflow.getHandle(debateWorkflowId(runId, result.failures[0].problemId)).describe();
      expect(child.status.name).toBe('TIMED_OUT');
    } finally {
      await teacher.close();
    }
  }, 60_000);

  it('a teacher answering 401 trips the failure-rate breaker after about one window of problems', async () => {
    const teacher = await startUnauthorizedTeacher();
    allowTeacherUrl(teacher.url);
    try {
      const runId = uniqueRunId('breaker');
      const problems = 200;
      const agents = 3;
      const rounds = 2;
      const err = await harness.generate({
        runId, dataset: { format: 'demo', demo: { count: problems } },
        teacher: { baseUrl: teacher.url, model: 'm', contextWindow: 4096, maxTokens: 128 }, debate: { agents, rounds },
        judge: { enabled: false, k: 3 }, window: 10, breaker: { window: 20, maxFailureRate: 0.5 },
      }).catch((e: unknown) => e);
      const text = messages(err);
      expect(text).toContain('of the last 20 problems failed');
      expect(text).toContain('401');
      const progress = await harness.client.workflow.getHandle(generateWorkflowId(runId)).query(progressQuery);
      expect(progress.stage).toBe('failed');
      expect(progress.failed + progress.inFlight).toBeLessThan(problems / 4);
      // Each problem would make agents × rounds + 1 calls: the breaker stopped the run long before.
      expect(teacher.requests()).toBeLessThan((problems * (agents * rounds + 1)) / 10);
      await replayAndRecord(harness.client, runId, 2);
    } finally {
      await teacher.close();
    }
  }, 120_000);

  it('a bad tune update is rejected naming the field, the workflow goes on, and a good one widens the window', async () => {
    const runId = uniqueRunId('tune');
    fake.tune({ latencyMs: 500 });
    const handle = await start({
      runId, dataset: { format: 'gsm8k', url: gsm8kTest, limit: 8 }, teacher: { baseUrl: fake.url, maxTokens: 128 },
      debate: { agents: 3, rounds: 2 }, judge: { enabled: false, k: 3 }, window: 1,
    });
    await until('the first debate', async () => (await handle.query(progressQuery)).inFlight === 1);
    for (const [bad, field] of [[{ window: 0 }, 'window'], [{ window: 'x' }, 'window'], [{ speed: 2 }, '(input)'], [{ breaker: { window: -1 } }, 'breaker.window']] as const) {
      const err = await handle.executeUpdate(tuneUpdate, { args: [bad as never] }).catch((e: unknown) => e);
      expect((err as Error).name).toBe('WorkflowUpdateFailedError');
      expect(messages(err)).toContain(`tune: invalid input: ${field}`);
    }
    expect(await handle.executeUpdate(tuneUpdate, { args: [{ window: 4 }] })).toEqual({ window: 4, breaker: { maxFailureRate: 0.5, window: 50 } });
    await until('a wider window', async () => (await handle.query(progressQuery)).inFlight > 1);
    const result = await handle.result();
    expect(result.done).toBe(8);
    const events = (await handle.fetchHistory()).events!;
    expect(events.some((e) => e.workflowTaskFailedEventAttributes)).toBe(false);
    // Rejected by the validator: only the good update reached the history.
    expect(events.filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes)).toHaveLength(1);
  }, 120_000);

  it('cancel cancels every debate child and stops the teacher calls within seconds', async () => {
    const runId = uniqueRunId('cancel');
    const problems = await gsm8kProblems(40);
    // Slow rounds: a child left running after the cancel would go on calling the teacher for seconds.
    fake.tune({ latencyMs: 3000 });
    const handle = await start({
      runId, dataset: { format: 'gsm8k', url: gsm8kTest, limit: 40 }, teacher: { baseUrl: fake.url, maxTokens: 128 },
      debate: { agents: 3, rounds: 3 }, judge: { enabled: false, k: 3 }, window: 8,
    });
    fake.resetLog();
    await until('teacher calls', () => fake.log.length >= 20);
    const cancelledAt = Date.now();
    await handle.cancel();
    const err = await handle.result().catch((e: unknown) => e);
    expect((err as Error).name).toBe('WorkflowFailedError');
    expect(messages(err)).toMatch(/cancel/i);
    await until('every debate child to end', async () => {
      const running = await Promise.all(problems.map((p) => isRunning(harness.client, debateWorkflowId(runId, p.id))));
      return running.every((r) => !r);
    }, 30_000);
    const childrenEndedMs = Date.now() - cancelledAt;
    const calls = fake.log.length;
    // A measuring window, not a synchronisation: no call may arrive in it.
    await new Promise((r) => setTimeout(r, 3000));
    expect(fake.log.length).toBe(calls);
    const lastCallMs = Math.max(...fake.log.map((e) => e.at)) - cancelledAt;
    expect(lastCallMs).toBeLessThan(5000);
    expect(calls).toBeLessThan(problems.length * 10);
    console.log(`cancel: every child ended ${childrenEndedMs} ms after it, last teacher call ${lastCallMs} ms after it, ${calls} calls`);
    const progress = await handle.query(progressQuery);
    expect(progress.stage).toBe('cancelled');
    expect((await handle.describe()).status.name).toBe('CANCELLED');
    await replayAndRecord(harness.client, runId, 3);
  }, 120_000);
});
