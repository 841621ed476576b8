import { storeFor } from './artifacts';
import { hasManifest } from './store/manifest';

/** Where a pipeline run keeps the input it was started with: what `agentark resume <runId>` starts again. */
export const pipelineInputKey = (runId: string): string => `runs/${runId}/pipeline.json`;

export async function recordPipeline(input: { runId: string; input: unknown; store?: string }): Promise<void> {
  await storeFor(input.store).putJson(pipelineInputKey(input.runId), input.input);
}

/** Whether a stage's manifest exists (written last: the stage finished). */
export async function stageFinished(input: { stage: string; store?: string }): Promise<boolean> {
  return hasManifest(storeFor(input.store), input.stage);
}
