import { randomUUID } from 'node:crypto';
import type { ScheduleHandle } from '@temporalio/client';
import { nightlyModels, recordNight } from '../../activities/nightly';
import { buildReport } from '../../activities/report/build-report';
import { openStore } from '../../activities/store/store';
import { writeManifest } from '../../activities/store/manifest';
import { evalResultsKey, type EvaluationResult, type ModelScore } from '../../core/evaluation';
import { nightlyModelName, nightlyRunId, nightsKey, previousNightIn, type NightIndex, type NightlyEvaluationInput } from '../../core/nightly';
import type { Report } from '../../core/report';
import { wilson } from '../../core/scoring';
import { trainJobPrefix } from '../../core/training';
import { createNightlySchedule, parseNightlyInput } from '../../cli/schedule';
import type { NightlyResult } from '../../workflows/nightly-evaluation';
import { startTrainHarness, waitFor, type TrainHarness } from './train-harness';

/**
 * Nightly evaluation: regressions between two stored nights (written by hand), and the Schedule end
 * to end on the real Temporal dev server and S3 store — two triggered nights evaluating the tiny
 * random base student on CPU, the second compared with the first.
 */
process.env.OMP_NUM_THREADS = '1';

const suffix = randomUUID().slice(0, 8);
const store = `${process.env.AGENTARK_STORE ?? 's3://agentark'}/tests/nightly-${suffix}`;

const score = (model: string, k: number, n: number): ModelScore => ({
  model, testSet: 'demo', task: 'numeric', n, samples: 1, accuracy: wilson(k, n),
  undecided: 0, truncated: 0, meanCompletionTokens: 8, majAtK: null, passAtK: null, text: null,
  generationsKey: 'g', scoresKey: 's',
});
const results = (runId: string, scores: ModelScore[]): EvaluationResult => ({
  runId, sampling: { samples: 1, temperature: 0, topP: 1, maxNewTokens: 8, batchSize: 4, seed: 0 }, scores, mas: [], models: { base: 'random qwen3-tiny', 'r1.rsft': 'runs/r1/train/rsft/sft/final' },
});

describe('nightly evaluation: pure rules', () => {
  it('names nights, models and the previous night', () => {
    expect(nightlyRunId('nightly-eval', '2026-12-01T02:00:00.123Z')).toBe('nightly-nightly-eval-20261201T020000Z');
    expect(nightlyModelName('r1', 'rsft+da')).toBe('r1.rsft+da');
    expect(nightlyModelName('x'.repeat(100), 'pad+da')).toHaveLength(64);
    const index: NightIndex = { scheduleId: 's', nights: ['nightly-s-20261201T020000Z', 'nightly-s-20261203T020000Z'].map((runId) => ({ runId, previousRunId: null, models: [], regressions: 0, reportKey: 'k', finishedAt: '' })) };
    expect(previousNightIn(null, 'nightly-s-20261202T020000Z')).toBeNull();
    expect(previousNightIn(index, 'nightly-s-20261201T020000Z')).toBeNull();
    expect(previousNightIn(index, 'nightly-s-20261202T020000Z')).toBe('nightly-s-20261201T020000Z');
    expect(previousNightIn(index, 'nightly-s-20261204T020000Z')).toBe('nightly-s-20261203T020000Z');
  });

  it('lists every bad field of an input', () => {
    expect(() => parseNightlyInput({ scheduleId: 'a b', runs: [], testSets: [], methods: ['nope'] })).toThrow(
      /scheduleId: .*\n {2}runs: .*\n {2}methods\.0: .*\n {2}testSets: /,
    );
  });
});

