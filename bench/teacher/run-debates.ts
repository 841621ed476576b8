import { randomUUID } from 'node:crypto';
import { generateWorkflowId } from '../../core/ids';
import type { CallStats, RequestLogEntry } from '../../test/fixtures/fake-llm';
import { DEMO_SEED, type BenchContext } from './context';
import { measureHistories, type HistoryFigures } from './histories';
import { resetPeakRss, sampleProc, usageBetween, type ProcSample, type ProcUsage } from './proc';
import { removeStorePrefix } from './store-cleanup';

/**
 * One generateDebates run of a figure, started through the Temporal client exactly as
 * `agentark generate` starts one, and what it cost: wall time, the calls the teacher received, each
 * process's CPU and peak memory, the consensus accuracy the teacher's replies imply, and histories.
 */

export interface RunSpec {
  /** Names the run id and the store prefix (a fresh one per run, so the teacher cache never hits). */
  figure: string;
  problems: number;
  llmConcurrency: number;
  earlyStop?: 'never' | 'unanimous';
  maxTokens?: number;
  /** Called every few ms with the teacher's live counts, while the run is under way. */
  onTick?: (stats: CallStats, ctx: BenchContext) => Promise<void> | void;
  /** Gives up (terminating the run) after this long. */
  timeoutMs?: number;
  histories?: boolean;
  /** Histories whose payloads are read at most (the server's own counts cover every execution). */
  historiesReadAtMost?: number;
  keepStore?: boolean;
}

export interface RunMeasure {
  runId: string;
  problems: number;
  wallSeconds: number;
  /** Chat requests of this run the teacher received (repeats included). */
  calls: number;
  callsOk: number;
  callsPerSecond: number;
  /** Over the middle 80% of the run's calls: the rate without start-up and tail. */
  sustainedCallsPerSecond: number;
  /** Calls the teacher received in each 5-second step of the run, to see ramp-up, stalls and tail. */
  timeline: number[];
  /** Share of problems whose summarizer reply is the gold, by the teacher's own log. */
  consensusAccuracy: number | null;
  peakTeacherInFlight: number;
  processes: Record<string, ProcUsage | null>;
  histories?: HistoryFigures;
  /** The workflow's result, its numbers only (their shape is the workflow code's). */
  result?: Record<string, number | null>;
  error?: string;
  /** This run's log entries at the teacher (not written to the results). */
  entries: RequestLogEntry[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function numbersOf(value: unknown): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) if (typeof v === 'number' || v === null) out[k] = v;
  }
  return out;
}

export function timeline(entries: readonly RequestLogEntry[], startMs: number, stepMs = 5000): number[] {
  const out: number[] = [];
  for (const e of entries) {
    const i = Math.max(0, Math.floor((e.at - startMs) / stepMs));
    while (out.length <= i) out.push(0);
    out[i]++;
  }
  return out;
}

export function sustainedRate(entries: readonly RequestLogEntry[]): number {
  if (entries.length < 10) return entries.length / Math.max(1e-3, ((entries.at(-1)?.at ?? 0) - (entries[0]?.at ?? 0)) / 1000);
  const lo = Math.floor(entries.length * 0.1);
  const hi = Math.floor(entries.length * 0.9);
  return (hi - lo) / Math.max(1e-3, (entries[hi].at - entries[lo].at) / 1000);
}

/** The last summarizer answer of each problem against its gold. */
export function consensusAccuracy(entries: readonly RequestLogEntry[], gold: ReadonlyMap<string, string>): number | null {
  const last = new Map<string, string | undefined>();
  for (const e of entries) {
    const m = /^agentark:.*:([^:]+):summarizer$/.exec(e.tag);
    if (m && e.outcome === 'ok') last.set(m[1], e.answer);
  }
  if (last.size === 0) return null;
  let right = 0;
  for (const [id, answer] of last) if (answer !== undefined && Number(answer) === Number(gold.get(id))) right++;
  return right / last.size;
}

function processPids(ctx: BenchContext): Record<string, number | undefined> {
  return { main: ctx.workers.main?.pid, llm: ctx.workers.llm?.pid, temporal: ctx.servicePids.temporal, s3: ctx.servicePids.s3, bench: process.pid };
}

