import { ApplicationFailure } from '@temporalio/activity';
import type { ChatResult } from '../../core/chat';
import { storeFor } from '../artifacts';
import { ArtifactNotFound } from '../store/store';

/**
 * Teacher replies by key. A reply is content-addressed (its cache entry, ./cache.ts), so a copy kept
 * in memory can never be stale: the llm worker keeps its recent replies (up to 64 MB of text) and
 * the next round of the same debate, likely on the same worker, reads them without the store.
 */

const MAX_BYTES = Number(process.env.AGENTARK_REPLY_MEMORY_BYTES ?? 64 * 1024 * 1024);
const recent = new Map<string, { reply: ChatResult; bytes: number }>();
let held = 0;

const sizeOf = (r: ChatResult): number => r.choices.reduce((s, c) => s + 2 * (c.content.length + (c.reasoning?.length ?? 0)), 256);

export function rememberReply(store: string | undefined, key: string, reply: ChatResult): void {
  const id = `${store ?? ''}\n${key}`;
  if (recent.has(id)) return;
  const bytes = sizeOf(reply);
  if (bytes > MAX_BYTES / 4) return;
  recent.set(id, { reply: { ...reply, cached: false }, bytes });
  held += bytes;
  for (const [k, v] of recent) {
    if (held <= MAX_BYTES) break;
    recent.delete(k); // Map keeps insertion order: the oldest go first
    held -= v.bytes;
  }
}

/** A stored reply, from memory when this worker has it; undefined when the store has none. */
export async function findReply(store: string | undefined, key: string): Promise<ChatResult | undefined> {
  const hit = recent.get(`${store ?? ''}\n${key}`);
  if (hit) return hit.reply;
  try {
    const reply = (await storeFor(store).getJson(key)) as ChatResult;
    rememberReply(store, key, reply);
    return reply;
  } catch (err) {
    if (err instanceof ArtifactNotFound) return undefined;
    throw err;
  }
}

/** A stored reply; a missing one is a broken run (its key came from a finished call), not retried. */
export async function readReply(store: string | undefined, key: string): Promise<ChatResult> {
  const reply = await findReply(store, key);
  if (reply) return reply;
  throw ApplicationFailure.nonRetryable(`teacher reply ${storeFor(store).urlOf(key)} is missing from the store`, 'MissingTeacherReply');
}
