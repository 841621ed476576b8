import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { startFakeLlmServer, type FakeLlmServer } from '../fixtures/fake-llm';
import { allowTeacherUrl, gsm8kProblems, gsm8kTest, haveGsm8k, readRunDatasets, startHarness, uniqueRunId, type Harness } from './harness';
import { openStore } from '../../activities/store/store';
import { messagesTokens } from '../../core/context-fit';
import { DebateRecord, debateKey } from '../../core/debate-record';
import type { Problem } from '../../core/problem';
import { debateWorkflowId, generateWorkflowId } from '../../workflows/generate-debates';

/**
 * Replies that do not pass through workflow history (SCRIPTED FAKE teacher on the real dev server):
 * a reasoning teacher writing 16k-token answers plus reasoning_content, and a teacher whose context
 * is too small for the later rounds' prompts.
 */
const describeIfData = haveGsm8k ? describe : describe.skip;
const errorRates = [0.2, 0.4, 0.6, 0.3, 0.5];

describeIfData('long replies and small contexts (scripted fake teacher)', () => {
  let harness: Harness;
  let problems: Problem[];
  const fakes: FakeLlmServer[] = [];
  const fake = async (opts: { replyTokens?: number; reasoningTokens?: number }): Promise<FakeLlmServer> => {
    const server = await startFakeLlmServer({ problems: new Map(problems.map((p) => [p.id, { gold: p.gold }])), errorRates, seed: 11, recordBodies: true, ...opts });
    allowTeacherUrl(server.url);
    fakes.push(server);
    return server;
  };

  /** Events, bytes and the largest single event (so the largest payload) of each execution of a run. */
  const histories = async (runId: string): Promise<{ workflowId: string; events: number; bytes: number; largestEvent: number }[]> =>
    Promise.all([generateWorkflowId(runId), ...problems.map((p) => debateWorkflowId(runId, p.id))].map(async (workflowId) => {
      const json = JSON.parse(historyToJSON(await harness.client.workflow.getHandle(workflowId).fetchHistory())) as { events: unknown[] };
      const sizes = json.events.map((e) => JSON.stringify(e).length);
      return { workflowId, events: sizes.length, bytes: sizes.reduce((a, b) => a + b, 0), largestEvent: Math.max(...sizes) };
    }));

  beforeAll(async () => {
    problems = await gsm8kProblems(4);
    harness = await startHarness({ llmConcurrency: 16 });
  });
  afterAll(async () => {
    await harness?.close();
    await Promise.all(fakes.map((f) => f.close()));
  });

  it('a reasoning teacher with 16k-token replies: the run completes, records keep the reasoning, histories stay small', async () => {
    const teacher = await fake({ replyTokens: 16_000, reasoningTokens: 4_000 });
    const runId = uniqueRunId('long');
    const result = await harness.generate({
      runId,
      dataset: { format: 'gsm8k', url: gsm8kTest, limit: problems.length },
      teacher: { baseUrl: teacher.url, maxTokens: 32_768 },
      debate: { agents: 5, rounds: 3 },
      judge: { enabled: false, k: 3 },
    });
    expect(result.done).toBe(problems.length);
    expect(result.failed).toBe(0);
    expect(result.completionTokens).toBeGreaterThanOrEqual(problems.length * 16 * 20_000);

    const store = openStore(harness.store);
    for (const p of problems) {
      const record = DebateRecord.parse(await store.getJson(debateKey(runId, p.id)));
      for (const turn of record.rounds.flatMap((r) => r.turns)) {
        expect(turn.reasoning!.length).toBeGreaterThan(4_000);
        expect(turn.content.length).toBeGreaterThan(16_000 * 2);
        expect(turn.content).not.toContain('<think>');
      }
      expect(record.summarizer.reasoning).toBeDefined();
    }
    // Peers see answer texts, not reasoning (debate.peerReasoning "strip").
    const reasoning = record0Reasoning(await store.getJson(debateKey(runId, problems[0].id)));
    for (const e of teacher.log.filter((x) => x.tag.includes(':round-2'))) expect(e.body).not.toContain(reasoning);
    // The traces for distillation carry it (datasets.includeReasoning).
    const { da } = await readRunDatasets(harness.store, runId);
    for (const r of da) expect(r.completion.startsWith('<think>\n')).toBe(true);

    const sizes = await histories(runId);
    const largestEvent = Math.max(...sizes.map((s) => s.largestEvent));
    const largestDebate = Math.max(...sizes.slice(1).map((s) => s.bytes));
    expect(largestEvent).toBeLessThan(256 * 1024);
    expect(largestDebate).toBeLessThan(1024 * 1024);
    console.log(`16k-token replies: largest event ${(largestEvent / 1024).toFixed(1)} KB, largest debate history ${(largestDebate / 1024).toFixed(1)} KB ` +
      `(${Math.max(...sizes.slice(1).map((s) => s.events))} events); the reply texts total ${(result.completionTokens / 1e6).toFixed(1)}M tokens`);
  }, 300_000);

  it('a context too small for the later rounds: every problem completes, its prompts fit, and the record says what was cut', async () => {
    const teacher = await fake({});
    const runId = uniqueRunId('small-context');
    const contextWindow = 800;
    const maxTokens = 300;
    const result = await harness.generate({
      runId,
      dataset: { format: 'gsm8k', url: gsm8kTest, limit: problems.length },
      teacher: { baseUrl: teacher.url, maxTokens, contextWindow },
      debate: { agents: 5, rounds: 3 },
      judge: { enabled: false, k: 3 },
    });
    expect(result.failures).toEqual([]);
    expect(result.done).toBe(problems.length);
    for (const e of teacher.log) {
      const body = JSON.parse(e.body!) as { messages: { role: 'user' | 'assistant' | 'system'; content: string }[] };
      expect(messagesTokens(body.messages)).toBeLessThanOrEqual(contextWindow - maxTokens);
    }
    const store = openStore(harness.store);
    const cuts = new Map<string, number>();
    for (const p of problems) {
      const record = DebateRecord.parse(await store.getJson(debateKey(runId, p.id)));
      for (const t of record.rounds[0].turns) expect(t.contextCut).toBeUndefined();
      for (const r of record.rounds.slice(1)) for (const t of r.turns) expect(t.contextCut?.length).toBeGreaterThan(0);
      expect(record.rounds[2].turns.every((t) => t.contextCut!.includes('older-rounds'))).toBe(true);
      for (const t of record.rounds.flatMap((r) => r.turns)) for (const c of t.contextCut ?? []) cuts.set(c, (cuts.get(c) ?? 0) + 1);
      if (record.summarizer.contextCut) cuts.set('summarizer:solution-tail', (cuts.get('summarizer:solution-tail') ?? 0) + 1);
    }
    console.log(`context ${contextWindow} (maxTokens ${maxTokens}): cuts ${JSON.stringify(Object.fromEntries(cuts))}`);
  }, 300_000);
});

const record0Reasoning = (raw: unknown): string => DebateRecord.parse(raw).rounds[0].turns[1].reasoning!.slice(0, 200);
