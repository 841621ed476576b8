import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from '@temporalio/worker';
import { defaultPayloadConverter } from '@temporalio/common';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { pipelineWorkflowId } from '../../core/pipeline';

/**
 * Determinism check: histories recorded from real runs (generateDebates and debateProblem; from r4 also
 * distillPipeline, trainStudent and evaluateStudent) by this and every earlier release must replay with
 * the current workflow code. A change that would break runs in flight fails here. Files are named
 * <workflow>.<release>[-n].json; after a versioned change, record the new release's histories beside the
 * old ones (never over them):
 *   AGENTARK_RECORD_HISTORIES=<release> npx jest test/workflows/generate-debates.fake-teacher.test.ts -t "debates every problem"
 *   AGENTARK_RECORD_HISTORIES=<release> npx jest test/workflows/distill-pipeline.fake-teacher.test.ts -t "every stage"
 *   AGENTARK_RECORD_HISTORIES=<release> npx jest test/workflows/run-integrity.fake-teacher.test.ts
 */
const dir = path.join(__dirname, 'histories');
const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort();

describe('recorded workflow histories replay with the current code', () => {
  it.each(['generateDebates', 'debateProblem', 'distillPipeline', 'trainStudent', 'evaluateStudent'])('has histories of %s', (workflow) => {
    expect(files.some((f) => f.startsWith(`${workflow}.`))).toBe(true);
  });

  it.each(files)('%s', async (file) => {
    const history = historyFromJSON(JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')));
    await Worker.runReplayHistory({ workflowsPath: require.resolve('../../workflows') }, history, workflowIdOf(file, history));
  });
});

/**
 * The id the recorded execution ran under. A history does not hold it, and distillPipeline refuses an id
 * that is not derived from its run id, so that one is derived again from the recorded input.
 */
function workflowIdOf(file: string, history: ReturnType<typeof historyFromJSON>): string {
  if (!file.startsWith('distillPipeline.')) return file;
  const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  if (!payload) throw new Error(`${file}: its first event holds no workflow input`);
  return pipelineWorkflowId(defaultPayloadConverter.fromPayload<{ runId: string }>(payload).runId);
}
