import type { BenchContext } from '../context';
import { row, type Row } from '../report';
import { runDebates } from '../run-debates';
import type { FigureResult } from './figure';

/**
 * Long replies: the same debates with 16k-token replies plus reasoning. What matters is that no
 * reply weighs on workflow history: the largest payload and the largest history of any execution.
 */

export interface LongRepliesOptions {
  problems: number;
  replyTokens: number;
  reasoningTokens: number;
  llmConcurrency: number;
  timeoutMs: number;
  keepStore: boolean;
}

const MB10 = 10 * 1024 * 1024;

export async function longReplies(ctx: BenchContext, opts: LongRepliesOptions): Promise<FigureResult> {
  // Room for the whole reply and its reasoning, so nothing is cut.
  const { replyTokens, reasoningTokens } = opts;
  const maxTokens = replyTokens + reasoningTokens + 512;
  ctx.log(`long replies: ${opts.problems} problems, ${replyTokens}-token replies + ${reasoningTokens} reasoning tokens, maxTokens ${maxTokens}`);
  ctx.fake.tune({ latencyMs: 0, jitterMs: 0, maxConcurrent: null, replyTokens, reasoningTokens, recordBodies: false });
  try {
    const { entries: _entries, ...run } = await runDebates(ctx, {
      figure: 'long',
      problems: opts.problems,
      llmConcurrency: opts.llmConcurrency,
      maxTokens,
      timeoutMs: opts.timeoutMs,
      keepStore: opts.keepStore,
    });
    const h = run.histories;
    const note = run.error || undefined;
    const rows: Row[] = [
      row('long replies largest payload', h?.largestPayload.bytes ?? null, 'bytes', {
        reference: { name: '256 KB', value: 256 * 1024 },
        target: { on: 'value', op: '<=', bound: 256 * 1024 },
        ...(note ? { note } : {}),
      }),
      row('long replies largest history (events)', h?.largestEvents.events ?? null, '', { reference: { name: '10,240 events', value: 10_240 }, target: { on: 'value', op: '<', bound: 10_240 } }),
      row('long replies largest history (bytes)', h?.largestBytes.bytes ?? null, 'bytes', { reference: { name: '10 MB', value: MB10 }, target: { on: 'value', op: '<', bound: MB10 } }),
      row('long replies completion tokens per call (as the run counted them)', typeof run.result?.completionTokens === 'number' && run.calls > 0 ? run.result.completionTokens / run.calls : null, '', {
        reference: { name: 'reply + reasoning tokens', value: replyTokens + reasoningTokens },
      }),
    ];
    return { rows, details: { ...run, replyTokens, reasoningTokens, maxTokens } };
  } finally {
    ctx.fake.tune({ replyTokens: 0, reasoningTokens: 0 });
  }
}
