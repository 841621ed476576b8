import { ApplicationFailure } from '@temporalio/activity';
import { z } from 'zod';
import { agentConversation } from '../../core/prompts';
import { fitAgentTurn } from '../../core/context-fit';
import { DebateRoundInput, type DebateRoundResult, type TurnRef } from '../../core/debate-calls';
import { turnSeed } from '../../core/debate';
import { withHeartbeat } from '../llm/chat';
import { readReply } from '../llm/replies';
import type { TeacherContext } from '../llm/teacher';
import { allCalls, asker } from './teacher-calls';
import { ruleVerdicts, unanimous } from './verify';

/**
 * One debate round (paper §3.2) as one activity: the n agents' calls made side by side, each agent
 * keeping its own conversation (Du et al.), built here from the stored replies of earlier rounds.
 * Each call is cached on its own, so a retry repeats only the calls that had not finished.
 */
export function debateRoundActivity(ctx: Omit<TeacherContext, 'signal'>): (input: DebateRoundInput) => Promise<DebateRoundResult> {
  return async function debateRound(raw: DebateRoundInput): Promise<DebateRoundResult> {
    const parsed = DebateRoundInput.safeParse(raw);
    if (!parsed.success) throw ApplicationFailure.nonRetryable(`debateRound: ${z.prettifyError(parsed.error)}`, 'InvalidDebateRoundInput');
    const input = parsed.data;
    const { problem, teacher, debate, round } = input;
    return withHeartbeat(async (signal) => {
      const teacherAsk = asker({ runId: input.runId, problemId: problem.id, teacher, ...(input.store ? { store: input.store } : {}) }, { ...ctx, ...(signal ? { signal } : {}) });
      // previous[r][agent]: the stored replies of round r + 1.
      const previous = await Promise.all(input.previous.map((r) => Promise.all(r.turns.map(async (t) => ({ agent: t.agent, reply: (await readReply(input.store, t.key)).choices[0] })))));
      const turns = await allCalls(
        Array.from({ length: debate.agents }, async (_, agent): Promise<TurnRef> => {
          const model = teacher.agentModels?.[agent] ?? teacher.model;
          const own = previous.map((r) => r.find((t) => t.agent === agent)?.reply.content ?? '');
          const peers = previous.map((r) => r.filter((t) => t.agent !== agent).map((t) => t.reply));
          const budget = await teacherAsk.budget(model, teacher.maxTokens);
          const { messages, cut } = fitAgentTurn((o, p) => agentConversation(problem, o, p), { own, peers, peerReasoning: debate.peerReasoning }, budget);
          const call = await teacherAsk.ask(`agent-${agent}:round-${round}`, messages, {
            temperature: teacher.temperature,
            maxTokens: teacher.maxTokens,
            seed: turnSeed(input.seed, problem.id, agent, round),
          }, model);
          const choice = call.result.choices[0];
          const [verdict] = await ruleVerdicts(problem, [choice.content]);
          return {
            agent, key: call.key, model: call.result.model, finishReason: choice.finishReason,
            ...verdict, ...(cut.length ? { contextCut: cut } : {}),
          };
        }),
      );
      // The early-stop test only where it can stop the debate: it costs n − 1 equivalence checks.
      const canStop = debate.earlyStop === 'unanimous' && round < debate.rounds;
      return { round: { round, turns }, unanimous: canStop && (await unanimous(problem, turns.map((t) => t.extracted))), usage: teacherAsk.usage() };
    });
  };
}
