import { getExternalWorkflowHandle, proxyActivities } from '@temporalio/workflow';
import { z } from 'zod';
import type * as llm from '../activities/llm';
import type * as debateActivities from '../activities/debate';
import { addUsage, ChatMessage, ChatResult, noUsage, TokenUsage } from '../core/chat';
import { DebateConfig, JudgeConfig, RunId, TeacherConfig, VerifierConfig } from '../core/config';
import { callTag, extractCorrect, parseVerifierReply, ruleVerdict, turnSeed, unanimous } from '../core/debate';
import type { DebateRecord, Round, Turn, Verdict } from '../core/debate-record';
import { parseJudgeSelection, selectDiverseLexical } from '../core/diversity';
import { Problem } from '../core/problem';
import { debateRoundMessage, diversityJudgeMessages, firstRoundMessage, summarizerMessages, verifierMessages } from '../core/prompts';
import { LLM_QUEUE } from '../core/task-queues';
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
    const record = await debate(input);
    await writeDebate({ record, ...(input.store ? { store: input.store } : {}) });
    const last = record.rounds.length;
    outcome = {
      problemId: record.problem.id,
      ok: true,
      usage: record.usage,
      turnsByRound: record.rounds.map((r) => r.turns.length),
      correctByRound: record.rounds.map((r) => r.turns.filter((t) => t.correct === true).length),
      consensusCorrect: record.extraction.consensusCorrect,
      correctAgents: record.rounds[last - 1].turns.filter((t) => t.correct === true).length,
      callsSaved: record.callsSaved,
    };
    return outcome;
  } catch (err) {
    outcome = { ...outcome, error: (err as Error).message };
    throw err;
  } finally {
    if (parentWorkflowId) {
      // The parent may have ended (terminated, or a finished earlier attempt): nothing to tell then.
      await getExternalWorkflowHandle(parentWorkflowId).signal(problemDone, outcome).catch(() => undefined);
    }
  }
}

type Input = z.infer<typeof DebateProblemInput>;

