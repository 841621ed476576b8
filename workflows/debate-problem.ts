import { getExternalWorkflowHandle, patched, proxyActivities } from '@temporalio/workflow';
import { z } from 'zod';
import type { LlmActivities } from '../activities/llm';
import type * as debateActivities from '../activities/debate';
import { addUsage, noUsage, type TokenUsage } from '../core/chat';
import { DebateConfig, JudgeConfig, RunId, TeacherConfig, VerifierConfig } from '../core/config';
import { debateCounts, type DebateCounts, type RoundRef } from '../core/debate-calls';
import { Problem } from '../core/problem';
import { LLM_QUEUE } from '../core/task-queues';
import { teacherActivityTimeoutMs } from '../core/teacher-timeouts';
import { debateInline } from './debate-problem-inline';
import { rootMessage } from './failures';
import { parseInput } from './parse-input';
import { problemDone, ProblemOutcome } from './signals';

export const DebateProblemInput = z.strictObject({
  runId: RunId,
  problem: Problem,
  teacher: TeacherConfig.default(TeacherConfig.parse({})),
  debate: DebateConfig.default(DebateConfig.parse({})),
  verifier: VerifierConfig.default(VerifierConfig.parse({})),
  judge: JudgeConfig.default(JudgeConfig.parse({})),
  seed: z.number().int().nonnegative().default(0),
  llmQueue: z.string().min(1).default(LLM_QUEUE),
  store: z.string().min(1).optional(),
  /** generateDebates's workflow id, signalled with the outcome when this debate ends. */
  parentWorkflowId: z.string().optional(),
});
export type DebateProblemInput = z.input<typeof DebateProblemInput>;

const { writeDebate } = proxyActivities<typeof debateActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 10 },
});

/** Replies in the store and one activity per round (before it: ./debate-problem-inline.ts). */
const REPLIES_IN_STORE = 'replies-in-store';

/**
 * One problem's debate (paper §3.2): n agents answer; for rounds 2..K each revises with its peers'
 * previous solutions as advice; a summarizer states the consensus. Then verify every answer, extract
 * A_correct, corrective traces and the diverse traces for DA, and store the record once.
 */
export async function debateProblem(rawInput: DebateProblemInput): Promise<ProblemOutcome> {
  // Read before validation, so even an invalid input is reported to the parent rather than left hanging.
  const parentWorkflowId = typeof rawInput?.parentWorkflowId === 'string' ? rawInput.parentWorkflowId : undefined;
  const problemId = typeof rawInput?.problem?.id === 'string' ? rawInput.problem.id : '?';
  let outcome: ProblemOutcome = { problemId, ok: false, usage: noUsage, turnsByRound: [], correctByRound: [], consensusCorrect: null, correctAgents: 0, callsSaved: 0 };
  try {
    const input = parseInput(DebateProblemInput, rawInput, 'debateProblem');
    let counts: DebateCounts;
    if (patched(REPLIES_IN_STORE)) {
      counts = await debateThroughStore(input);
    } else {
      const record = await debateInline(input);
      await writeDebate({ record, ...(input.store ? { store: input.store } : {}) });
      counts = debateCounts(record);
    }
    outcome = { problemId: input.problem.id, ok: true, ...counts };
    return outcome;
  } catch (err) {
    outcome = { ...outcome, error: rootMessage(err) };
    throw err;
  } finally {
    if (parentWorkflowId) {
      // The parent may have ended (terminated, or a finished earlier attempt): nothing to tell then.
      await getExternalWorkflowHandle(parentWorkflowId).signal(problemDone, outcome).catch(() => undefined);
    }
  }
}

type Input = z.infer<typeof DebateProblemInput>;

/**
 * The rounds, one debateRound activity each (its n calls side by side), then finishDebate. Only reply
 * keys and verdicts pass through history, whatever the length of the teacher's replies.
 */
async function debateThroughStore(input: Input): Promise<DebateCounts> {
  const { problem, teacher, debate: cfg } = input;
  const retry = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 25 } as const;
  // Activities heartbeat while they wait on the teacher: a dead worker's calls are retried soon.
  const { debateRound } = proxyActivities<LlmActivities>({
    taskQueue: input.llmQueue, heartbeatTimeout: '30 seconds', retry,
    startToCloseTimeout: teacherActivityTimeoutMs(teacher.maxTokens, cfg.agents),
  });
  const { finishDebate } = proxyActivities<LlmActivities>({
    taskQueue: input.llmQueue, heartbeatTimeout: '30 seconds', retry,
    startToCloseTimeout: teacherActivityTimeoutMs(teacher.maxTokens, cfg.agents * cfg.rounds + 2),
  });
  const common = { runId: input.runId, problem, teacher, seed: input.seed, ...(input.store ? { store: input.store } : {}) };
  const rounds: RoundRef[] = [];
  let usage: TokenUsage = noUsage;
  let earlyStopAfterRound: number | null = null;
  for (let round = 1; round <= cfg.rounds; round++) {
    const result = await debateRound({ ...common, debate: cfg, round, previous: rounds });
    rounds.push(result.round);
    usage = addUsage(usage, result.usage);
    if (cfg.earlyStop === 'unanimous' && round < cfg.rounds && result.unanimous) {
      earlyStopAfterRound = round;
      break;
    }
  }
  return finishDebate({ ...common, debate: cfg, verifier: input.verifier, judge: input.judge, rounds, earlyStopAfterRound, usage });
}
