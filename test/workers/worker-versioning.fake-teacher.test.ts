import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { connectClient } from '../../cli/client';
import { describeBuilds, makeCurrent } from '../../cli/deployment';
import { connect, createLlmWorker, createMainWorker } from '../../workers/create';
import { deploymentSetting, type DeploymentSetting } from '../../workers/deployment';
import { debateWorkflowId } from '../../core/ids';
import { pipelineWorkflowId } from '../../core/pipeline';
import { pipelineStatusQuery } from '../../workflows/distill-pipeline';
import { generateWorkflowId, type generateDebates } from '../../workflows/generate-debates';
import { progressQuery } from '../../workflows/signals';
import { startFakeLlmServer, type FakeLlmServer } from '../fixtures/fake-llm';
import { allowTeacherUrl, gsm8kProblems, gsm8kTest, haveGsm8k } from '../workflows/harness';

/**
 * Worker Versioning on the real Temporal dev server, with the SCRIPTED FAKE teacher: two builds of the
 * workers poll the same task queues; a run starts on build A, build B is made current mid-run. The
 * debates started on A stay pinned to A and finish there; generateDebates continues as new onto B and
 * starts the rest of its debates there; every problem is debated once.
 */
const N = 16;
const describeIfData = haveGsm8k ? describe : describe.skip;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Versioning { behavior: string; buildId: string }

/** Where Temporal says an execution runs: its versioning behavior and its build. */
async function versioningOf(client: Client, workflowId: string, runId?: string): Promise<Versioning> {
  const d = await client.workflow.getHandle(workflowId, runId).describe();
  const v = d.raw.workflowExecutionInfo?.versioningInfo;
  return { behavior: String(v?.behavior ?? ''), buildId: v?.deploymentVersion?.buildId ?? '' };
}

/** Temporal refuses to make a build current until one of its workers has polled: retry for a while. */
async function makeCurrentWhenPolled(client: Client, name: string, buildId: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await makeCurrent(client, name, buildId);
      return;
    } catch (err) {
      if (attempt >= 50) throw err;
      await sleep(200);
    }
  }
}