describe('nightly evaluation: regressions against the previous night', () => {
  it('flags a drop below the previous interval, not one within it', async () => {
    const s = openStore(store);
    const [night1, night2] = ['nightly-r-20261201T020000Z', 'nightly-r-20261202T020000Z'];
    await s.putJson(evalResultsKey(night1), results(night1, [score('base', 40, 50), score('r1.rsft', 40, 50)]));
    await s.putJson(evalResultsKey(night2), results(night2, [score('base', 20, 50), score('r1.rsft', 37, 50)]));
    const built = await buildReport({ runId: night2, store, previousRunId: night1 });
    const report = (await s.getJson(built.reportKey)) as Report;
    expect(report.regressions).toEqual([{
      model: 'base', testSet: 'demo',
      previous: expect.objectContaining({ accuracy: 0.8, runId: night1 }) as unknown,
      current: expect.objectContaining({ accuracy: 0.4 }) as unknown,
    }]);
    expect(await recordNight({ scheduleId: 'r', runId: night2, previousRunId: night1, reportKey: built.reportKey, store })).toHaveLength(1);
    expect(((await s.getJson(nightsKey('r'))) as NightIndex).nights.map((n) => [n.runId, n.regressions])).toEqual([[night2, 1]]);
  }, 60_000);

  it('finds the finished methods of the runs, and fails with nothing to evaluate', async () => {
    await writeManifest(openStore(store), trainJobPrefix('r1', 'rsft+da'), { inputs: {}, configHash: 'h', counts: {} });
    const found = await nightlyModels({ runs: ['r1', 'r2'], methods: ['rsft', 'rsft+da'], base: { arch: 'qwen3-tiny', dtype: 'float32' }, store });
    expect(found).toEqual({ models: { 'r1.rsft+da': { key: `${trainJobPrefix('r1', 'rsft+da')}/final`, dtype: 'float32' } }, emptyRuns: ['r2'] });
    await expect(nightlyModels({ runs: ['r2'], methods: ['rsft'], store })).rejects.toThrow(/nothing to evaluate/);
  });
});

describe('nightly evaluation Schedule (main and gpu workers in this process, gpu on CPU)', () => {
  let h: TrainHarness;
  let schedule: ScheduleHandle | undefined;
  const scheduleId = `test-nightly-${suffix}`;
  const testSets: NightlyEvaluationInput['testSets'] = [{ name: 'demo', dataset: { format: 'demo', demo: { seed: 9, count: 4, level: 'one-step' } } }];

  beforeAll(async () => {
    h = await startTrainHarness();
    await h.startGpu();
  });
  afterAll(async () => {
    await schedule?.delete().catch(() => undefined);
    await h?.close();
  });

  /** Triggers the schedule and waits for the night it starts. */
  const night = async (n: number): Promise<NightlyResult> => {
    await schedule!.trigger();
    const workflowId = await waitFor(`night ${n} started`, async () => (await schedule!.describe()).info.recentActions[n - 1]?.action.workflow.workflowId, 30_000);
    return h.client.workflow.getHandle(workflowId).result() as Promise<NightlyResult>;
  };

  it('runs two nights with base alone when the runs have no trained model, the second compared with the first', async () => {
    schedule = await createNightlySchedule(h.client, {
      cron: '0 2 * * *',
      taskQueue: h.taskQueue,
      input: {
        scheduleId, runs: ['nonexistent-run'], base: { arch: 'qwen3-tiny' }, testSets,
        sampling: { maxNewTokens: 8, batchSize: 4 }, gpuQueue: h.gpuQueue, store,
      },
    });
    const first = await night(1);
    expect(first).toMatchObject({ previousRunId: null, models: ['base'], emptyRuns: ['nonexistent-run'], regressionCount: 0 });
    expect(first.runId).toMatch(new RegExp(`^nightly-${scheduleId}-\\d{8}T\\d{6}Z$`));
    const s = openStore(store);
    const report = (await s.getJson(first.reportKey)) as Report;
    expect(report.evaluation?.scores.map((x) => [x.model, x.testSet, x.n])).toEqual([['base', 'demo', 4]]);
    expect(await s.exists(first.htmlKey)).toBe(true);

    const second = await night(2);
    expect(second.previousRunId).toBe(first.runId);
    // Same greedy model and problems: the same score, so nothing regressed.
    expect(second.regressionCount).toBe(0);
    expect(((await s.getJson(nightsKey(scheduleId))) as NightIndex).nights.map((x) => x.runId)).toEqual([first.runId, second.runId]);
  }, 300_000);
});
