import { Context } from '@temporalio/activity';
import { debateKey, debateWorkflowId } from '../../core/ids';
import { storeFor } from '../artifacts';

/**
 * For problems generateDebates still counts as in flight: which have closed without telling it?
 * A closed child whose debate is stored is done; one without a stored debate failed (a re-run with
 * the same run id retries it). Running children are left alone.
 */
export async function settleInFlight(input: { runId: string; problemIds: string[]; store?: string }): Promise<{ done: string[]; failed: { problemId: string; error: string }[] }> {
  const store = storeFor(input.store);
  const client = Context.current().client;
  const done: string[] = [];
  const failed: { problemId: string; error: string }[] = [];
  await Promise.all(
    input.problemIds.map(async (problemId) => {
      let status: string;
      try {
        status = (await client.workflow.getHandle(debateWorkflowId(input.runId, problemId)).describe()).status.name;
      } catch (err) {
        if ((err as Error).name !== 'WorkflowNotFoundError') throw err;
        status = 'NOT_FOUND';
      }
      if (status === 'RUNNING') return;
      if (await store.exists(debateKey(input.runId, problemId))) done.push(problemId);
      else failed.push({ problemId, error: `debate workflow ended as ${status} without storing its debate` });
    }),
  );
  return { done, failed };
}
