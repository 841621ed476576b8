import { mkdtempSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { execFile, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { startFakeLlmServer, type FakeLlmServer } from '../fixtures/fake-llm';
import { allowTeacherUrl, gsm8kProblems, gsm8kTest, haveGsm8k, startHarness, uniqueRunId, type Harness } from './harness';
import { spawnGpuWorker, startTrainHarness, waitFor, type TestGpuWorker, type TrainHarness } from './train-harness';
import { openStore } from '../../activities/store/store';
import { storedCheckpoints } from '../../activities/trainer/checkpoints';
import { storeFiles } from '../../activities/trainer/folders';
import { trainJobPrefix, trainWorkflowId, type JobName, type TrainStudentInput } from '../../core/training';
import { repoRoot, venvBin } from '../../infra/dev/paths';

/**
 * The training stage on the real Temporal dev server and S3 store, the gpu worker on CPU, a tiny
 * random Qwen3 student, datasets built by buildDatasets from a debate run with the SCRIPTED FAKE
 * teacher. Each job trains a few steps: what is tested is the orchestration and its durability.
 */
const describeIfData = haveGsm8k ? describe : describe.skip; // the shared GSM8K file is beside the repo in CI

// One thread per trainer (this file's workers and the ones it spawns inherit it): the suite's other
// files run beside this one, and their timing-sensitive fault tests must keep a core.
process.env.OMP_NUM_THREADS = '1';

const seqLen = { max_seq_len: 256 };
const settings = (maxSteps: number) => ({
  all: { max_steps: maxSteps, batch_size: 2, lr: 1e-3, checkpoint_every: 1, seed: 3 },
  rsft: seqLen, da: seqLen, prm1: seqLen, prm2: seqLen, 'rsft+da': seqLen, 'pad+da': seqLen,
  grpo: { group_size: 2, max_new_tokens: 8, max_prompt_len: 256 },
  ppo: { group_size: 2, max_new_tokens: 8, max_prompt_len: 256, truncated: 'keep' },
});

async function finalDigest(store: string, runId: string, job: 'rsft'): Promise<string> {
  const bytes = await openStore(store).get(`${trainJobPrefix(runId, job)}/final/model.safetensors`);
  return createHash('sha256').update(bytes).digest('hex');
}

/** The TensorBoard event files the gpu worker uploaded for a job. */
async function tensorboardFiles(store: string, runId: string, job: JobName): Promise<string[]> {
  const files = await storeFiles(openStore(store), `${trainJobPrefix(runId, job)}/tensorboard`);
  return files.filter((f) => f.startsWith('events.out.tfevents.'));
}

async function eventsOf(store: string, runId: string, job: 'rsft'): Promise<Record<string, unknown>[]> {
  const text = await openStore(store).getText(`${trainJobPrefix(runId, job)}/events.jsonl`);
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Until the run's first job reports a step done (the subprocess workers report every second). */
const trainingUnderWay = (handle: { query: <T>(name: string) => Promise<T> }) =>
  waitFor('training under way', async () => {
    const st = await handle.query<{ jobs: { state: string; step: number }[] }>('trainStatus').catch(() => null);
    return st?.jobs[0].state === 'running' && st.jobs[0].step >= 1;
  }, 180_000);

describeIfData('trainStudent on the GPU queue (gpu worker on CPU, tiny Qwen3, fake-teacher datasets)', () => {
  let fake: FakeLlmServer;
  let debates: Harness;
  let h: TrainHarness;
  let gpu: TestGpuWorker;
  let datasetsRun: string;
  const store = () => debates.store;
  const input = (runId: string, extra: Partial<TrainStudentInput> = {}): TrainStudentInput => ({
    runId, datasets: { runId: datasetsRun }, student: { arch: 'qwen3-tiny' }, store: store(), gpuQueue: h.gpuQueue,
    heartbeatTimeoutSeconds: 10, settings: settings(2), ...extra,
  });

  beforeAll(async () => {
    const problems = await gsm8kProblems(16);
    const errorRates = [0.2, 0.35, 0.5];
    fake = await startFakeLlmServer({ problems: new Map(problems.map((p) => [p.id, { gold: p.gold }])), errorRates, seed: 5 });
    allowTeacherUrl(fake.url);
    debates = await startHarness();
    h = await startTrainHarness();
    gpu = await h.startGpu();
    datasetsRun = uniqueRunId('train-data');
    const generated = await debates.generate({
      runId: datasetsRun, dataset: { format: 'gsm8k', url: gsm8kTest, limit: 16 }, teacher: { baseUrl: fake.url },
      debate: { agents: 3, rounds: 2 }, judge: { enabled: true, k: 2 },
    });
    for (const name of ['rsft', 'da', 'prm', 'grpo'] as const) expect(generated.datasets.counts[name]).toBeGreaterThan(0);
  }, 180_000);
  afterAll(async () => {
    await h?.close();
    await debates?.close();
    await fake?.close();
  });

  it('the PPO ablation (pad-ppo) is PRM stage I, stage II, then PPO with a value head on the student', async () => {
    const runId = uniqueRunId('ppo');
    const result = await h.train(input(runId, { methods: ['pad-ppo'] }));
    expect(result.stage).toBe('done');
    expect(result.jobs.map((j) => [j.job, j.state])).toEqual([['prm1', 'done'], ['prm2', 'done'], ['ppo', 'done']]);
    const ppo = result.results.find((r) => r.job === 'ppo')!;
    expect(result.models['pad-ppo']).toBe(ppo.finalKey);
    expect(ppo.finalKey).toBe(`${trainJobPrefix(runId, 'ppo')}/final`);
    const s = openStore(store());
    expect(await s.exists(`${ppo.finalKey}/value_head.safetensors`)).toBe(true);
    const events = (await s.getText(ppo.eventsKey)).split('\n').filter(Boolean).map((l) => JSON.parse(l) as { event: string; metrics?: Record<string, number> });
    const metrics = events.filter((e) => e.event === 'metric').map((e) => e.metrics!);
    expect(metrics).toHaveLength(2);
    for (const m of metrics) expect(Number.isFinite(m.value_loss)).toBe(true);
  }, 600_000);

  it('trains all five methods to final models in the store; the same run id again runs no job', async () => {
    const runId = uniqueRunId('five');
    const before = gpu.trainer.launched();
    const result = await h.train(input(runId));
    expect(result.stage).toBe('done');
    expect(result.jobs.map((j) => [j.job, j.state])).toEqual([
      ['rsft', 'done'], ['da', 'done'], ['prm1', 'done'], ['prm2', 'done'], ['grpo', 'done'], ['rsft+da', 'done'], ['pad+da', 'done'],
    ]);
    const s = openStore(store());
    for (const r of result.results) {
      expect(r.steps).toBe(2);
      expect(await s.exists(`${r.finalKey}/config.json`)).toBe(true);
      expect(await s.exists(r.eventsKey)).toBe(true);
      expect(await s.exists(r.manifestKey)).toBe(true);
      expect(await tensorboardFiles(store(), runId, r.job)).toHaveLength(1);
      const metrics = (await s.getJson(r.metricsKey)) as { steps: number; lastLoss: number };
      expect(metrics.steps).toBe(2);
      expect(Number.isFinite(metrics.lastLoss)).toBe(true);
    }
    expect(await s.exists(`${result.results.find((r) => r.job === 'prm2')!.finalKey}/reward_head.safetensors`)).toBe(true);
    expect(Object.keys(result.models).sort()).toEqual(['da', 'pad', 'pad+da', 'rsft', 'rsft+da']);
    expect(result.models.pad).toBe(result.results.find((r) => r.job === 'grpo')!.finalKey);
    console.log(`CPU wall time per job (s): ${result.results.map((r) => `${r.job} ${r.seconds.toFixed(1)}`).join(', ')}`);

    const launched = gpu.trainer.launched();
    expect(launched - before).toBe(7);
    const again = await h.train(input(runId));
    expect(again.results.every((r) => r.skipped)).toBe(true);
    expect(gpu.trainer.launched()).toBe(launched);
  }, 600_000);

  it('a bad trainer setting fails its job at once with the trainer\'s message naming the field, no retry', async () => {
    const runId = uniqueRunId('badcfg');
    const handle = await h.start(input(runId, { methods: ['rsft'], settings: { rsft: { max_steps: 2, scheduler: 'sometimes' } } }));
    await expect(handle.result()).rejects.toThrow();
    const failure = await handle.result().catch((e: unknown) => e as { cause?: { message?: string } });
    expect(String(failure.cause?.message)).toMatch(/rsft: .*config field 'scheduler'/);
    const history = await handle.fetchHistory();
    const events = history.events ?? [];
    const scheduled = new Map(events.filter((e) => e.activityTaskScheduledEventAttributes)
      .map((e) => [String(e.eventId), e.activityTaskScheduledEventAttributes!.activityType!.name!]));
    const starts = events.filter((e) => e.activityTaskStartedEventAttributes).map((e) => ({
      type: scheduled.get(String(e.activityTaskStartedEventAttributes!.scheduledEventId)),
      attempt: e.activityTaskStartedEventAttributes!.attempt,
    }));
    // resolveTrainingData, findTrainJob, the gpu queue's pollers, then trainJob: each once, trainJob never retried
    expect(starts.filter((s) => s.type === 'trainJob')).toEqual([{ type: 'trainJob', attempt: 1 }]);
    expect(starts.every((s) => s.attempt === 1)).toBe(true);
  }, 120_000);

  it('with no gpu worker polling, the job waits on the GPU queue and no other worker runs it', async () => {
    const runId = uniqueRunId('nogpu');
    const handle = await h.start(input(runId, { methods: ['da'], gpuQueue: `${h.gpuQueue}-nobody` }));
    const pending = await waitFor('a pending trainJob', async () => {
      const d = await handle.describe();
      return d.raw.pendingActivities?.find((a) => a.activityType?.name === 'trainJob');
    });
    expect(pending.attempt).toBe(1);
    expect(String(pending.state)).toMatch(/SCHEDULED|1/);
    await handle.terminate('test over');
  }, 60_000);

  it('a trainer that stops printing events is stopped and retried after the hang timeout', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'agentark-hang-'));
    const marker = path.join(dir, 'hung-once');
    const script = path.join(dir, 'python');
    // The first launch prints nothing and sleeps; later ones are the real trainer.
    writeFileSync(script, `#!/usr/bin/env bash\nif [ ! -e ${marker} ]; then touch ${marker}; exec sleep 600; fi\nexec ${venvBin('python')} "$@"\n`);
    chmodSync(script, 0o755);
    const queue = `${h.gpuQueue}-hang`;
    const hanging = await h.startGpu({ python: script, queue });
    try {
      const runId = uniqueRunId('hang');
      const handle = await h.start(input(runId, { methods: ['rsft'], hangTimeoutMinutes: 0.5, gpuQueue: queue }));
      const result = (await handle.result()) as Awaited<ReturnType<TrainHarness['train']>>;
      expect(result.jobs[0].state).toBe('done');
      const history = await handle.fetchHistory();
      const last = (history.events ?? []).filter((e) => e.activityTaskStartedEventAttributes).pop()!.activityTaskStartedEventAttributes!;
      expect(last.attempt).toBe(2);
      expect(last.lastFailure?.message).toMatch(/no trainer event for 0.5 min/);
    } finally {
      await hanging.stop();
    }
  }, 180_000);

  describe('crash and cancellation (gpu workers as their own processes)', () => {
    let worker: ChildProcess | null = null;
    const queue = () => `${h.gpuQueue}-proc`;
    const longer = { ...settings(24), rsft: { ...seqLen, checkpoint_every: 3 } };
    afterEach(() => {
      worker?.kill('SIGKILL');
      worker = null;
    });

    it('SIGKILL of the gpu worker mid-job: a new worker with an empty cache resumes from the last uploaded checkpoint, to the same weights', async () => {
      const runId = uniqueRunId('sigkill');
      const reference = uniqueRunId('straight');
      worker = spawnGpuWorker(queue(), mkdtempSync(path.join(tmpdir(), 'agentark-m1-')));
      const handle = await h.start(input(runId, { methods: ['rsft'], gpuQueue: queue(), settings: longer }));
      const s = openStore(store());
      await waitFor('an uploaded checkpoint', async () => (await storedCheckpoints(s, trainJobPrefix(runId, 'rsft'))).length > 0, 180_000);
      worker.kill('SIGKILL');
      worker = spawnGpuWorker(queue(), mkdtempSync(path.join(tmpdir(), 'agentark-m2-')));
      const result = (await handle.result()) as Awaited<ReturnType<TrainHarness['train']>>;
      expect(result.results[0].startStep).toBeGreaterThan(0);
      const starts = (await eventsOf(store(), runId, 'rsft')).filter((e) => e.event === 'start');
      expect(starts[0].step).toBe(0);
      expect(starts[starts.length - 1].step).toBeGreaterThan(0);

      // The same job without interruption, in the in-process worker: bit-identical weights.
      await h.train(input(reference, { methods: ['rsft'], settings: longer }));
      expect(await finalDigest(store(), runId, 'rsft')).toBe(await finalDigest(store(), reference, 'rsft'));
    }, 420_000);

    it('SIGTERM of the gpu worker (a preempted node): the trainer checkpoints, the checkpoint is uploaded, the worker exits, and the job resumes on another worker from there', async () => {
      const runId = uniqueRunId('sigterm');
      worker = spawnGpuWorker(queue(), mkdtempSync(path.join(tmpdir(), 'agentark-m4-')));
      const handle = await h.start(input(runId, { methods: ['rsft'], gpuQueue: queue(), settings: longer }));
      await trainingUnderWay(handle);
      const first = worker;
      const exited = new Promise<number | null>((resolve) => first.once('exit', (code) => resolve(code)));
      const t0 = Date.now();
      first.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(Date.now() - t0).toBeLessThan(60_000);
      console.log(`SIGTERM to the gpu worker → checkpoint uploaded, worker exited in ${Date.now() - t0} ms`);
      const stored = await storedCheckpoints(openStore(store()), trainJobPrefix(runId, 'rsft'));
      expect(stored.length).toBeGreaterThan(0);
      expect(await tensorboardFiles(store(), runId, 'rsft')).toHaveLength(1); // the interrupted attempt's

      worker = spawnGpuWorker(queue(), mkdtempSync(path.join(tmpdir(), 'agentark-m5-')));
      const result = (await handle.result()) as Awaited<ReturnType<TrainHarness['train']>>;
      expect(result.results[0].startStep).toBe(stored[stored.length - 1].step);
      expect(await tensorboardFiles(store(), runId, 'rsft')).toHaveLength(2); // the resumed attempt added its own
      const history = await handle.fetchHistory();
      const last = (history.events ?? []).filter((e) => e.activityTaskStartedEventAttributes).pop()!.activityTaskStartedEventAttributes!;
      expect(last.lastFailure?.applicationFailureInfo?.type).toBe('WorkerShutdown');
    }, 420_000);

    it('cancel from the CLI mid-training: the trainer checkpoints, the run reports cancelled within 60 s, and starting it again continues from that checkpoint', async () => {
      const runId = uniqueRunId('cancel');
      worker = spawnGpuWorker(queue(), mkdtempSync(path.join(tmpdir(), 'agentark-m3-')));
      // Long enough that the CLI, seconds to start on a loaded machine, finds it still training; the
      // checkpoint it resumes from is the one written on SIGTERM.
      const slow = { ...longer, all: { ...longer.all, max_steps: 400 }, rsft: { ...seqLen, checkpoint_every: 100 } };
      const handle = await h.start(input(runId, { methods: ['rsft'], gpuQueue: queue(), settings: slow }));
      await trainingUnderWay(handle);
      const t0 = Date.now();
      const cancel = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(path.join(repoRoot, 'bin/agentark'), ['cancel', runId], { cwd: repoRoot }, (err, stdout, stderr) => resolve({ code: err ? 1 : 0, stdout, stderr }));
      });
      expect(cancel).toMatchObject({ code: 0 });
      expect(cancel.stdout).toContain(`${trainWorkflowId(runId)}: CANCELLED`);
      expect(Date.now() - t0).toBeLessThan(60_000);
      console.log(`agentark cancel → trainStudent CANCELLED (checkpoint uploaded) in ${Date.now() - t0} ms`);
      const interrupted = (await eventsOf(store(), runId, 'rsft').catch(() => [])).length;
      expect(interrupted).toBe(0); // no final events.jsonl: the job did not finish
      const stored = await storedCheckpoints(openStore(store()), trainJobPrefix(runId, 'rsft'));
      expect(stored.length).toBeGreaterThan(0);

      const again = await h.client.workflow.execute('trainStudent', { taskQueue: h.taskQueue, workflowId: trainWorkflowId(runId), args: [input(runId, { methods: ['rsft'], gpuQueue: queue(), settings: slow })] }) as Awaited<ReturnType<TrainHarness['train']>>;
      expect(again.results[0].startStep).toBe(stored[stored.length - 1].step);
    }, 420_000);
  });
});
