import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { startFakeLlmServer, type FakeLlmServer } from '../fixtures/fake-llm';
import { allowTeacherUrl, gsm8kProblems, gsm8kTest, haveGsm8k, startHarness, uniqueRunId, type Harness } from './harness';
import { startTrainHarness, type TestGpuWorker, type TrainHarness } from './train-harness';
import { openStore } from '../../activities/store/store';
import { checkAnswer } from '../../core/answer';
import type { EvaluationResult } from '../../core/evaluation';
import { pipelineWorkflowId } from '../../core/pipeline';
import type { Problem } from '../../core/problem';
import type { Report } from '../../core/report';
import { trainWorkflowId } from '../../core/training';
import { evalWorkflowId } from '../../core/evaluation';
import { venvBin } from '../../infra/dev/paths';
import { pipelineStatusQuery, type distillPipeline } from '../../workflows/distill-pipeline';
import { debateWorkflowId, generateWorkflowId } from '../../core/ids';
import type { trainStudent } from '../../workflows/train-student';

/**
 * distillPipeline end to end on the real Temporal dev server and S3 store: debates with the SCRIPTED
 * FAKE teacher, every method trained for two steps on a tiny random Qwen3 (gpu worker on CPU), the
 * students and the base evaluated with the trainer's generate job, the report drawn.
 */
const describeIfData = haveGsm8k ? describe : describe.skip;
process.env.OMP_NUM_THREADS = '1';

const seqLen = { max_seq_len: 256 };
const settings = {
  all: { max_steps: 2, batch_size: 2, lr: 1e-3, checkpoint_every: 1, seed: 3 },
  rsft: seqLen, da: seqLen, prm1: seqLen, prm2: seqLen, 'rsft+da': seqLen, 'pad+da': seqLen,
  grpo: { group_size: 2, max_new_tokens: 8, max_prompt_len: 256 },
};

