import type { BenchContext } from '../context';
import { row, type Row } from '../report';
import { runDebates } from '../run-debates';
import type { FigureResult } from './figure';

/**
 * Orchestration capacity: with a teacher that answers at once and takes any number of calls, the
 * calls per second one main worker, one llm worker and the dev server sustain, and the CPU each
 * process spends on it. By Little's law the largest C that rate keeps saturated at L = 2 s is rate × 2 s.
 */

export interface CapacityOptions {
  problems: number;
  llmConcurrency: number;
  timeoutMs: number;
  keepStore: boolean;
}

export async function capacity(ctx: BenchContext, opts: CapacityOptions): Promise<FigureResult> {
  ctx.log(`capacity: ${opts.problems} problems at L≈0, llm concurrency ${opts.llmConcurrency}`);
  ctx.fake.tune({ latencyMs: 0, jitterMs: 0, maxConcurrent: null, replyTokens: 0, reasoningTokens: 0, recordBodies: false });
  const { entries: _entries, ...run } = await runDebates(ctx, {
    figure: 'capacity',
    problems: opts.problems,
    llmConcurrency: opts.llmConcurrency,
    timeoutMs: opts.timeoutMs,
    keepStore: opts.keepStore,
    histories: false,
  });
  const rate = run.error ? null : run.sustainedCallsPerSecond;
  const rows: Row[] = [
    row('capacity calls/s sustained (L≈0)', rate, 'calls/s', { reference: { name: '128 calls/s (C=256 at L=2 s)', value: 128 }, target: { on: 'value', op: '>=', bound: 128 }, ...(run.error ? { note: run.error } : {}) }),
    row('capacity calls/s over the whole run', run.error ? null : run.callsPerSecond, 'calls/s', { reference: { name: 'sustained', value: rate } }),
    row('capacity largest C kept saturated at L=2 s', rate === null ? null : rate * 2, '', { reference: { name: 'C=256', value: 256 } }),
  ];
  const total = Object.values(run.processes).reduce((s, p) => s + (p?.cores ?? 0), 0);
  for (const [name, p] of Object.entries(run.processes)) {
    rows.push(row(`capacity CPU of ${name}`, p ? p.cores : null, 'cores', { reference: { name: 'all processes', value: total }, note: p ? `${p.cpuSeconds.toFixed(1)} CPU s` : 'not measured' }));
  }
  return { rows, details: { ...run } };
}
