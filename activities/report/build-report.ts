import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Context } from '@temporalio/activity';
import { evalResultsKey, type EvaluationResult } from '../../core/evaluation';
import { DatasetStats } from '../../core/records';
import { findRegressions, reportPrefix, type CurvePoint, type Report, type TrainingSummary } from '../../core/report';
import { Method, planTraining, trainJobPrefix } from '../../core/training';
import { storeFor } from '../artifacts';
import { findManifest } from '../store/manifest';
import type { ArtifactStore } from '../store/store';
import { chartSpecs } from './charts';
import { renderCharts, reportHtml, reportMarkdown, resultsTable } from './render-report';

export interface BuildReportInput {
  runId: string;
  store?: string;
  /** A nightly evaluation: the previous night's evaluation run, to flag regressions against. */
  previousRunId?: string;
}

export interface BuiltReport {
  reportKey: string;
  markdownKey: string;
  htmlKey: string;
  charts: Record<string, string>;
  /** The results table as the CLI prints it. */
  table: string;
}

/**
 * The run's report from what its stages stored — the debate's stats.json, each training job's
 * events, the evaluation's results.json — as report.json, report.md, a self-contained report.html
 * and PNG charts under runs/<id>/report/. Rebuilt from scratch each time: it reads, never decides.
 */
export async function buildReport(input: BuildReportInput): Promise<BuiltReport> {
  const store = storeFor(input.store);
  const prefix = reportPrefix(input.runId);
  const statsKey = `runs/${input.runId}/datasets/stats.json`;
  const debate = (await store.exists(statsKey)) ? DatasetStats.parse(await store.getJson(statsKey)) : null;
  const evaluation = await readEvaluation(store, input.runId);
  const previous = input.previousRunId ? await readEvaluation(store, input.previousRunId) : null;
  const report: Report = {
    runId: input.runId,
    createdAt: new Date().toISOString(),
    debate,
    training: await trainingSummaries(store, input.runId),
    evaluation,
    regressions: previous && evaluation ? findRegressions(previous, evaluation) : [],
    charts: {},
  };
  heartbeat();
  const dir = await mkdtemp(join(tmpdir(), 'agentark-report-'));
  try {
    const specs = chartSpecs(report);
    await renderCharts(specs, dir);
    const pngs: Record<string, Buffer> = {};
    for (const name of Object.keys(specs)) {
      pngs[name] = await readFile(join(dir, `${name}.png`));
      report.charts[name] = `${prefix}/charts/${name}.png`;
      await store.put(report.charts[name], pngs[name]);
    }
    const keys = { reportKey: `${prefix}/report.json`, markdownKey: `${prefix}/report.md`, htmlKey: `${prefix}/report.html` };
    await store.putText(keys.markdownKey, reportMarkdown(report, Object.fromEntries(Object.keys(specs).map((n) => [n, `charts/${n}.png`]))));
    await store.putText(keys.htmlKey, reportHtml(report, pngs));
    await store.putJson(keys.reportKey, report);
    return { ...keys, charts: report.charts, table: resultsTable(report) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function readEvaluation(store: ArtifactStore, runId: string): Promise<EvaluationResult | null> {
  const key = evalResultsKey(runId);
  return (await store.exists(key)) ? ((await store.getJson(key)) as EvaluationResult) : null;
}

/** Every finished training job of the run, with its curve from the trainer's events (the last attempt's value of each step). */
async function trainingSummaries(store: ArtifactStore, runId: string): Promise<TrainingSummary[]> {
  const out: TrainingSummary[] = [];
  for (const job of planTraining(Method.options)) {
    const prefix = trainJobPrefix(runId, job.name);
    const manifest = await findManifest(store, prefix);
    if (!manifest) continue;
    const result = (manifest as { result?: { steps?: number; lastLoss?: number | null; seconds?: number } }).result ?? {};
    const points = new Map<number, CurvePoint>();
    if (await store.exists(`${prefix}/events.jsonl`)) {
      for await (const line of store.readJsonl(`${prefix}/events.jsonl`, { onError: 'yield' })) {
        const e = ('value' in line ? line.value : undefined) as { event?: string; step?: number; loss?: number; metrics?: Record<string, unknown> } | undefined;
        if (!e || typeof e.step !== 'number') continue;
        const point = points.get(e.step) ?? { step: e.step, loss: null };
        if (e.event === 'progress' && typeof e.loss === 'number') point.loss = e.loss;
        if (e.event === 'metric' && e.metrics) {
          const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
          Object.assign(point, { reward: num(e.metrics.reward), kl: num(e.metrics.kl), accuracy: num(e.metrics.accuracy) });
        }
        if (e.event === 'progress' || e.event === 'metric') points.set(e.step, point);
      }
    }
    out.push({
      job: job.name, method: job.method, trainer: job.trainer, steps: result.steps ?? 0, lastLoss: result.lastLoss ?? null,
      seconds: result.seconds ?? null, finalKey: `${prefix}/final`, curve: [...points.values()].sort((a, b) => a.step - b.step),
    });
  }
  return out;
}

function heartbeat(): void {
  try {
    Context.current().heartbeat();
  } catch {
    // outside an activity (tests)
  }
}
