import { readRunDatasets, startHarness, uniqueRunId, type Harness } from './harness';
import { openStore } from '../../activities/store/store';
import { DebateRecord } from '../../core/debate-record';

/**
 * End to end on the real parts only: Temporal dev server, S3 (SeaweedFS) and the local teacher
 * (SmolLM2-135M-Instruct through llama.cpp). A 135M model debates badly; what matters here is that
 * the whole pipeline runs on a real model and writes valid files.
 */
describe('generateDebates with the real local SmolLM2 teacher (5 problems, n=3, K=2)', () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await startHarness({ llmConcurrency: 4 });
  });
  afterAll(async () => harness?.close());

  it('writes all five dataset files, each valid', async () => {
    const runId = uniqueRunId('smollm2');
    const t0 = Date.now();
    const result = await harness.generate({
      runId,
      dataset: { format: 'demo', demo: { seed: 3, count: 5 } },
      teacher: { maxTokens: 64 },
      debate: { agents: 3, rounds: 2 },
      judge: { enabled: true, k: 2 },
      window: 5,
    });
    expect(result.done).toBe(5);
    expect(result.failed).toBe(0);
    expect(result.calls).toBeGreaterThanOrEqual(5 * (3 * 2 + 1));

    const files = await readRunDatasets(harness.store, runId); // every line parsed with its schema
    expect(files.grpo).toHaveLength(5);
    expect(files.prm.length).toBeGreaterThan(0);
    expect(files.stats.problems).toBe(5);
    expect(files.stats.rounds.map((r) => r.turns)).toEqual([15, 15]);
    expect(files.stats.usage.completionTokens).toBeGreaterThan(0);
    for (const p of files.grpo) {
      const record = DebateRecord.parse(await openStore(harness.store).getJson(`runs/${runId}/debates/${p.id}.json`));
      expect(record.rounds[0].turns.every((t) => t.model.length > 0)).toBe(true);
      expect(record.rounds[1].turns.some((t) => t.content.trim().length > 0)).toBe(true);
    }
    console.log(`SmolLM2 run: ${Date.now() - t0} ms, ${result.calls} calls, ${result.completionTokens} completion tokens, ` +
      `consensus accuracy ${files.stats.consensus.accuracy}, files: rsft ${files.rsft.length}, da ${files.da.length}, prm ${files.prm.length}, grpo ${files.grpo.length}`);
  }, 600_000);
});
