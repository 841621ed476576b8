import { ApplicationFailure } from '@temporalio/workflow';
import type { z } from 'zod';

/**
 * Validate a workflow's single JSON input (the Web UI sends whatever the user typed). A bad input
 * fails the workflow at once with a readable, non-retryable error instead of retrying a task forever.
 */
export function parseInput<S extends z.ZodType>(schema: S, raw: unknown, workflow: string): z.output<S> {
  const result = schema.safeParse(raw ?? {});
  if (result.success) return result.data;
  const problems = result.error.issues
    .map((i) => `${i.path.length ? i.path.join('.') : '(input)'}: ${i.message}`)
    .join('; ');
  throw ApplicationFailure.nonRetryable(`${workflow}: invalid input: ${problems}`, 'InvalidWorkflowInput');
}