async function debate(input: Input): Promise<DebateRecord> {
  const { problem, teacher, debate: cfg } = input;
  let usage: TokenUsage = noUsage;
  const { chatCompletion } = proxyActivities<typeof llm>({
    taskQueue: input.llmQueue,
    startToCloseTimeout: '10 minutes',
    // The activity heartbeats while it waits on the teacher: a dead worker's call is retried soon.
    heartbeatTimeout: '20 seconds',
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 25 },
  });
  const ask = async (role: string, messages: ChatMessage[], sampling: { temperature: number; maxTokens: number; seed: number; json?: boolean }, model?: string): Promise<ChatResult> => {
    const result = await chatCompletion({
      ...(teacher.profile ? { profile: teacher.profile } : {}),
      ...(teacher.baseUrl ? { baseUrl: teacher.baseUrl } : {}),
      ...(model ? { model } : {}),
      ...(input.store ? { store: input.store } : {}),
      messages,
      sampling: { topP: teacher.topP, n: 1, json: false, ...sampling },
      tag: callTag(input.runId, problem.id, role),
    });
    usage = addUsage(usage, result.usage);
    return result;
  };

  // Each agent keeps its own conversation across rounds (Du et al.).
  const conversations: ChatMessage[][] = Array.from({ length: cfg.agents }, () => []);
  const rounds: Round[] = [];
  let earlyStopAfterRound: number | null = null;
  for (let round = 1; round <= cfg.rounds; round++) {
    const previous = rounds[round - 2];
    const turns = await Promise.all(
      conversations.map(async (history, agent): Promise<Turn> => {
        const prompt =
          round === 1
            ? firstRoundMessage(problem)
            : debateRoundMessage(problem, previous.turns.filter((t) => t.agent !== agent).map((t) => t.content));
        const messages = [...history, prompt];
        const model = teacher.agentModels?.[agent] ?? teacher.model;
        const reply = await ask(`agent-${agent}:round-${round}`, messages, {
          temperature: teacher.temperature,
          maxTokens: teacher.maxTokens,
          seed: turnSeed(input.seed, problem.id, agent, round),
        }, model);
        const choice = reply.choices[0];
        conversations[agent] = [...messages, { role: 'assistant', content: choice.content }];
        return { agent, model: reply.model, content: choice.content, finishReason: choice.finishReason, ...ruleVerdict(problem, choice.content) };
      }),
    );
    rounds.push({ round, turns });
    if (cfg.earlyStop === 'unanimous' && round < cfg.rounds && unanimous(problem, turns.map((t) => t.extracted))) {
      earlyStopAfterRound = round;
      break;
    }
  }
  const finalTurns = rounds[rounds.length - 1].turns;
  const summary = await ask('summarizer', summarizerMessages(problem, finalTurns.map((t) => t.content)), {
    temperature: 0,
    maxTokens: teacher.maxTokens,
    seed: turnSeed(input.seed, problem.id, -1, 0),
  }, teacher.model);
  const summarizerContent = summary.choices[0].content;
  let summarizer = { model: summary.model, content: summarizerContent, ...ruleVerdict(problem, summarizerContent) };

  // Verify: the LLM verifier only where no rule decides.
  const llmVerify = async <T extends Verdict & { content: string }>(v: T, role: string): Promise<T> => {
    if (v.correct !== null || !input.verifier.enabled || v.content.trim() === '') return v;
    const reply = await ask(role, verifierMessages(problem, v.content), { temperature: 0, maxTokens: 32, seed: 0, json: true }, input.verifier.model ?? teacher.model);
    const correct = parseVerifierReply(reply.choices[0].content);
    return correct === null ? v : { ...v, correct, verifiedBy: 'llm' };
  };
  for (const r of rounds) r.turns = await Promise.all(r.turns.map((t) => llmVerify(t, `verifier:agent-${t.agent}:round-${r.round}`)));
  summarizer = await llmVerify(summarizer, 'verifier:summarizer');

  const { correctAgents, correctiveTraces } = extractCorrect(rounds);
  const diverse = await selectDiverse(input, correctAgents, finalTurns, ask);
  return {
    runId: input.runId,
    problem,
    agents: cfg.agents,
    roundsPlanned: cfg.rounds,
    rounds,
    earlyStopAfterRound,
    callsSaved: earlyStopAfterRound === null ? 0 : cfg.agents * (cfg.rounds - earlyStopAfterRound),
    summarizer,
    extraction: { correctAgents, correctiveTraces, consensusCorrect: summarizer.correct, ...diverse },
    usage,
  };
}

/** DA selection: k structurally different correct traces (LLM judge, else lexical); none if |A_correct| < 2. */
async function selectDiverse(
  input: Input,
  correctAgents: number[],
  finalTurns: Turn[],
  ask: (role: string, messages: ChatMessage[], sampling: { temperature: number; maxTokens: number; seed: number; json?: boolean }, model?: string) => Promise<ChatResult>,
): Promise<{ diverseAgents: number[]; diverseSelectedBy: 'llm-judge' | 'lexical' | 'none' }> {
  if (correctAgents.length < 2) return { diverseAgents: [], diverseSelectedBy: 'none' };
  const k = Math.min(input.judge.k, correctAgents.length);
  const traces = correctAgents.map((a) => finalTurns.find((t) => t.agent === a)!.content);
  if (input.judge.enabled && k < correctAgents.length) {
    const reply = await ask('judge', diversityJudgeMessages(input.problem, traces, k), { temperature: 0, maxTokens: 64, seed: 0, json: true }, input.judge.model ?? input.teacher.model);
    const picked = parseJudgeSelection(reply.choices[0].content, traces.length, k);
    if (picked) return { diverseAgents: picked.map((i) => correctAgents[i]), diverseSelectedBy: 'llm-judge' };
  }
  return { diverseAgents: selectDiverseLexical(traces, k).map((i) => correctAgents[i]), diverseSelectedBy: 'lexical' };
}