export async function runDebates(ctx: BenchContext, spec: RunSpec): Promise<RunMeasure> {
  await ctx.workers.ensure(spec.llmConcurrency);
  const runId = `${ctx.benchId}-${spec.figure}-${randomUUID().slice(0, 6)}`;
  const store = `${ctx.storeBase}/${spec.figure}-${randomUUID().slice(0, 6)}`;
  const config = {
    runId,
    store,
    llmQueue: ctx.llmQueue,
    dataset: { format: 'demo' as const, demo: { seed: DEMO_SEED, count: spec.problems } },
    debate: { agents: 5, rounds: 3, earlyStop: spec.earlyStop ?? 'never' },
    ...(spec.maxTokens !== undefined ? { teacher: { maxTokens: spec.maxTokens } } : {}),
  };
  ctx.fake.resetLog();
  ctx.fake.resetStats();
  const pidsBefore = processPids(ctx);
  for (const pid of [pidsBefore.main, pidsBefore.llm]) if (pid) resetPeakRss(pid);
  const before = new Map<string, ProcSample | null>(Object.entries(pidsBefore).map(([k, pid]) => [k, pid ? sampleProc(pid) : null]));
  const since = new Date().toISOString();

  const t0 = performance.now();
  const startMs = Date.now();
  const handle = await ctx.client.workflow.start('generateDebates', {
    taskQueue: ctx.taskQueue,
    workflowId: generateWorkflowId(runId),
    args: [config],
  });
  let outcome: { ok: true; value: unknown } | { ok: false; error: string } | undefined;
  handle.result().then(
    (value: unknown) => (outcome = { ok: true, value }),
    (err: unknown) => (outcome = { ok: false, error: errorText(err) }),
  );
  const deadline = Date.now() + (spec.timeoutMs ?? 60 * 60_000);
  let lastPrint = Date.now();
  while (outcome === undefined) {
    if (spec.onTick) await spec.onTick(ctx.fake.stats(), ctx);
    if (Date.now() > deadline) {
      await handle.terminate('bench: figure timed out').catch(() => undefined);
      outcome = { ok: false, error: `timed out after ${(spec.timeoutMs ?? 0) / 1000} s` };
      break;
    }
    if (Date.now() - lastPrint > 15_000) {
      const s = ctx.fake.stats();
      ctx.log(`  ${spec.figure}: ${s.received} calls, ${s.inFlight} in flight at the teacher, ${((performance.now() - t0) / 1000).toFixed(0)} s`);
      lastPrint = Date.now();
    }
    await sleep(spec.onTick ? 10 : 100);
  }
  const wallSeconds = (performance.now() - t0) / 1000;
  const pidsAfter = processPids(ctx);
  const processes: Record<string, ProcUsage | null> = {};
  for (const [k, pid] of Object.entries(pidsAfter)) {
    // A worker replaced during the run (the resume figure) is not comparable before and after.
    processes[k] = pid && pid === pidsBefore[k] ? usageBetween(pid, before.get(k) ?? null, sampleProc(pid), wallSeconds) : null;
  }

  const prefix = `agentark:${runId}:`;
  const entries = ctx.fake.log.filter((e) => e.tag.startsWith(prefix));
  const measure: RunMeasure = {
    runId,
    problems: spec.problems,
    wallSeconds,
    calls: entries.length,
    callsOk: entries.filter((e) => e.outcome === 'ok' && !e.cancelled).length,
    callsPerSecond: entries.length / wallSeconds,
    sustainedCallsPerSecond: sustainedRate(entries),
    timeline: timeline(entries, startMs),
    consensusAccuracy: consensusAccuracy(entries, ctx.gold),
    peakTeacherInFlight: ctx.fake.stats().peakInFlight,
    processes,
    entries,
    ...(outcome.ok ? { result: numbersOf(outcome.value) } : { error: outcome.error }),
  };
  if (spec.histories !== false) {
    try {
      measure.histories = await measureHistories(ctx.client, `TaskQueue = '${ctx.taskQueue}' AND StartTime >= '${since}'`, {
        readAtMost: spec.historiesReadAtMost,
      });
    } catch (err) {
      measure.error = [measure.error, `histories: ${errorText(err)}`].filter(Boolean).join('; ');
    }
  }
  if (!spec.keepStore) await removeStorePrefix(store).catch((err: unknown) => ctx.log(`  (could not remove ${store}: ${errorText(err)})`));
  ctx.log(`  ${spec.figure}: ${measure.calls} calls in ${wallSeconds.toFixed(1)} s${measure.error ? ` — ${measure.error}` : ''}`);
  return measure;
}

export function errorText(err: unknown): string {
  const e = err as { message?: string; cause?: { message?: string } };
  return [e?.message ?? String(err), e?.cause?.message].filter(Boolean).join(': ');
}
