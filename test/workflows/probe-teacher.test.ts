import { randomUUID } from 'node:crypto';
import { WorkflowFailedError } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { connectClient } from '../../cli/client';
import { connect, createLlmWorker, createMainWorker } from '../../workers/create';
import { openStore } from '../../activities/store/store';
import type { probeTeacher } from '../../workflows';

/**
 * First end-to-end test on the real parts: Temporal dev server, the llm worker calling the local
 * SmolLM2 server, and the reply stored in SeaweedFS over the S3 API.
 */
describe('probeTeacher on real Temporal + SmolLM2 + S3', () => {
  const suffix = randomUUID().slice(0, 8);
  const taskQueue = `test-main-${suffix}`;
  const llmQueue = `test-llm-${suffix}`;
  let connection: NativeConnection;
  let workers: Worker[];
  let clientHandle: Awaited<ReturnType<typeof connectClient>>;

  beforeAll(async () => {
    connection = await connect();
    workers = [
      await createMainWorker({ connection, taskQueue }),
      await createLlmWorker({ connection, taskQueue: llmQueue, concurrency: 2 }),
    ];
    clientHandle = await connectClient();
  });
  afterAll(async () => {
    await clientHandle?.close();
    await connection?.close();
  });

  const runWorkers = <T>(fn: () => Promise<T>): Promise<T> =>
    workers[0].runUntil(() => workers[1].runUntil(fn));

  it('asks the teacher and stores the reply in S3', async () => {
    const runId = `probe-${suffix}`;
    const result = await runWorkers(() =>
      clientHandle.client.workflow.execute<typeof probeTeacher>('probeTeacher', {
        taskQueue,
        workflowId: `test-probe-${suffix}`,
        args: [{ runId, question: 'What is 2 + 3? Reply with one number.', maxTokens: 24, llmQueue }],
      }),
    );
    expect(result.key).toBe(`runs/${runId}/probe/reply.json`);
    expect(result.reply.trim().length).toBeGreaterThan(0);
    expect(result.completionTokens).toBeGreaterThan(0);

    const stored = (await openStore(process.env.AGENTARK_STORE!).getJson(result.key)) as {
      result: { choices: { content: string }[]; usage: { calls: number } };
    };
    expect(process.env.AGENTARK_STORE).toMatch(/^s3:\/\//);
    expect(stored.result.choices[0].content).toBe(result.reply);
    expect(stored.result.usage.calls).toBe(1);
  });

  it('fails at once, without retrying, on an invalid input from the Web UI', async () => {
    const err = await runWorkers(() =>
      clientHandle.client.workflow
        .execute<typeof probeTeacher>('probeTeacher', {
          taskQueue,
          workflowId: `test-probe-bad-${suffix}`,
          args: [{ runId: 'has spaces/and slashes', maxTokens: -1 } as never],
        })
        .catch((e: unknown) => e),
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const message = String((err as WorkflowFailedError).cause?.message);
    expect(message).toContain('probeTeacher: invalid input');
    expect(message).toContain('runId');
    expect(message).toContain('maxTokens');
  });
});
