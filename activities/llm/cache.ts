import { createHash } from 'node:crypto';
import type { ChatMessage, ChatResult, SamplingParams } from '../../core/chat';
import { ArtifactNotFound, openStore } from '../store/store';
import { resolveStoreUrl } from '../artifacts';

/**
 * Replies cached in the artifact store by a hash of everything that determines them. The teacher's
 * address is not part of the key on purpose: the same model behind another URL gives the same answer.
 */
export function cacheKey(model: string, messages: ChatMessage[], sampling: SamplingParams): string {
  const canonical = JSON.stringify({ model, messages: messages.map((m) => [m.role, m.content]), sampling: sortKeys(sampling) });
  return `cache/llm/${createHash('sha256').update(canonical).digest('hex')}.json`;
}

function sortKeys(o: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined).sort(([a], [b]) => a.localeCompare(b)));
}

export async function readCached(store: string | undefined, key: string): Promise<ChatResult | undefined> {
  try {
    const hit = (await openStore(resolveStoreUrl(store)).getJson(key)) as ChatResult;
    return { ...hit, usage: { promptTokens: 0, completionTokens: 0, calls: 0 }, cached: true };
  } catch (err) {
    if (err instanceof ArtifactNotFound) return undefined;
    throw err;
  }
}

export async function writeCached(store: string | undefined, key: string, result: ChatResult): Promise<void> {
  await openStore(resolveStoreUrl(store)).putJson(key, { ...result, cached: false });
}
