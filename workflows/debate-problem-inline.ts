import { proxyActivities } from '@temporalio/workflow';
import type { z } from 'zod';
import type { LlmActivities } from '../activities/llm';
import { addUsage, ChatMessage, ChatResult, noUsage, TokenUsage } from '../core/chat';
import { callTag, extractCorrect, parseVerifierReply, ruleVerdict, turnSeed, unanimous } from '../core/debate';
import type { DebateRecord, Round, Turn, Verdict } from '../core/debate-record';
import { parseJudgeSelection, selectDiverseLexical } from '../core/diversity';
import { debateRoundMessage, diversityJudgeMessages, firstRoundMessage, summarizerMessages, verifierMessages } from '../core/prompts';
import type { DebateProblemInput } from './debate-problem';

/**
 * One problem's debate as it ran before replies went through the store: every teacher reply inline
 * in workflow history, one chatCompletion activity per call. Kept, unchanged, so that debates
 * started by the earlier release replay (debateProblem's patch 'replies-in-store' chooses it).
 */

type Input = z.infer<typeof DebateProblemInput>;

export async function debateInline(input: Input): Promise<DebateRecord> {
  const { problem, teacher, debate: cfg } = input;
  let usage: TokenUsage = noUsage;
  const { chatCompletion } = proxyActivities<LlmActivities>({
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
