import { RunConfig } from '../../../core/config';
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

/** Whether the run config of the day accepts this reply budget for n = 5, K = 3. */
const accepts = (maxTokens: number): boolean =>
  RunConfig.safeParse({ runId: 'probe', dataset: { format: 'demo' }, debate: { agents: 5, rounds: 3 }, teacher: { maxTokens } }).success;

/** The largest accepted budget up to `wanted` (binary search; the check is monotone in maxTokens). */
function largestAccepted(wanted: number): number {
  if (accepts(wanted)) return wanted;
  let lo = 1;
  let hi = wanted;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (accepts(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}

export async function longReplies(ctx: BenchContext, opts: LongRepliesOptions): Promise<FigureResult> {
  // Room for the whole reply and its reasoning, so nothing is cut.
  const wanted = opts.replyTokens + opts.reasoningTokens + 512;
  const maxTokens = largestAccepted(wanted);
  const scale = maxTokens < wanted ? (maxTokens - 512) / (opts.replyTokens + opts.reasoningTokens) : 1;
  const replyTokens = Math.max(1, Math.floor(opts.replyTokens * scale));
  const reasoningTokens = Math.floor(opts.reasoningTokens * scale);
  const scaled = scale < 1 ? `the run config accepts at most maxTokens ${maxTokens} for n=5, K=3, so replies were ${replyTokens} + ${reasoningTokens} tokens` : undefined;
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
    const note = [run.error, scaled].filter(Boolean).join('; ') || undefined;
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
    return { rows, details: { ...run, replyTokens, reasoningTokens, maxTokens, scaledDown: scale < 1 } };
  } finally {
    ctx.fake.tune({ replyTokens: 0, reasoningTokens: 0 });
  }
}
