import { ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import type { probeTeacher } from '../../workflows';
import { debateWorkflowId, generateWorkflowId } from '../../core/ids';
import { progressQuery } from '../../workflows/signals';
import { startRecordingServer, type RecordingServer } from '../fixtures/recording-teacher';
import { startHarness, uniqueRunId, type Harness } from './harness';

/**
 * What a user who starts a run from the Web UI sees when the run names a teacher URL the llm worker
 * was not configured for: the run is refused, and a header-logging server at that URL gets nothing
 * (so the worker's OPENAI_API_KEY cannot be collected that way). Real Temporal dev server and workers.
 */
/** The activity's own failure under a workflow's failure (WorkflowFailedError → ActivityFailure → ApplicationFailure). */
function activityCause(err: unknown): ApplicationFailure {
  expect(err).toBeInstanceOf(WorkflowFailedError);
  let cause: unknown = (err as WorkflowFailedError).cause;
  while (cause instanceof Error && !(cause instanceof ApplicationFailure)) cause = cause.cause;
  if (!(cause instanceof ApplicationFailure)) throw new Error(`no ApplicationFailure under ${String(err)}`);
  return cause;
}

describe('a teacher URL off the llm worker allowlist (real Temporal, header-logging server)', () => {
  let harness: Harness;
  let stranger: RecordingServer;
  beforeAll(async () => {
    stranger = await startRecordingServer('stranger-model');
    harness = await startHarness({ llmConcurrency: 4 });
  });
  afterAll(async () => {
    await harness?.close();
    await stranger?.close();
  });

  it('fails the probe at once and sends nothing to the URL', async () => {
    const runId = uniqueRunId('probe-off-list');
    const err = await harness.client.workflow
      .execute<typeof probeTeacher>('probeTeacher', {
        taskQueue: harness.taskQueue,
        workflowId: `test-${runId}`,
        args: [{ runId, baseUrl: stranger.url, llmQueue: harness.llmQueue, store: harness.store }],
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = activityCause(err);
    expect(cause.type).toBe('TeacherEndpointNotAllowed');
    expect(cause.message).toContain(`teacher endpoint ${stranger.url} is not allowed`);
    expect(stranger.seen).toEqual([]);
  });

  it('fails every debate of a run without a single request to the URL', async () => {
    const runId = uniqueRunId('off-list');
    const err = await harness
      .generate({
        runId,
        dataset: { format: 'demo', demo: { seed: 1, count: 3 } },
        teacher: { baseUrl: stranger.url, maxTokens: 64 },
        debate: { agents: 2, rounds: 1 },
        judge: { enabled: false, k: 1 },
      })
      .catch((e: unknown) => e);
    // No debate succeeded, so the run has nothing to build datasets from and fails.
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const progress = await harness.client.workflow.getHandle(generateWorkflowId(runId)).query(progressQuery);
    expect(progress.failed).toBe(3);
    // Each debate failed on its first call, refused by the worker: the child's failure says why.
    const child = await harness.client.workflow.getHandle(debateWorkflowId(runId, progress.failures[0].problemId)).result().catch((e: unknown) => e);
    expect(activityCause(child).type).toBe('TeacherEndpointNotAllowed');
    expect(stranger.seen).toEqual([]);
  });
});
