import type { CallStats, RequestLogEntry } from '../../../test/fixtures/fake-llm';
import type { BenchContext } from '../context';
import { row, type Row } from '../report';
import { runDebates } from '../run-debates';
import type { FigureResult } from './figure';

/**
 * Resume cost: both workers SIGKILLed at about half the run's calls (a node lost), new workers
 * started, the run left to finish. Only calls in flight at the kill may be made again; a call made
 * again beyond those is a reply that was paid for and then lost.
 */

export interface ResumeOptions {
  problems: number;
  latencyS: number;
  concurrency: number;
  timeoutMs: number;
  keepStore: boolean;
}

/** Calls whose (tag, body) the teacher had already received, beyond the first of each. */
export function repeatedCalls(entries: readonly RequestLogEntry[]): number {
  const seen = new Set<string>();
  let repeated = 0;
  for (const e of entries) {
    const key = `${e.tag}\u0000${e.requestHash}`;
    if (seen.has(key)) repeated++;
    else seen.add(key);
  }
  return repeated;
}

export async function resume(ctx: BenchContext, opts: ResumeOptions): Promise<FigureResult> {
  ctx.log(`resume: ${opts.problems} problems, L=${opts.latencyS}s C=${opts.concurrency}, SIGKILL at ~50% of calls`);
  ctx.fake.tune({ latencyMs: opts.latencyS * 1000, jitterMs: 0, maxConcurrent: opts.concurrency, replyTokens: 0, reasoningTokens: 0, recordBodies: false });
  // n·K agent turns and a summarizer per problem; the judge's calls only make the run a little longer.
  const expectedCalls = opts.problems * (5 * 3 + 1);
  let kill: { stats: CallStats; at: number; restartSeconds: number } | undefined;
  const onTick = async (stats: CallStats, c: BenchContext): Promise<void> => {
    if (kill || stats.received < expectedCalls / 2) return;
    const snapshot = c.fake.stats();
    await c.workers.kill();
    // Both processes are gone: every request received until now was sent by them.
    kill = { stats: snapshot, at: Date.now(), restartSeconds: 0 };
    c.log(`  killed both workers at ${snapshot.received} calls, ${snapshot.inFlight} in flight at the teacher`);
    const t0 = performance.now();
    await c.workers.ensure(opts.concurrency);
    kill.restartSeconds = (performance.now() - t0) / 1000;
  };
  const { entries, ...run } = await runDebates(ctx, {
    figure: 'resume',
    problems: opts.problems,
    llmConcurrency: opts.concurrency,
    timeoutMs: opts.timeoutMs,
    keepStore: opts.keepStore,
    histories: false,
    onTick,
  });
  const repeated = repeatedCalls(entries);
  // Exact from the teacher's side: requests whose connection the kill dropped before their answer.
  const droppedByKill = kill ? entries.filter((e) => e.cancelled && e.at <= kill!.at).length : null;
  const inFlight = kill ? Math.max(kill.stats.inFlight, droppedByKill ?? 0) : null;
  const note = !kill ? 'the run ended before half its calls: nothing was killed' : run.error ? run.error : undefined;
  const rows: Row[] = [
    row('resume calls made again', kill && !run.error ? repeated : null, '', {
      reference: { name: 'calls in flight at the kill', value: inFlight },
      target: { on: 'ratio', op: '<=', bound: 1 },
      ...(note ? { note } : {}),
    }),
    row('resume calls in flight at the kill', inFlight, '', { reference: { name: 'calls before the kill', value: kill?.stats.received ?? null } }),
    row('resume calls in all', run.calls, '', { reference: { name: 'calls a run without a kill makes (≈)', value: expectedCalls } }),
    row('resume wall time', run.error ? null : run.wallSeconds, 's', { reference: { name: 'calls·L/C', value: (run.calls * opts.latencyS) / opts.concurrency } }),
  ];
  return {
    rows,
    details: { ...run, expectedCalls, kill: kill ? { ...kill.stats, restartSeconds: kill.restartSeconds, droppedByKill } : null, repeated },
  };
}
