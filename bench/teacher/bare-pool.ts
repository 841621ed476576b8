import OpenAI from 'openai';
import type { ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions';

/**
 * The reference without durability: the very requests a run sent (bodies as the teacher received
 * them), sent again straight from this process with the openai SDK, `concurrency` at a time. What
 * it takes over calls·L/C is the teacher's and the client's own overhead, not orchestration's.
 */

export interface BarePoolResult {
  calls: number;
  wallSeconds: number;
  failed: number;
}

export async function runBarePool(opts: { baseUrl: string; bodies: string[]; concurrency: number }): Promise<BarePoolResult> {
  const client = new OpenAI({ baseURL: opts.baseUrl, apiKey: 'fake', maxRetries: 0, timeout: 600_000 });
  const queue = opts.bodies.map((b) => JSON.parse(b) as ChatCompletionCreateParamsNonStreaming);
  let next = 0;
  let failed = 0;
  const lane = async (): Promise<void> => {
    while (next < queue.length) {
      const body = queue[next++];
      try {
        await client.chat.completions.create({ ...body, stream: false });
      } catch {
        failed++;
      }
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: Math.min(opts.concurrency, queue.length) }, lane));
  return { calls: queue.length, wallSeconds: (performance.now() - t0) / 1000, failed };
}
