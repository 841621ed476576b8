import { startFakeLlmServer, type FakeLlmServer } from '../fixtures/fake-llm';
import { allowTeacherUrl, gsm8kProblems, gsm8kTest, haveGsm8k, startHarness, uniqueRunId, type Harness } from './harness';
import { generateWorkflowId } from '../../workflows/generate-debates';
import { problemDone } from '../../workflows/signals';

/** Anyone may signal a run (the Web UI, say): a malformed problemDone is dropped, never fails the run (scripted fake teacher). */
const describeIfData = haveGsm8k ? describe : describe.skip;

describeIfData('generateDebates and malformed signals (scripted fake teacher)', () => {
  let harness: Harness;
  let fake: FakeLlmServer;
  beforeAll(async () => {
    const problems = await gsm8kProblems(3);
    fake = await startFakeLlmServer({ problems: new Map(problems.map((p) => [p.id, { gold: p.gold }])), errorRates: [0.2, 0.4, 0.6], seed: 2, latencyMs: 300 });
    allowTeacherUrl(fake.url);
    harness = await startHarness();
  });
  afterAll(async () => {
    await harness?.close();
    await fake?.close();
  });

  it('drops a malformed problemDone with a warning and finishes every problem', async () => {
    const runId = uniqueRunId('bad-signal');
    const run = harness.generate({
      runId,
      dataset: { format: 'gsm8k', url: gsm8kTest, limit: 3 },
      teacher: { baseUrl: fake.url, maxTokens: 128 },
      debate: { agents: 3, rounds: 2 },
      judge: { enabled: false, k: 3 },
    });
    const handle = harness.client.workflow.getHandle(generateWorkflowId(runId));
    while (fake.log.length === 0) await new Promise((r) => setTimeout(r, 50));
    // Wrong types, missing fields, not an object at all: each would throw inside the handler if it were counted.
    for (const bad of [{ problemId: 7 }, 'garbage', null, { problemId: 'gsm8k-0', ok: true, usage: { calls: -1 } }]) {
      await handle.signal(problemDone, bad as never);
    }
    const result = await run;
    expect(result.done).toBe(3);
    expect(result.failed).toBe(0);
    const history = await handle.fetchHistory();
    expect(history.events!.some((e) => e.workflowTaskFailedEventAttributes)).toBe(false);
  }, 120_000);
});
