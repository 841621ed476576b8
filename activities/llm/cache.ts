import { createHash } from 'node:crypto';
import type { ChatMessage, ChatResult, SamplingParams } from '../../core/chat';
import { findReply } from './replies';
import { storeFor } from '../artifacts';

/**
 * Replies cached in the artifact store by a hash of everything that determines them, within a
 * namespace: the endpoint's host unless the run names one (teacher.cacheNamespace), so two servers
 * serving different weights under the same model name never share replies.
 */
export function cacheKey(namespace: string, model: string, messages: ChatMessage[], sampling: SamplingParams): string {
  const canonical = JSON.stringify({ namespace, model, messages: messages.map((m) => [m.role, m.content]), sampling: sortKeys(sampling) });
  return `cache/llm/${createHash('sha256').update(canonical).digest('hex')}.json`;
}

function sortKeys(o: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined).sort(([a], [b]) => a.localeCompare(b)));
}

/**
 * A cached reply costs nothing, unless this very call (same tag: run, problem, role) paid for it in
 * an attempt that failed before reporting it: then its usage is reported now, so a run's counts are
 * what it paid, once.
 */
export async function readCached(store: string | undefined, key: string, tag: string | undefined): Promise<ChatResult | undefined> {
  const hit = (await findReply(store, key)) as (ChatResult & { paidBy?: string }) | undefined;
  if (!hit) return undefined;
  const { paidBy, ...reply } = hit;
  const ours = tag !== undefined && paidBy === tag;
  return { ...reply, usage: ours ? reply.usage : { promptTokens: 0, completionTokens: 0, calls: 0 }, cached: true };
}

/**
 * The reply is already paid for: a failed cache write must not fail the activity (its retry would
 * call the teacher again), so it is retried briefly and then only logged.
 */
export async function writeCached(store: string | undefined, key: string, result: ChatResult, tag: string | undefined): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await storeFor(store).putJson(key, { ...result, cached: false, ...(tag ? { paidBy: tag } : {}) });
      return;
    } catch (err) {
      if (attempt >= 3) {
        console.warn(`agentark: could not cache the teacher reply at ${key}: ${(err as Error).message}`);
        return;
      }
      await new Promise((r) => setTimeout(r, 200 * attempt));
    }
  }
}
