import { ApplicationFailure, proxyActivities, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { z } from 'zod';
import type { LlmActivities } from '../activities/llm';
import type * as artifacts from '../activities/artifacts';
import { ChatRequest } from '../core/chat';
import { TeacherProfileName } from '../core/config';
import { LLM_QUEUE } from '../core/task-queues';
import { RUN_ID, STAGE } from '../core/search-attributes';
import { parseInput } from './parse-input';

export const ProbeTeacherInput = z.strictObject({
  runId: z.string().regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, ".", "_" and "-" only').default('probe'),
  question: z.string().min(1).default('What is 7 times 6? Answer with the number.'),
  /** A teacher profile of the llm worker, or a base URL it allows (see TeacherConfig). */
  profile: TeacherProfileName.optional(),
  baseUrl: z.string().url().optional(),
  model: z.string().optional(),
  maxTokens: z.number().int().positive().max(4096).default(64),
  /** Artifact store URL (s3://bucket/prefix or file:///dir); the worker's AGENTARK_STORE when absent. */
  store: z.string().optional(),
  /** Task queue of the llm workers to use (a deployment may run several teacher pools). */
  llmQueue: z.string().min(1).default(LLM_QUEUE),
});
export type ProbeTeacherInput = z.input<typeof ProbeTeacherInput>;

const llmActivities = (taskQueue: string) =>
  proxyActivities<LlmActivities>({
    taskQueue,
    startToCloseTimeout: '3 minutes',
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10 },
  });
const { putJsonArtifact } = proxyActivities<typeof artifacts>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 5 },
});

/**
 * The smallest end-to-end job: one question to the teacher (llm queue), the reply stored in the
 * artifact store under runs/<runId>/probe/reply.json. Checks that Temporal, the teacher and the
 * store are wired together before a long run is started.
 */
export async function probeTeacher(rawInput: ProbeTeacherInput): Promise<{ key: string; reply: string; completionTokens: number }> {
  const input = parseInput(ProbeTeacherInput, rawInput, 'probeTeacher');
  upsertSearchAttributes([{ key: RUN_ID, value: input.runId }, { key: STAGE, value: 'probe' }]);
  const request: ChatRequest = {
    ...(input.profile ? { profile: input.profile } : {}),
    ...(input.baseUrl ? { baseUrl: input.baseUrl } : {}),
    ...(input.model ? { model: input.model } : {}),
    messages: [{ role: 'user', content: input.question }],
    sampling: { temperature: 0, maxTokens: input.maxTokens, seed: 0 },
    // A probe checks the live teacher: never answer it from the cache.
    cache: false,
  };
  const result = await llmActivities(input.llmQueue).chatCompletion(request);
  const reply = result.choices[0]?.content ?? '';
  if (result.choices[0]?.finishReason === 'empty') {
    throw ApplicationFailure.nonRetryable(`the teacher (${result.model}) returned an empty reply`, 'EmptyTeacherReply');
  }
  const key = `runs/${input.runId}/probe/reply.json`;
  await putJsonArtifact({
    ...(input.store ? { store: input.store } : {}),
    key,
    value: { workflowId: workflowInfo().workflowId, request, result },
  });
  return { key, reply, completionTokens: result.usage.completionTokens };
}
