import { ApplicationFailure } from '@temporalio/activity';
import { DebateRecord, debateKey } from '../../core/debate-record';
import { storeFor } from '../artifacts';

/** Store one problem's full debate record, once: its existence marks the problem done for a resumed run. */
export async function writeDebate(input: { record: DebateRecord; store?: string }): Promise<{ key: string }> {
  const parsed = DebateRecord.safeParse(input.record);
  if (!parsed.success) {
    throw ApplicationFailure.nonRetryable(`debate record of problem ${input.record?.problem?.id}: ${parsed.error.message}`, 'InvalidDebateRecord');
  }
  const key = debateKey(parsed.data.runId, parsed.data.problem.id);
  await storeFor(input.store).putJson(key, parsed.data);
  return { key };
}
