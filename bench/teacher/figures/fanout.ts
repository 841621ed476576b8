import type { BenchContext } from '../context';
import { row, type Row } from '../report';
import { runDebates } from '../run-debates';
import type { FigureResult } from './figure';

/**
 * Fan-out: many problems at L≈0. Problems per second, each worker's peak memory, and the largest
 * history of any execution (events and bytes, as the server accounts them), which must stay far
 * below Temporal's limits however many problems a run has.
 */

export interface FanoutOptions {
  problems: number;
  llmConcurrency: number;
  timeoutMs: number;
  keepStore: boolean;
  /** Problems per second of the (smaller) capacity run of the same bench, when it ran: does the rate hold at scale? */
  smallRunProblemsPerSecond?: number;
}

const GiB = 1024 ** 3;
const MB10 = 10 * 1024 * 1024;

export async function fanout(ctx: BenchContext, opts: FanoutOptions): Promise<FigureResult> {
  ctx.log(`fan-out: ${opts.problems} problems at L≈0`);
  ctx.fake.tune({ latencyMs: 0, jitterMs: 0, maxConcurrent: null, replyTokens: 0, reasoningTokens: 0, recordBodies: false });
  const { entries: _entries, ...run } = await runDebates(ctx, {
    figure: 'fanout',
    problems: opts.problems,
    llmConcurrency: opts.llmConcurrency,
    timeoutMs: opts.timeoutMs,
    keepStore: opts.keepStore,
    historiesReadAtMost: 200,
  });
  const h = run.histories;
  const note = run.error ? run.error : undefined;
  const rows: Row[] = [
    row(`fan-out problems/s (${opts.problems} problems)`, run.error ? null : opts.problems / run.wallSeconds, 'problems/s', {
      reference: opts.smallRunProblemsPerSecond !== undefined
        ? { name: 'problems/s of the capacity run', value: opts.smallRunProblemsPerSecond }
        : { name: 'sustained calls/s ÷ calls per problem', value: run.calls ? run.sustainedCallsPerSecond / (run.calls / opts.problems) : null },
      ...(note ? { note } : {}),
    }),
    row('fan-out peak RSS of the main worker', run.processes.main?.peakRssBytes ?? null, 'bytes', { reference: { name: '1 GiB', value: GiB }, target: { on: 'value', op: '<', bound: GiB } }),
    row('fan-out peak RSS of the llm worker', run.processes.llm?.peakRssBytes ?? null, 'bytes', { reference: { name: '1 GiB', value: GiB }, target: { on: 'value', op: '<', bound: GiB } }),
    row('fan-out largest history (events)', h?.largestEvents.events ?? null, '', { reference: { name: '10,240 events', value: 10_240 }, target: { on: 'value', op: '<', bound: 10_240 }, ...(h ? { note: h.largestEvents.type } : {}) }),
    row('fan-out largest history (bytes)', h?.largestBytes.bytes ?? null, 'bytes', { reference: { name: '10 MB', value: MB10 }, target: { on: 'value', op: '<', bound: MB10 }, ...(h ? { note: h.largestBytes.type } : {}) }),
    row('fan-out largest payload', h?.largestPayload.bytes ?? null, 'bytes', { reference: { name: '256 KB', value: 256 * 1024 }, target: { on: 'value', op: '<=', bound: 256 * 1024 } }),
  ];
  return { rows, details: { ...run } };
}
