import { WorkflowFailedError } from '@temporalio/client';
import { openStore } from '../../activities/store/store';
import type { probeTeacher } from '../../workflows';
import { startHarness, uniqueRunId, type Harness } from './harness';

/**
 * First end-to-end test on the real parts: Temporal dev server, the llm worker calling the local
 * SmolLM2 server, and the reply stored in SeaweedFS over the S3 API.
 */
describe('probeTeacher on real Temporal + SmolLM2 + S3', () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await startHarness({ llmConcurrency: 2 });
  });
  afterAll(async () => harness?.close());

  it('asks the teacher and stores the reply in S3', async () => {
    const runId = uniqueRunId('probe');
    const result = await harness.client.workflow.execute<typeof probeTeacher>('probeTeacher', {
      taskQueue: harness.taskQueue,
      workflowId: `test-${runId}`,
      args: [{ runId, question: 'What is 2 + 3? Reply with one number.', maxTokens: 24, llmQueue: harness.llmQueue, store: harness.store }],
    });
    expect(result.key).toBe(`runs/${runId}/probe/reply.json`);
    expect(result.reply.trim().length).toBeGreaterThan(0);
    expect(result.completionTokens).toBeGreaterThan(0);

    expect(harness.store).toMatch(/^s3:\/\//);
    const stored = (await openStore(harness.store).getJson(result.key)) as {
      result: { choices: { content: string }[]; usage: { calls: number } };
    };
    expect(stored.result.choices[0].content).toBe(result.reply);
    expect(stored.result.usage.calls).toBe(1);
  });

  it('fails at once, without retrying, on an invalid input from the Web UI', async () => {
    const err = await harness.client.workflow
      .execute<typeof probeTeacher>('probeTeacher', {
        taskQueue: harness.taskQueue,
        workflowId: `test-${uniqueRunId('probe-bad')}`,
        args: [{ runId: 'has spaces/and slashes', maxTokens: -1 } as never],
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const message = String((err as WorkflowFailedError).cause?.message);
    expect(message).toContain('probeTeacher: invalid input');
    expect(message).toContain('runId');
    expect(message).toContain('maxTokens');
  });
});
