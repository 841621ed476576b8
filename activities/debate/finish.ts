import { ApplicationFailure } from '@temporalio/activity';
import { z } from 'zod';
import { addUsage, type ChatChoice } from '../../core/chat';
import { fitTexts, type ContextCut } from '../../core/context-fit';
import { debateCounts, FinishDebateInput, type DebateCounts } from '../../core/debate-calls';
import { extractCorrect, parseVerifierReply, turnSeed } from '../../core/debate';
import { DebateRecord, debateKey, type Round, type Turn, type Verdict } from '../../core/debate-record';
import { parseJudgeSelection, selectDiverseLexical } from '../../core/diversity';
import { diversityJudgeMessages, summarizerMessages, verifierMessages } from '../../core/prompts';
import type { ChatMessage } from '../../core/chat';
import { storeFor } from '../artifacts';
import { withHeartbeat } from '../llm/chat';
import { readReply } from '../llm/replies';
import type { TeacherContext } from '../llm/teacher';
import { allCalls, asker, type Asker } from './teacher-calls';
import { ruleVerdicts } from './verify';

/**
 * The end of one problem's debate as one activity: the summarizer's consensus, the LLM verifier for
 * answers no rule decides, extract (A_correct, corrective traces, the k diverse traces for DA), and
 * the record, assembled from the stored replies and written once: its existence marks the problem done.
 */
export function finishDebateActivity(ctx: Omit<TeacherContext, 'signal'>): (input: FinishDebateInput) => Promise<DebateCounts> {
  return async function finishDebate(raw: FinishDebateInput): Promise<DebateCounts> {
    const parsed = FinishDebateInput.safeParse(raw);
    if (!parsed.success) throw ApplicationFailure.nonRetryable(`finishDebate: ${z.prettifyError(parsed.error)}`, 'InvalidFinishDebateInput');
    const input = parsed.data;
    const { problem, teacher } = input;
    return withHeartbeat(async (signal) => {
      const teacherAsk = asker({ runId: input.runId, problemId: problem.id, teacher, ...(input.store ? { store: input.store } : {}) }, { ...ctx, ...(signal ? { signal } : {}) });
      const rounds: Round[] = await Promise.all(
        input.rounds.map(async (r) => ({
          round: r.round,
          turns: await Promise.all(r.turns.map(async ({ key: k, ...t }): Promise<Turn> => ({ ...t, ...replyText((await readReply(input.store, k)).choices[0]) }))),
        })),
      );
      const finalTurns = rounds[rounds.length - 1].turns;

      // Each prompt that holds solutions is cut to their last steps when the teacher's context is too small.
      const fitted = async (model: string | undefined, maxTokens: number, build: (texts: string[]) => ChatMessage[], texts: string[]): Promise<{ messages: ChatMessage[]; cut: ContextCut[] }> => {
        const budget = await teacherAsk.budget(model, maxTokens);
        if (budget === undefined) return { messages: build(texts), cut: [] };
        const fit = fitTexts(build, texts, budget);
        if (!fit) throw ApplicationFailure.nonRetryable(`problem ${problem.id}: the prompt does not fit the teacher's context even with every solution cut`, 'ContextTooSmall');
        return { messages: fit.messages, cut: fit.cut ? ['solution-tail'] : [] };
      };

      const summaryPrompt = await fitted(teacher.model, teacher.maxTokens, (texts) => summarizerMessages(problem, texts), finalTurns.map((t) => t.content));
      const summary = await teacherAsk.ask('summarizer', summaryPrompt.messages, { temperature: 0, maxTokens: teacher.maxTokens, seed: turnSeed(input.seed, problem.id, -1, 0) }, teacher.model);
      const summaryChoice = replyText(summary.result.choices[0]);
      const [summaryVerdict] = await ruleVerdicts(problem, [summaryChoice.content]);
      let summarizer = {
        model: summary.result.model, ...summaryChoice, ...summaryVerdict,
        ...(summaryPrompt.cut.length ? { contextCut: summaryPrompt.cut } : {}),
      };

      // Verify: the LLM verifier only where no rule decides.
      const verifierModel = input.verifier.model ?? teacher.model;
      const llmVerify = async <T extends Verdict & { content: string }>(v: T, role: string): Promise<T> => {
        if (v.correct !== null || !input.verifier.enabled || v.content.trim() === '') return v;
        const prompt = await fitted(verifierModel, 32, ([text]) => verifierMessages(problem, text), [v.content]);
        const reply = await teacherAsk.ask(role, prompt.messages, { temperature: 0, maxTokens: 32, seed: 0, json: true }, verifierModel);
        const correct = parseVerifierReply(reply.result.choices[0].content);
        return correct === null ? v : { ...v, correct, verifiedBy: 'llm' };
      };
      const verified = await allCalls([
        ...rounds.map(async (r) => ({ ...r, turns: await allCalls(r.turns.map((t) => llmVerify(t, `verifier:agent-${t.agent}:round-${r.round}`))) })),
      ]);
      summarizer = await llmVerify(summarizer, 'verifier:summarizer');

      const { correctAgents, correctiveTraces } = extractCorrect(verified);
      const diverse = await selectDiverse(input, correctAgents, verified[verified.length - 1].turns, teacherAsk, fitted);
      const { agents, rounds: roundsPlanned } = input.debate;
      const record = DebateRecord.parse({
        runId: input.runId,
        problem,
        agents,
        roundsPlanned,
        rounds: verified,
        earlyStopAfterRound: input.earlyStopAfterRound,
        callsSaved: input.earlyStopAfterRound === null ? 0 : agents * (roundsPlanned - input.earlyStopAfterRound),
        summarizer,
        extraction: { correctAgents, correctiveTraces, consensusCorrect: summarizer.correct, ...diverse },
        usage: addUsage(input.usage, teacherAsk.usage()),
      });
      await storeFor(input.store).putJson(debateKey(record.runId, problem.id), record);
      return debateCounts(record);
    });
  };
}