describeIfData('Worker Versioning: debates pinned to their build, generateDebates moving at continue-as-new (scripted fake teacher)', () => {
  const suffix = randomUUID().slice(0, 8);
  const name = `agentark-test-${suffix}`;
  const builds: Record<'a' | 'b', DeploymentSetting> = { a: { name, buildId: `a-${suffix}` }, b: { name, buildId: `b-${suffix}` } };
  const taskQueue = `test-versioned-main-${suffix}`;
  const llmQueue = `test-versioned-llm-${suffix}`;
  const store = `${process.env.AGENTARK_STORE ?? 's3://agentark'}/tests/${suffix}`;
  let fake: FakeLlmServer;
  let connection: NativeConnection;
  let client: Client;
  let closeClient: () => Promise<void>;
  const workers: Worker[] = [];
  let running: Promise<unknown>;

  beforeAll(async () => {
    const problems = await gsm8kProblems(N);
    // Slow replies, so the run is mid-way when build B is made current.
    fake = await startFakeLlmServer({ problems: new Map(problems.map((p) => [p.id, { gold: p.gold }])), errorRates: [0.3, 0.5], seed: 7, latencyMs: 300 });
    allowTeacherUrl(fake.url);
    connection = await connect();
    ({ client, close: closeClient } = await connectClient());
    for (const deployment of [builds.a, builds.b]) {
      workers.push(await createMainWorker({ connection, taskQueue, deployment }));
      workers.push(await createLlmWorker({ connection, taskQueue: llmQueue, concurrency: 16, deployment }));
    }
    running = Promise.all(workers.map((w) => w.run()));
    running.catch((err: unknown) => console.error('test worker stopped with an error', err));
    await makeCurrentWhenPolled(client, name, builds.a.buildId);
  }, 60_000);

  afterAll(async () => {
    for (const w of workers) w.shutdown();
    await running?.catch(() => undefined);
    await closeClient?.();
    await connection?.close();
    await fake?.close();
  });

  it('the deployment setting comes from the environment, and a bad one is refused naming the variable', async () => {
    expect(await deploymentSetting({})).toBeUndefined();
    expect(await deploymentSetting({ AGENTARK_DEPLOYMENT_NAME: 'agentark', AGENTARK_BUILD_ID: 'v1.2.3' })).toEqual({ name: 'agentark', buildId: 'v1.2.3' });
    // From a checkout the build id is the commit (an image without .git must be given one: ./deployment.test.ts).
    expect((await deploymentSetting({ AGENTARK_DEPLOYMENT_NAME: 'agentark' }))?.buildId).toMatch(/^[0-9a-f]{40}$/);
    await expect(deploymentSetting({ AGENTARK_DEPLOYMENT_NAME: 'a.b' })).rejects.toThrow(/AGENTARK_DEPLOYMENT_NAME/);
    await expect(deploymentSetting({ AGENTARK_DEPLOYMENT_NAME: 'a', AGENTARK_BUILD_ID: 'has space' })).rejects.toThrow(/AGENTARK_BUILD_ID/);
  });

  it('a run started on build A finishes its pinned debates there and continues as new onto build B', async () => {
    const runId = `versioned-${suffix}`;
    const handle = await client.workflow.start<typeof generateDebates>('generateDebates', {
      taskQueue,
      workflowId: generateWorkflowId(runId),
      args: [{
        runId, llmQueue, store,
        dataset: { format: 'gsm8k', url: gsm8kTest, limit: N },
        teacher: { baseUrl: fake.url, maxTokens: 128 },
        debate: { agents: 2, rounds: 1, earlyStop: 'never' },
        judge: { enabled: false, k: 1 },
        window: 4,
      }],
    });
    const firstRun = handle.firstExecutionRunId;
    for (;;) {
      const p = await handle.query(progressQuery).catch(() => undefined);
      if (p && p.failed > 0) throw new Error(`debates failed: ${JSON.stringify(p.failures)}`);
      if (p && p.done >= 2) break;
      await sleep(100);
    }
    expect(await versioningOf(client, handle.workflowId, firstRun)).toEqual({ behavior: expect.stringMatching(/PINNED|1/), buildId: builds.a.buildId });

    await makeCurrentWhenPolled(client, name, builds.b.buildId);
    const result = await handle.result();
    expect(result.done).toBe(N);
    expect(result.failed).toBe(0);

    // The chain moved: its last run is on B.
    const last = await client.workflow.getHandle(handle.workflowId).describe();
    expect(last.runId).not.toBe(firstRun);
    expect((await versioningOf(client, handle.workflowId)).buildId).toBe(builds.b.buildId);

    // Every debate pinned to one build, so it ran there from start to end; the first ones on A, the last ones on B.
    const problems = await gsm8kProblems(N);
    const byBuild = { a: 0, b: 0 };
    for (const p of problems) {
      const v = await versioningOf(client, debateWorkflowId(runId, p.id));
      expect([builds.a.buildId, builds.b.buildId]).toContain(v.buildId);
      expect(v.behavior).toMatch(/PINNED|1/);
      byBuild[v.buildId === builds.a.buildId ? 'a' : 'b'] += 1;
    }
    expect(byBuild.a).toBeGreaterThanOrEqual(2);
    expect(byBuild.b).toBeGreaterThanOrEqual(1);

    const summary = await describeBuilds(client, name);
    expect(summary.find((s) => s.current)?.buildId).toBe(builds.b.buildId);
    expect(summary.map((s) => s.buildId).sort()).toEqual([builds.a.buildId, builds.b.buildId].sort());
  }, 180_000);

  it('distillPipeline runs AUTO_UPGRADE on versioned workers', async () => {
    await makeCurrentWhenPolled(client, name, builds.b.buildId);
    // A bad input fails at once; the behavior is recorded with its first workflow task all the same.
    const workflowId = `distill-versioned-${suffix}`;
    await expect(client.workflow.execute('distillPipeline', { taskQueue, workflowId, args: [{}] })).rejects.toThrow();
    const v = await versioningOf(client, workflowId);
    expect(v.buildId).toBe(builds.b.buildId);
    expect(v.behavior).toMatch(/AUTO_UPGRADE|2/);
  }, 60_000);

  it('a distillPipeline started before versioning was on moves AUTO_UPGRADE onto the first versioned build', async () => {
    // Its own queue and deployment, as a cluster turning versioning on for the first time.
    const queue = `test-late-versioned-main-${suffix}`;
    const late: DeploymentSetting = { name: `${name}-late`, buildId: `c-${suffix}` };
    const runId = `late-${suffix}`;
    const unversioned = await createMainWorker({ connection, taskQueue: queue });
    const unversionedRun = unversioned.run();
    const handle = await client.workflow.start('distillPipeline', {
      taskQueue: queue,
      workflowId: pipelineWorkflowId(runId),
      args: [{
        runId, store, llmQueue: `nobody-polls-${suffix}`,
        dataset: { format: 'gsm8k', url: gsm8kTest, limit: 2 },
        teacher: { baseUrl: fake.url }, debate: { agents: 2, rounds: 1 }, judge: { enabled: false, k: 1 },
        student: { arch: 'qwen3-tiny' },
        evaluation: { testSets: [{ name: 'gsm8k', dataset: { format: 'gsm8k', url: gsm8kTest, limit: 2 } }] },
      }],
    });
    let versioned: Worker | undefined;
    let versionedRun: Promise<void> | undefined;
    try {
      // In its debate stage: generateDebates waits for an llm worker on a queue nobody polls.
      for (;;) {
        const s = await handle.query(pipelineStatusQuery).catch(() => undefined);
        if (s?.stages[0].state === 'running') break;
        await sleep(100);
      }
      expect((await versioningOf(client, handle.workflowId)).buildId).toBe('');
      unversioned.shutdown();
      await unversionedRun;

      versioned = await createMainWorker({ connection, taskQueue: queue, deployment: late });
      versionedRun = versioned.run();
      await makeCurrentWhenPolled(client, late.name, late.buildId);
      // Any new event gives the pipeline a workflow task, which the versioned worker now takes.
      await handle.signal('nudge');
      let v: Versioning = { behavior: '', buildId: '' };
      for (let i = 0; i < 100 && v.buildId !== late.buildId; i++) {
        await sleep(200);
        v = await versioningOf(client, handle.workflowId);
      }
      // Decided by the worker, not the history (whose first task no versioned worker ran).
      expect(v).toEqual({ behavior: expect.stringMatching(/AUTO_UPGRADE|2/), buildId: late.buildId });
    } finally {
      await handle.terminate('test over').catch(() => undefined);
      for (const [w, running] of [[unversioned, unversionedRun], [versioned, versionedRun]] as const) {
        if (w?.getState() === 'RUNNING') w.shutdown();
        await running?.catch(() => undefined);
      }
    }
  }, 120_000);
});