describeIfData('distillPipeline (fake teacher, tiny Qwen3 student, gpu worker on CPU)', () => {
  let fake: FakeLlmServer;
  let h: Harness;
  let t: TrainHarness;
  let gpu: TestGpuWorker;
  const input = (runId: string, extra: Record<string, unknown> = {}) => ({
    runId, store: h.store, llmQueue: h.llmQueue, gpuQueue: t.gpuQueue,
    dataset: { format: 'gsm8k', url: gsm8kTest, limit: 12 }, teacher: { baseUrl: fake.url },
    debate: { agents: 3, rounds: 2 }, judge: { enabled: true, k: 2 },
    student: { arch: 'qwen3-tiny' },
    training: { settings, heartbeatTimeoutSeconds: 10 },
    evaluation: { testSets: [{ name: 'gsm8k', dataset: { format: 'gsm8k', url: gsm8kTest, limit: 5 } }], sampling: { maxNewTokens: 8, batchSize: 5 } },
    ...extra,
  });
  const run = (config: ReturnType<typeof input>) =>
    h.client.workflow.execute<typeof distillPipeline>('distillPipeline', { taskQueue: h.taskQueue, workflowId: pipelineWorkflowId(config.runId), args: [config] });

  beforeAll(async () => {
    const problems = await gsm8kProblems(12);
    fake = await startFakeLlmServer({ problems: new Map(problems.map((p) => [p.id, { gold: p.gold }])), errorRates: [0.2, 0.35, 0.5], seed: 5 });
    allowTeacherUrl(fake.url);
    h = await startHarness();
    t = await startTrainHarness();
    gpu = await t.startGpu();
  }, 120_000);
  afterAll(async () => {
    await t?.close();
    await h?.close();
    await fake?.close();
  });

  test('every stage to a report whose numbers are the stored answers scored', async () => {
    const runId = uniqueRunId('pipeline');
    const result = await run(input(runId, { evaluation: { ...input(runId).evaluation, masDebate: true } }));
    expect(result.stages.map((s) => [s.name, s.state])).toEqual([['debate', 'done'], ['train', 'done'], ['evaluate', 'done'], ['report', 'done']]);
    const store = openStore(h.store);
    const report = (await store.getJson(result.reportKeys.report)) as Report;
    const evaluation = report.evaluation as EvaluationResult;
    expect(evaluation.scores.map((s) => s.model).sort()).toEqual(['base', 'da', 'pad', 'pad+da', 'rsft', 'rsft+da']);
    // Each score is what the checker says of the stored answers, counted here independently.
    const problems = new Map<string, Problem>();
    for await (const { value } of store.readJsonl(`runs/${runId}/eval/gsm8k/problems.jsonl`)) problems.set((value as Problem).id, value as Problem);
    expect(problems.size).toBe(5);
    for (const score of evaluation.scores) {
      let correct = 0;
      let lines = 0;
      for await (const { value } of store.readJsonl(score.generationsKey)) {
        const g = value as { id: string; completion: string };
        const p = problems.get(g.id)!;
        lines++;
        if (checkAnswer({ task: p.task, completion: g.completion, gold: p.gold }).correct) correct++;
      }
      expect([score.n, score.accuracy.k, lines]).toEqual([5, correct, 5]);
    }
    // The MAS line and the debate summary are the debates' own stats.
    const masStats = (await store.getJson(`runs/${evaluation.mas[0].runId}/datasets/stats.json`)) as { consensus: { accuracy: number } };
    expect(evaluation.mas[0].consensus).toBe(masStats.consensus.accuracy);
    expect(report.debate).toEqual(await store.getJson(`runs/${runId}/datasets/stats.json`));
    expect(report.training.map((j) => j.job).sort()).toEqual(['da', 'grpo', 'pad+da', 'prm1', 'prm2', 'rsft', 'rsft+da']);
    for (const j of report.training) expect(j.curve.map((p) => p.step)).toEqual([1, 2]);
    expect(report.training.find((j) => j.job === 'grpo')!.curve[0].reward).not.toBeUndefined();
    expect(Object.keys(report.charts).sort()).toEqual(['accuracy', 'debate-rounds', 'grpo', 'training-loss']);
    const png = await store.get(report.charts.accuracy);
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect(await store.getText(result.reportKeys.html)).toContain('data:image/png;base64,');
    expect(result.table).toContain('rsft+da');

    // Determinism: the run's three workflows replay with the current code. Under
    // AGENTARK_RECORD_HISTORIES=<release> they are kept for test/replay beside earlier releases'.
    const recorded = { distillPipeline: pipelineWorkflowId(runId), trainStudent: trainWorkflowId(runId), evaluateStudent: evalWorkflowId(runId) };
    const label = process.env.AGENTARK_RECORD_HISTORIES;
    for (const [workflow, workflowId] of Object.entries(recorded)) {
      const history = await h.client.workflow.getHandle(workflowId).fetchHistory();
      await Worker.runReplayHistory({ workflowsPath: require.resolve('../../workflows') }, history, workflowId);
      if (label) writeFileSync(path.resolve(__dirname, `../replay/histories/${workflow}.${label}.json`), historyToJSON(history));
    }
  }, 900_000);

  test('a run that failed in training resumes without a teacher call and retrains only the failed job', async () => {
    // A trainer that crashes for rsft+da (the DA job that starts from a trained model) while the mark exists.
    const dir = mkdtempSync(path.join(tmpdir(), 'agentark-inject-'));
    const mark = path.join(dir, 'fail');
    const python = path.join(dir, 'python');
    writeFileSync(mark, '');
    writeFileSync(python, `#!/bin/sh
cfg=""; prev=""; for a in "$@"; do [ "$prev" = "--config" ] && cfg="$a"; prev="$a"; done
if [ -f "${mark}" ] && [ -n "$cfg" ] && grep -q 'da.jsonl' "$cfg" && ! grep -q '"arch"' "$cfg"; then echo "injected crash" >&2; exit 1; fi
exec "${venvBin('python')}" "$@"
`);
    chmodSync(python, 0o755);
    await gpu.stop();
    gpu = await t.startGpu({ python });
    const runId = uniqueRunId('resume');
    const config = input(runId, { methods: ['rsft', 'da', 'rsft+da'], training: { settings, heartbeatTimeoutSeconds: 10, maxAttempts: 1 } });
    await expect(run(config)).rejects.toThrow();
    const first = await h.client.workflow.getHandle(pipelineWorkflowId(runId)).query<{ stages: { name: string; state: string; error: string | null }[] }>('pipelineStatus');
    expect(first.stages.map((s) => s.state)).toEqual(['done', 'failed', 'pending', 'pending']);
    expect(first.stages[1].error).toContain('injected crash');

    rmSync(mark);
    const calls = fake.log.length;
    const launchedBefore = gpu.trainer.launched();
    const result = await run(config);
    expect(result.stages.map((s) => s.state)).toEqual(['skipped', 'done', 'done', 'done']);
    expect(fake.log.length).toBe(calls);
    const trained = await h.client.workflow.getHandle<typeof trainStudent>(trainWorkflowId(runId)).result();
    expect(trained.results.map((r) => [r.job, r.skipped])).toEqual([['rsft', true], ['da', true], ['rsft+da', false]]);
    // One trainer for rsft+da, one generate job per model evaluated (base, rsft, da, rsft+da).
    expect(gpu.trainer.launched() - launchedBefore).toBe(1 + 4);
  }, 900_000);

  test('a bad input names every bad field; a wrong workflow id names the right one', async () => {
    const runId = uniqueRunId('bad');
    const bad = { ...input(runId), student: { arch: 'qwen3-tiny', key: 'x' }, methods: ['rsft', 'nope'], evaluation: { testSets: [] } };
    await expect(h.client.workflow.execute('distillPipeline', { taskQueue: h.taskQueue, workflowId: pipelineWorkflowId(runId), args: [bad] }))
      .rejects.toMatchObject({ cause: { message: expect.stringMatching(/student.*methods\.1.*evaluation\.testSets|student[\s\S]*methods[\s\S]*evaluation/) } });
    await expect(h.client.workflow.execute('distillPipeline', { taskQueue: h.taskQueue, workflowId: `other-${runId}`, args: [input(runId)] }))
      .rejects.toMatchObject({ cause: { message: expect.stringContaining(`the workflow id must be 'distill-${runId}'`) } });
  }, 120_000);

  test('cancel mid-debate: the pipeline, its generateDebates and every debate end cancelled, and the status says what was kept', async () => {
    const runId = uniqueRunId('cancel');
    const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
    const statusOf = (workflowId: string): Promise<string> =>
      h.client.workflow.getHandle(workflowId).describe().then((d) => d.status.name, () => 'NOT_FOUND');
    const launchedAtStart = gpu.trainer.launched();
    fake.tune({ latencyMs: 1000 }); // slow rounds, so the cancel lands with debates in flight
    try {
      // A cache of its own: the earlier tests' replies to these problems would answer every call.
      const config = input(runId, { teacher: { baseUrl: fake.url, cacheNamespace: runId } });
      const handle = await h.client.workflow.start<typeof distillPipeline>('distillPipeline', { taskQueue: h.taskQueue, workflowId: pipelineWorkflowId(runId), args: [config] });
      fake.resetLog();
      for (const deadline = Date.now() + 60_000; fake.log.length < 6; await sleep(100)) {
        if (Date.now() > deadline) throw new Error(`the pipeline made ${fake.log.length} teacher calls in 60 s`);
      }
      await handle.cancel();
      await expect(handle.result()).rejects.toMatchObject({ cause: { name: 'CancelledFailure' } });
      expect(await statusOf(pipelineWorkflowId(runId))).toBe('CANCELLED');
      expect(await statusOf(generateWorkflowId(runId))).toBe('CANCELLED');
      const problems = await gsm8kProblems(12);
      const debates = await Promise.all(problems.map((p) => statusOf(debateWorkflowId(runId, p.id))));
      expect(debates.filter((d) => d === 'RUNNING')).toEqual([]);
      expect(debates.filter((d) => d === 'CANCELLED').length).toBeGreaterThan(0);
      // The query replays the closed history: the debate stage stopped, nothing later started.
      const status = await handle.query(pipelineStatusQuery);
      expect(status.stage).toBe('cancelled');
      expect(status.stages.map((st) => st.state)).toEqual(['cancelled', 'pending', 'pending', 'pending']);
      expect(gpu.trainer.launched()).toBe(launchedAtStart);
    } finally {
      fake.tune({ latencyMs: 0 });
    }
  }, 120_000);
});