const replyText = (c: ChatChoice): { content: string; reasoning?: string; finishReason: ChatChoice['finishReason'] } => ({
  content: c.content, ...(c.reasoning ? { reasoning: c.reasoning } : {}), finishReason: c.finishReason,
});

/** DA selection: k structurally different correct traces (LLM judge, else lexical); none if |A_correct| < 2. */
async function selectDiverse(
  input: z.infer<typeof FinishDebateInput>,
  correctAgents: number[],
  finalTurns: Turn[],
  teacherAsk: Asker,
  fitted: (model: string | undefined, maxTokens: number, build: (texts: string[]) => ChatMessage[], texts: string[]) => Promise<{ messages: ChatMessage[] }>,
): Promise<{ diverseAgents: number[]; diverseSelectedBy: 'llm-judge' | 'lexical' | 'none' }> {
  if (correctAgents.length < 2) return { diverseAgents: [], diverseSelectedBy: 'none' };
  const k = Math.min(input.judge.k, correctAgents.length);
  const traces = correctAgents.map((a) => finalTurns.find((t) => t.agent === a)!.content);
  if (input.judge.enabled && k < correctAgents.length) {
    const model = input.judge.model ?? input.teacher.model;
    const prompt = await fitted(model, 64, (texts) => diversityJudgeMessages(input.problem, texts, k), traces);
    const reply = await teacherAsk.ask('judge', prompt.messages, { temperature: 0, maxTokens: 64, seed: 0, json: true }, model);
    const picked = parseJudgeSelection(reply.result.choices[0].content, traces.length, k);
    if (picked) return { diverseAgents: picked.map((i) => correctAgents[i]), diverseSelectedBy: 'llm-judge' };
  }
  return { diverseAgents: selectDiverseLexical(traces, k).map((i) => correctAgents[i]), diverseSelectedBy: 'lexical' };
}
