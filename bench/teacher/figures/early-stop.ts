import type { BenchContext } from '../context';
import { row, type Row } from '../report';
import { runDebates } from '../run-debates';
import type { FigureResult } from './figure';

/**
 * Early stop: the same problems with debate.earlyStop 'unanimous' and 'never'. On the scripted
 * dynamics a unanimous round never changes, so stopping there saves calls at equal consensus accuracy.
 */

export interface EarlyStopOptions {
  problems: number;
  llmConcurrency: number;
  timeoutMs: number;
  keepStore: boolean;
}

export async function earlyStop(ctx: BenchContext, opts: EarlyStopOptions): Promise<FigureResult> {
  ctx.log(`early stop: ${opts.problems} problems, unanimous vs never`);
  ctx.fake.tune({ latencyMs: 0, jitterMs: 0, maxConcurrent: null, replyTokens: 0, reasoningTokens: 0, recordBodies: false });
  const common = { problems: opts.problems, llmConcurrency: opts.llmConcurrency, timeoutMs: opts.timeoutMs, keepStore: opts.keepStore, histories: false };
  const { entries: _n, ...never } = await runDebates(ctx, { ...common, figure: 'early-never', earlyStop: 'never' });
  const { entries: _u, ...unanimous } = await runDebates(ctx, { ...common, figure: 'early-unanimous', earlyStop: 'unanimous' });
  const failed = [never.error, unanimous.error].filter(Boolean).join('; ');
  const saved = failed ? null : never.calls - unanimous.calls;
  const rows: Row[] = [
    row('early stop calls saved by unanimous', saved, '', { reference: { name: "calls with 'never'", value: never.calls }, ...(failed ? { note: failed } : {}) }),
    row("early stop consensus accuracy with 'unanimous'", unanimous.consensusAccuracy, '', {
      reference: { name: "accuracy with 'never'", value: never.consensusAccuracy },
      target: { on: 'ratio', op: '>=', bound: 1 },
    }),
    row("early stop calls with 'unanimous'", unanimous.calls, '', { reference: { name: "calls with 'never'", value: never.calls } }),
  ];
  return { rows, details: { never, unanimous } };
}
