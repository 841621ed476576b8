import * as fs from 'node:fs';
import { Command } from 'commander';
import { ScheduleOverlapPolicy, type Client, type ScheduleHandle } from '@temporalio/client';
import { NightlyEvaluationInput, type NightlyEvaluationConfig } from '../core/nightly';
import { MAIN_QUEUE } from '../core/task-queues';
import { workflowUiUrl } from '../workers/temporal-env';
import { connectClient } from './client';

/** Web UI link for a schedule, built like workflowUiUrl. */
export function scheduleUiUrl(scheduleId: string, env: NodeJS.ProcessEnv = process.env): string {
  const base = env.TEMPORAL_UI_URL ?? `http://127.0.0.1:${env.AGENTARK_TEMPORAL_UI_PORT ?? 8233}`;
  const ns = env.TEMPORAL_NAMESPACE ?? 'default';
  return `${base}/namespaces/${encodeURIComponent(ns)}/schedules/${encodeURIComponent(scheduleId)}`;
}

export const DEFAULT_SCHEDULE_ID = 'nightly-eval';

function readJson(file: string, what: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read ${what} ${file}: ${(err as Error).message}`);
  }
}

/** Validate a nightly input; the error lists every bad field. */
export function parseNightlyInput(raw: unknown): NightlyEvaluationConfig {
  const parsed = NightlyEvaluationInput.safeParse(raw);
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(top level)'}: ${i.message}`);
  throw new Error(`nightly evaluation input is invalid:\n${lines.join('\n')}`);
}

export interface NightlyFlags {
  config?: string;
  id?: string;
  runs?: string;
  methods?: string;
  testSets?: string;
}

/** The schedule's input: the --config file (the whole input), then each flag given over it. */
export function nightlyInputFrom(flags: NightlyFlags): NightlyEvaluationInput {
  const config = flags.config ? readJson(flags.config, 'config') : {};
  if (typeof config !== 'object' || config === null || Array.isArray(config)) throw new Error(`config ${flags.config} must be a JSON object`);
  const list = (s: string): string[] => s.split(',').map((x) => x.trim()).filter(Boolean);
  const raw: Record<string, unknown> = { ...config };
  raw.scheduleId = flags.id ?? raw.scheduleId ?? DEFAULT_SCHEDULE_ID;
  if (flags.runs) raw.runs = list(flags.runs);
  if (flags.methods) raw.methods = list(flags.methods);
  if (flags.testSets) raw.testSets = readJson(flags.testSets, 'test sets');
  parseNightlyInput(raw);
  return raw as NightlyEvaluationInput;
}

export interface NightlyScheduleOptions {
  input: NightlyEvaluationInput;
  cron: string;
  /** How late a missed night may still start (after an outage); older ones are dropped. */
  catchupWindow?: string;
  taskQueue?: string;
}

/**
 * A Schedule that starts nightlyEvaluation with the input as its one argument; a night still
 * running when the next is due makes that one skipped (overlap SKIP). The schedule id is the input's.
 */
export async function createNightlySchedule(client: Client, opts: NightlyScheduleOptions): Promise<ScheduleHandle> {
  const { scheduleId } = parseNightlyInput(opts.input);
  return client.schedule.create({
    scheduleId,
    spec: { cronExpressions: [opts.cron] },
    action: { type: 'startWorkflow', workflowType: 'nightlyEvaluation', workflowId: `nightly-${scheduleId}`, taskQueue: opts.taskQueue ?? MAIN_QUEUE, args: [opts.input] },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: opts.catchupWindow ?? '1h' },
    // The server keeps a cron only as calendar specs; the memo keeps it as written, for describe.
    memo: { cron: opts.cron },
  });
}

const when = (d: Date | undefined): string => (d ? d.toISOString() : '–');

function parseDate(s: string, flag: string): Date {
  const d = new Date(s);
  if (Number.isNaN(d.getTime())) throw new Error(`${flag}: not a date: '${s}' (give an ISO time, e.g. 2026-12-01T00:00:00Z)`);
  return d;
}

async function withClient(body: (client: Client) => Promise<void>): Promise<void> {
  const { client, close } = await connectClient();
  try {
    await body(client);
  } finally {
    await close();
  }
}

