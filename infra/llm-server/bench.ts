/**
 * Throughput of the local teacher, measured side by side in one run:
 *   tsx infra/llm-server/bench.ts [--parallel 4] [--tokens 64] [--threads N]
 * Prints model load time, completion tokens/s for one request alone and for `parallel` at once,
 * and the server's peak RSS; one JSON line on stdout, details on stderr.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

import OpenAI from 'openai';

import { spawnLlmServer } from './spawn';

const PROMPTS = ['Explain why the sky is blue.', 'Describe how a bicycle works.', 'Write a short story about a fox.',
  'List some facts about the moon.', 'Explain photosynthesis.', 'Describe the water cycle.', 'Tell me about volcanoes.', 'Explain gravity.'];

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { parallel: { type: 'string' }, tokens: { type: 'string' }, threads: { type: 'string' } } });
  const parallel = Number(values.parallel ?? 4);
  const tokens = Number(values.tokens ?? 64);
  const server = await spawnLlmServer({ parallel, contextSize: 1024, threads: values.threads ? Number(values.threads) : undefined });
  try {
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    // min_tokens is not in the API, so a long-form prompt plus a fixed seed keeps answers near max_tokens.
    const one = (i: number) => client.chat.completions.create({
      model: server.ready.model, messages: [{ role: 'user', content: PROMPTS[i % PROMPTS.length] }],
      max_tokens: tokens, temperature: 0.7, seed: i,
    });
    await one(0); // warm-up: first evaluation pays for lazy allocations
    let started = performance.now();
    let generated = 0;
    for (let i = 0; i < parallel; i++) generated += (await one(i)).usage!.completion_tokens;
    const singleTps = generated / ((performance.now() - started) / 1000);
    started = performance.now();
    const results = await Promise.all(Array.from({ length: parallel }, (_, i) => one(i)));
    const parallelTokens = results.reduce((sum, r) => sum + r.usage!.completion_tokens, 0);
    const parallelTps = parallelTokens / ((performance.now() - started) / 1000);
    const peakRssMiB = peakRss(server.pid);
    const report = {
      loadMs: server.ready.loadMs,
      threads: server.ready.threads,
      parallel,
      maxTokens: tokens,
      singleTokensPerSecond: round(singleTps),
      parallelTokensPerSecond: round(parallelTps),
      speedup: round(parallelTps / singleTps),
      peakRssMiB,
    };
    process.stdout.write(`${JSON.stringify(report)}\n`);
  } finally {
    await server.close();
  }
}

/** VmHWM is the kernel's high-water mark of resident memory for the server process (Linux only). */
function peakRss(pid: number): number | null {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Math.round(Number(match[1]) / 1024) : null;
  } catch {
    return null;
  }
}

const round = (x: number): number => Math.round(x * 100) / 100;

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
