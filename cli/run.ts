import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command } from 'commander';
import { WorkflowExecutionAlreadyStartedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { pipelineInputKey } from '../activities/pipeline-records';
import { workerStoreUrl } from '../activities/store/allowlist';
import { cachedStore } from '../activities/store/input-store';
import type { ArtifactStore } from '../activities/store/store';
import { resultsTable } from '../activities/report/render-report';
import { reportPrefix } from '../core/report';
import { evalWorkflowId } from '../core/evaluation';
import { generateWorkflowId } from '../core/ids';
import { parsePipelineInput, pipelineWorkflowId } from '../core/pipeline';
import { RUN_ID } from '../core/search-attributes';
import { trainWorkflowId } from '../core/training';
import { workflowUiUrl } from '../workers/temporal-env';
import { pipelineStatusQuery, type distillPipeline, type PipelineResult, type PipelineStatus } from '../workflows/distill-pipeline';
import { evalStatusQuery } from '../workflows/evaluate-student';
import { progressQuery } from '../workflows/signals';
import { connectClient } from './client';
import { invalidConfig, readConfigJson } from './config-file';
import { progressLine } from './progress';
import { runOptions, startOptions } from './start-run';
import { liveStatus } from './train';

/**
 * `agentark run --config f.json`: the whole pipeline (debates → training → evaluation → report) as
 * one distillPipeline workflow, with live progress of its stages. `agentark resume <runId>` starts a
 * failed, cancelled or terminated run again with its stored input: only what is missing is redone.
 * `agentark report <runId>` prints a finished run's results and copies its report here.
 */
export function registerRun(program: Command): void {
  runOptions(program
    .command('run')
    .description('run the whole pipeline: debates, training, evaluation, report (the same run id again resumes)')
    .requiredOption('--config <file>', 'distillPipeline input JSON (see README "The whole run")'))
    .action(async (opts: { config: string; runId?: string; detach?: boolean; taskQueue: string }) => {
      const input = readPipelineFile(opts.config, opts.runId);
      const { client, close } = await connectClient();
      try {
        await startAndFollow(client, input, opts);
      } finally {
        await close();
      }
    });

  startOptions(program
    .command('resume')
    .description('start a failed, cancelled or terminated run again with the input it was started with; finished work is not redone')
    .argument('<runId>', 'the run id'))
    .option('--store <url>', "the run's artifact store (default: AGENTARK_STORE)")
    .action(async (runId: string, opts: { detach?: boolean; taskQueue: string; store?: string }) => {
      const key = pipelineInputKey(runId);
      const store = cliStore(opts.store);
      if (!(await store.exists(key))) throw new Error(`run ${runId} has no stored pipeline input (${store.urlOf(key)}): it was never started with \`agentark run\``);
      const input = (await store.getJson(key)) as Record<string, unknown>;
      const { client, close } = await connectClient();
      try {
        const status = await client.workflow.getHandle(pipelineWorkflowId(runId)).describe().then((d) => d.status.name).catch(() => null);
        if (status === 'COMPLETED') console.log(`run ${runId} already completed; starting it again checks every stage and redoes nothing that is stored`);
        await startAndFollow(client, input, opts);
      } finally {
        await close();
      }
    });

  program
    .command('report')
    .description("print a run's results table and copy its report (report.md, report.html, charts) to a local folder")
    .argument('<runId>', 'the run id')
    .option('--out <dir>', 'where to copy the report', 'reports')
    .option('--store <url>', "the run's artifact store (default: AGENTARK_STORE)")
    .action(async (runId: string, opts: { out: string; store?: string }) => {
      const dir = path.join(opts.out, runId);
      const table = await copyReport(runId, dir, opts.store);
      console.log(`${table}\n\nreport     ${path.resolve(dir, 'report.html')}\n           ${path.resolve(dir, 'report.md')}`);
    });
}

/** The CLI opens stores with its user's own access: the workers' AGENTARK_STORE_ALLOW guards workflow inputs, not this. */
function cliStore(url?: string): ArtifactStore {
  return cachedStore(url ?? workerStoreUrl());
}

function readPipelineFile(file: string, runId?: string): Record<string, unknown> {
  const input = readConfigJson(file, { runId });
  const parsed = parsePipelineInput(input);
  if (!parsed.ok) throw invalidConfig(file, parsed.issues);
  // Stored as written: the workflow parses its own input.
  return input as Record<string, unknown>;
}

export async function startAndFollow(client: Client, input: Record<string, unknown>, opts: { detach?: boolean; taskQueue: string; extra?: () => string }): Promise<PipelineResult | null> {
  const runId = String(input.runId);
  const workflowId = pipelineWorkflowId(runId);
  let handle: WorkflowHandle<typeof distillPipeline>;
  try {
    handle = await client.workflow.start<typeof distillPipeline>('distillPipeline', {
      taskQueue: opts.taskQueue, workflowId, args: [input], typedSearchAttributes: [{ key: RUN_ID, value: runId }],
    });
    console.log(`run ${runId} started`);
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    handle = client.workflow.getHandle<typeof distillPipeline>(workflowId);
    console.log(`run ${runId} is already running; following it`);
  }
  console.log(`  workflow ${workflowId}\n  ${workflowUiUrl(workflowId)}\n`);
  if (opts.detach) return null;
  const result = await followPipeline(client, handle, undefined, opts.extra);
  const store = cliStore(typeof input.store === 'string' ? input.store : undefined);
  console.log(`\n${result.table}\n\nreport     ${store.urlOf(result.reportKeys.html)}\n           ${store.urlOf(result.reportKeys.markdown)}`);
  return result;
}

/** A line whenever the run's progress changes (polled every 2 s): the stage, and the running child's own counters. */
export async function followPipeline(
  client: Client, handle: WorkflowHandle<typeof distillPipeline>, print: (line: string) => void = (l) => console.log(l),
  /** More live counters to show (e.g. teacher calls of an in-process llm worker). */
  extra: () => string = () => '',
): Promise<PipelineResult> {
  let last = '';
  const t0 = Date.now();
  const poll = setInterval(() => {
    stageLine(client, handle)
      .then((stage) => {
        const more = extra();
        const line = stage && more ? `${stage} | ${more}` : stage;
        if (line && line !== last) print(`[${Math.round((Date.now() - t0) / 1000).toString().padStart(4)} s] ${line}`);
        if (line) last = line;
      })
      .catch(() => undefined);
  }, 2000);
  try {
    return await handle.result();
  } finally {
    clearInterval(poll);
  }
}

export async function stageLine(client: Client, handle: WorkflowHandle): Promise<string | null> {
  const s: PipelineStatus = await handle.query(pipelineStatusQuery);
  const running = s.stages.find((x) => x.state === 'running');
  if (!running) return `${s.stage}`;
  const child = (id: string) => client.workflow.getHandle(id);
  switch (running.name) {
    case 'debate':
      return `debate | ${progressLine(await child(generateWorkflowId(s.runId)).query(progressQuery))}`;
    case 'train': {
      const t = await liveStatus(child(trainWorkflowId(s.runId)));
      return `train | ${t.jobs.map((j) => `${j.job} ${j.state}${j.total ? ` ${j.step}/${j.total}` : ''}`).join(', ')}`;
    }
    case 'evaluate': {
      const id = evalWorkflowId(s.runId);
      const e = await child(id).query(evalStatusQuery).catch(() => null);
      if (!e) {
        // First the teacher's own debates on the test sets (masDebate), each a generateDebates child.
        const mas = running.workflowIds.filter((w) => w !== id);
        const lines = await Promise.all(mas.map((w) => child(w).query(progressQuery).then(progressLine).catch(() => null)));
        const shown = lines.filter((l): l is string => l !== null);
        return `evaluate | ${shown.length ? `teacher debate on the test set: ${shown.join('; ')}` : 'starting'}`;
      }
      const beats = await generationBeats(child(id));
      return `evaluate | ${e.pairs.map((p) => `${p.model}/${p.testSet} ${p.state}${p.accuracy === null ? '' : ` ${(100 * p.accuracy).toFixed(1)}%`}`).join(', ')}${beats}`;
    }
    default:
      return running.name;
  }
}

/** The generate jobs' newest heartbeats: prompts answered so far. */
async function generationBeats(handle: WorkflowHandle): Promise<string> {
  const d = await handle.describe();
  const parts: string[] = [];
  for (const a of d.raw.pendingActivities ?? []) {
    const payload = a.heartbeatDetails?.payloads?.[0]?.data;
    if (a.activityType?.name !== 'generateJob' || !payload) continue;
    const beat = JSON.parse(Buffer.from(payload).toString('utf8')) as { step?: number; total?: number };
    if (beat.total) parts.push(`${beat.step}/${beat.total}`);
  }
  return parts.length ? ` | generating ${parts.join(', ')} prompts` : '';
}

/** Copies report.json, report.md, report.html and the charts of a run into `dir`; returns the results table. */
export async function copyReport(runId: string, dir: string, storeUrl?: string): Promise<string> {
  const store = cliStore(storeUrl);
  const prefix = reportPrefix(runId);
  if (!(await store.exists(`${prefix}/report.json`))) throw new Error(`run ${runId} has no report yet (${store.urlOf(prefix)}/report.json): it is built by the pipeline's last stage`);
  fs.mkdirSync(path.join(dir, 'charts'), { recursive: true });
  for await (const key of store.list(`${prefix}/`)) {
    fs.writeFileSync(path.join(dir, key.slice(prefix.length + 1)), await store.get(key));
  }
  return resultsTable(JSON.parse(fs.readFileSync(path.join(dir, 'report.json'), 'utf8')));
}