/** `agentark schedule …`: the nightly evaluation Schedule and the Temporal Schedule operations on it. */
export function registerSchedule(program: Command): void {
  const schedule = program.command('schedule').description('Temporal Schedules: nightly evaluation of the newest trained models');
  schedule
    .command('nightly-eval')
    .description('create a Schedule that starts nightlyEvaluation on a cron (regressions flagged against the previous night)')
    .requiredOption('--cron <expr>', 'cron expression, UTC (e.g. "0 2 * * *")')
    .option('--runs <ids>', 'comma-separated run ids whose trained models to evaluate')
    .option('--methods <list>', 'comma-separated methods (default: all five)')
    .option('--test-sets <file>', 'JSON array of test sets ({name, dataset})')
    .option('--config <file>', 'the whole nightlyEvaluation input as JSON (flags override it)')
    .option('--id <scheduleId>', `schedule id (default: the config's scheduleId, else ${DEFAULT_SCHEDULE_ID})`)
    .option('--catchup-window <duration>', 'how late a missed night may still start', '1h')
    .option('--task-queue <queue>', 'task queue of the main workers', MAIN_QUEUE)
    .action(async (opts: NightlyFlags & { cron: string; catchupWindow: string; taskQueue: string }) => {
      const input = nightlyInputFrom(opts);
      await withClient(async (client) => {
        const handle = await createNightlySchedule(client, { input, cron: opts.cron, catchupWindow: opts.catchupWindow, taskQueue: opts.taskQueue });
        const { info } = await handle.describe();
        console.log(`schedule ${handle.scheduleId} created: nightlyEvaluation at "${opts.cron}" (UTC) on ${opts.taskQueue}`);
        console.log(`  next: ${when(info.nextActionTimes[0])}\n  ${scheduleUiUrl(handle.scheduleId)}`);
      });
    });
  schedule
    .command('list')
    .description('list the schedules')
    .action(() => withClient(async (client) => {
      for await (const s of client.schedule.list()) {
        const workflowType = s.action?.type === 'startWorkflow' ? s.action.workflowType : '?';
        console.log(`${s.scheduleId.padEnd(24)} ${(s.state.paused ? 'paused' : 'active').padEnd(7)} ${workflowType.padEnd(20)} next ${when(s.info.nextActionTimes[0])}  last ${when(s.info.recentActions.at(-1)?.takenAt)}`);
      }
    }));
  schedule
    .command('describe')
    .description("a schedule's spec, state, next and recent nights")
    .argument('<id>', 'schedule id')
    .action((id: string) => withClient(async (client) => {
      const d = await client.schedule.getHandle(id).describe();
      const action = d.action.type === 'startWorkflow' ? `${d.action.workflowType} on ${d.action.taskQueue}` : d.action.type;
      console.log(`schedule   ${d.scheduleId}  (${d.state.paused ? `paused${d.state.note ? `: ${d.state.note}` : ''}` : 'active'})`);
      console.log(`cron       ${typeof d.memo?.cron === 'string' ? d.memo.cron : JSON.stringify(d.spec.calendars)}  ${d.spec.timezone || 'UTC'}`);
      console.log(`action     ${action}; overlap ${d.policies.overlap}, catch-up window ${d.policies.catchupWindow / 1000} s`);
      console.log(`taken      ${d.info.numActionsTaken} (skipped by overlap ${d.info.numActionsSkippedOverlap}, missed ${d.info.numActionsMissedCatchupWindow})`);
      console.log(`next       ${d.info.nextActionTimes.slice(0, 3).map(when).join(', ') || '–'}`);
      for (const r of d.info.recentActions) console.log(`recent     ${when(r.takenAt)}  ${r.action.workflow.workflowId}  ${workflowUiUrl(r.action.workflow.workflowId)}`);
      for (const r of d.info.runningActions) console.log(`running    ${r.workflow.workflowId}`);
      if (d.action.type === 'startWorkflow') console.log(`input      ${JSON.stringify(d.action.args?.[0])}`);
      console.log(scheduleUiUrl(d.scheduleId));
    }));
  const simple = (name: string, description: string, run: (h: ScheduleHandle) => Promise<void>, done: string): void => {
    schedule
      .command(name)
      .description(description)
      .argument('<id>', 'schedule id')
      .action((id: string) => withClient(async (client) => {
        await run(client.schedule.getHandle(id));
        console.log(`schedule ${id} ${done}${done === 'deleted' ? '' : `\n  ${scheduleUiUrl(id)}`}`);
      }));
  };
  simple('pause', 'pause a schedule (no nights start until unpaused)', (h) => h.pause('paused from the agentark CLI'), 'paused');
  simple('unpause', 'unpause a schedule', (h) => h.unpause('unpaused from the agentark CLI'), 'unpaused');
  simple('trigger', 'start a night now (skipped if one is still running)', (h) => h.trigger(), 'triggered');
  simple('delete', 'delete a schedule (its past nights and reports stay)', (h) => h.delete(), 'deleted');
  schedule
    .command('backfill')
    .description('start the nights the cron would have started between two times, one after another')
    .argument('<id>', 'schedule id')
    .requiredOption('--from <iso>', 'start of the time range')
    .requiredOption('--to <iso>', 'end of the time range')
    .action((id: string, opts: { from: string; to: string }) => withClient(async (client) => {
      const start = parseDate(opts.from, '--from');
      const end = parseDate(opts.to, '--to');
      if (end <= start) throw new Error('--to must be after --from');
      // BUFFER_ALL: the backfilled nights all fall due at once; each waits for the one before.
      await client.schedule.getHandle(id).backfill({ start, end, overlap: ScheduleOverlapPolicy.BUFFER_ALL });
      console.log(`schedule ${id}: backfill ${start.toISOString()} – ${end.toISOString()} requested\n  ${scheduleUiUrl(id)}`);
    }));
}
