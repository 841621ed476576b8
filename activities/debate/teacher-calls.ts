import { ApplicationFailure } from '@temporalio/activity';
import type { z } from 'zod';
import { addUsage, noUsage, type ChatMessage, type TokenUsage } from '../../core/chat';
import type { TeacherConfig } from '../../core/config';
import { ContextTooSmall } from '../../core/context-fit';
import { callTeacher, reportedContextWindow, type TeacherCall, type TeacherContext } from '../llm/teacher';

/** What debateRound and finishDebate share: the teacher a run names, its context budget, and how several calls end. */

type Teacher = z.infer<typeof TeacherConfig>;

export interface Asker {
  ask(role: string, messages: ChatMessage[], sampling: { temperature: number; maxTokens: number; seed: number; json?: boolean }, model?: string): Promise<TeacherCall>;
  /** Prompt tokens a call to `model` may use: the context less maxTokens; undefined when the context is unknown. */
  budget(model: string | undefined, maxTokens: number): Promise<number | undefined>;
  usage(): TokenUsage;
}

/** Calls of one activity to the run's teacher, each cached on its own and counted. */
export function asker(input: { runId: string; problemId: string; teacher: Teacher; store?: string }, ctx: TeacherContext): Asker {
  const { teacher } = input;
  const target = { ...(teacher.profile ? { profile: teacher.profile } : {}), ...(teacher.baseUrl ? { baseUrl: teacher.baseUrl } : {}) };
  let usage = noUsage;
  return {
    async ask(role, messages, sampling, model) {
      const call = await callTeacher(
        {
          ...target,
          ...(model ? { model } : {}),
          messages,
          sampling: { topP: teacher.topP, n: 1, json: false, ...sampling },
          tag: `agentark:${input.runId}:${input.problemId}:${role}`,
          cache: true,
          ...(input.store ? { store: input.store } : {}),
          ...(teacher.cacheNamespace ? { cacheNamespace: teacher.cacheNamespace } : {}),
        },
        ctx,
      );
      usage = addUsage(usage, call.result.usage);
      return call;
    },
    async budget(model, maxTokens) {
      const window = teacher.contextWindow ?? (await reportedContextWindow({ ...target, ...(model ? { model } : {}) }));
      if (window === undefined) return undefined;
      if (maxTokens >= window) {
        throw ApplicationFailure.nonRetryable(`teacher.maxTokens ${maxTokens} leaves no room for a prompt in the teacher's context of ${window} tokens`, 'ContextTooSmall');
      }
      return window - maxTokens;
    },
    usage: () => usage,
  };
}

/**
 * Wait for every call, so each one the teacher answers is cached even when another fails; then
 * throw the failure that decides the retry (a non-retryable one first). A retry repeats only the
 * calls that did not finish.
 */
export async function allCalls<T>(calls: Promise<T>[]): Promise<T[]> {
  const settled = await Promise.allSettled(calls);
  const failures = settled.flatMap((s) => (s.status === 'rejected' ? [s.reason as unknown] : []));
  if (failures.length === 0) return settled.map((s) => (s as PromiseFulfilledResult<T>).value);
  const fatal = failures.find((f) => f instanceof ApplicationFailure && f.nonRetryable);
  throw asFailure(fatal ?? failures[0]);
}

function asFailure(err: unknown): unknown {
  if (err instanceof ContextTooSmall) return ApplicationFailure.nonRetryable(err.message, 'ContextTooSmall');
  return err;
}
