import { runBarePool } from '../bare-pool';
import type { BenchContext } from '../context';
import { row, type Row } from '../report';
import { runDebates, type RunMeasure } from '../run-debates';
import type { FigureResult } from './figure';

/**
 * Teacher saturation: for each latency L and concurrency cap C, the wall time of (a) generateDebates
 * with llm concurrency C against a teacher that serves C calls at once, (b) the same calls sent by a
 * bare in-process pool of C with no durability, and (c) the physical limit calls·L/C.
 */

export interface SaturationOptions {
  problems: number;
  latenciesS: number[];
  concurrencies: number[];
  timeoutMs: number;
  keepStore: boolean;
}

interface Point {
  latencyS: number;
  concurrency: number;
  calls: number;
  generateSeconds: number;
  barePoolSeconds: number;
  physicalLimitSeconds: number;
  run: Omit<RunMeasure, 'entries'>;
  barePoolFailed: number;
}

/** Targets of the issue: (a)/(c) ≤ 1.05 at L = 2 s, C = 256 and ≤ 1.10 at L = 0.5 s, C = 64. */
const targetOf = (latencyS: number, concurrency: number): number | undefined =>
  latencyS === 2 && concurrency === 256 ? 1.05 : latencyS === 0.5 && concurrency === 64 ? 1.1 : undefined;

export async function saturation(ctx: BenchContext, opts: SaturationOptions): Promise<FigureResult> {
  const points: Point[] = [];
  const rows: Row[] = [];
  // Concurrency outermost: the llm worker restarts only when C changes.
  for (const concurrency of opts.concurrencies) {
    for (const latencyS of opts.latenciesS) {
      const tag = `L=${latencyS}s C=${concurrency}`;
      ctx.log(`saturation ${tag}: ${opts.problems} problems`);
      ctx.fake.tune({ latencyMs: latencyS * 1000, jitterMs: 0, maxConcurrent: concurrency, replyTokens: 0, reasoningTokens: 0, recordBodies: true });
      const { entries, ...run } = await runDebates(ctx, {
        figure: `sat-l${latencyS}-c${concurrency}`.replace('.', '_'),
        problems: opts.problems,
        llmConcurrency: concurrency,
        histories: false,
        timeoutMs: opts.timeoutMs,
        keepStore: opts.keepStore,
      });
      const bodies = entries.map((e) => e.body).filter((b): b is string => b !== undefined);
      ctx.fake.tune({ recordBodies: false });
      ctx.fake.resetLog();
      const pool = await runBarePool({ baseUrl: ctx.fake.url, bodies, concurrency });
      ctx.log(`  bare pool: ${pool.calls} calls in ${pool.wallSeconds.toFixed(1)} s`);
      const physical = (run.calls * latencyS) / concurrency;
      points.push({
        latencyS,
        concurrency,
        calls: run.calls,
        generateSeconds: run.wallSeconds,
        barePoolSeconds: pool.wallSeconds,
        physicalLimitSeconds: physical,
        run,
        barePoolFailed: pool.failed,
      });
      const bound = targetOf(latencyS, concurrency);
      const note = run.error ? `run failed: ${run.error}` : undefined;
      rows.push(
        row(`saturation ${tag} (a) generateDebates`, run.error ? null : run.wallSeconds, 's', { reference: { name: '(c) calls·L/C', value: physical }, ...(bound ? { target: { on: 'ratio', op: '<=', bound } } : {}), ...(note ? { note } : {}) }),
        row(`saturation ${tag} (a) vs bare pool`, run.error ? null : run.wallSeconds, 's', { reference: { name: '(b) bare pool', value: pool.wallSeconds } }),
        row(`saturation ${tag} (b) bare pool`, pool.wallSeconds, 's', { reference: { name: '(c) calls·L/C', value: physical } }),
        row(`saturation ${tag} calls`, run.calls, '', { reference: { name: 'problems', value: opts.problems } }),
      );
    }
  }
  return { rows, details: { problems: opts.problems, points } };
}
