import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from '@temporalio/worker';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { canonicalNumber, startFakeLlmServer, simulateDebate, type FakeLlmServer, type SimulatedDebate } from '../fixtures/fake-llm';
import { gsm8kProblems, gsm8kTest, haveGsm8k, readRunDatasets, allowTeacherUrl, startHarness, uniqueRunId, type Harness } from './harness';
import type { Problem } from '../../core/problem';
import { debateWorkflowId, generateWorkflowId } from '../../workflows/generate-debates';

/**
 * Orchestration test with the SCRIPTED FAKE teacher (test/fixtures/fake-llm) on the real Temporal dev
 * server and the real S3 store: 200 GSM8K test problems, n = 5 agents, K = 3 rounds. The fake's
 * dynamics are deterministic, so every count in the datasets and stats is known in advance.
 */
const N = 200;
const AGENTS = 5;
const ROUNDS = 3;
const K = 3;
const errorRates = [0.15, 0.3, 0.45, 0.6, 0.75];
const fakeSeed = 11;

const describeIfData = haveGsm8k ? describe : describe.skip; // the shared GSM8K file is beside the repo in CI
if (!haveGsm8k) console.warn(`skipping: ${gsm8kTest} not found`);

describeIfData('generateDebates with a scripted fake teacher (200 GSM8K problems, n=5, K=3)', () => {
  let problems: Problem[];
  let sims: Map<string, SimulatedDebate>;
  let fake: FakeLlmServer;
  let harness: Harness;
  const store = () => harness.store;

  beforeAll(async () => {
    problems = await gsm8kProblems(N);
    sims = new Map(
      problems.map((p) => [p.id, simulateDebate({ problemId: p.id, gold: p.gold, agents: AGENTS, rounds: ROUNDS, errorRates, seed: fakeSeed, earlyStop: 'never' })]),
    );
    fake = await startFakeLlmServer({ problems: new Map(problems.map((p) => [p.id, { gold: p.gold }])), errorRates, seed: fakeSeed, latencyMs: 2 });
    allowTeacherUrl(fake.url);
    harness = await startHarness({ llmConcurrency: 48 });
  });
  afterAll(async () => {
    await harness?.close();
    await fake?.close();
  });

  const config = (runId: string, limit = N) => ({
    runId,
    dataset: { format: 'gsm8k' as const, url: gsm8kTest, limit },
    teacher: { baseUrl: fake.url, maxTokens: 256 },
    debate: { agents: AGENTS, rounds: ROUNDS, earlyStop: 'never' as const },
    judge: { enabled: true, k: K },
    window: 100,
    // Small, so the run continues as new several times on the way.
    childrenPerExecution: 64,
  });

  let runId: string;

  it('debates every problem and builds the datasets the script implies', async () => {
    runId = uniqueRunId('fake200');
    const t0 = Date.now();
    const result = await harness.generate(config(runId));
    const wallMs = Date.now() - t0;
    // It continued as new on the way (64 children per execution) and still lost no problem.
    let executions = 0;
    for await (const _ of harness.client.workflow.list({ query: `WorkflowId = '${generateWorkflowId(runId)}'` })) executions++;
    expect(executions).toBeGreaterThanOrEqual(Math.ceil(N / 64));

    const finals = [...sims.values()].map((s) => s.correctByRound[ROUNDS - 1]);
    const judged = finals.filter((a) => a > K).length;
    const expectedCalls = N * (AGENTS * ROUNDS + 1) + judged;
    expect(result.done).toBe(N);
    expect(result.failed).toBe(0);
    expect(result.calls).toBe(expectedCalls);
    expect(fake.log.filter((e) => e.outcome === 'ok')).toHaveLength(expectedCalls);

    const { rsft, da, prm, grpo, stats } = await readRunDatasets(store(), runId);
    const consensusRight = [...sims.values()].filter((s) => s.consensusCorrect).length;
    expect(stats.problems).toBe(N);
    expect(stats.consensus.correct).toBe(consensusRight);
    for (let r = 0; r < ROUNDS; r++) {
      expect(stats.rounds[r].turns).toBe(N * AGENTS);
      expect(stats.rounds[r].correct).toBe([...sims.values()].reduce((s, x) => s + x.correctByRound[r], 0));
    }
    const histogram = Array.from({ length: AGENTS + 1 }, (_, i) => finals.filter((a) => a === i).length);
    expect(stats.correctAgentsHistogram).toEqual(histogram);
    const corrective = [...sims.values()].map((s) => s.correctiveAgents.length);
    expect(stats.correctiveTraces).toEqual({ traces: corrective.reduce((a, b) => a + b, 0), problems: corrective.filter((c) => c > 0).length });
    const eligible = finals.filter((a) => a >= 2);
    expect(stats.da.eligibleProblems).toBe(eligible.length);
    expect(stats.da.records).toBe(eligible.reduce((s, a) => s + Math.min(K, a), 0));
    expect(stats.da.selectedBy).toEqual({ llmJudge: judged, lexical: eligible.length - judged });
    expect(stats.usage.calls).toBe(expectedCalls);

    expect(rsft).toHaveLength(consensusRight);
    expect(da).toHaveLength(stats.da.records);
    expect(grpo).toHaveLength(N);
    expect(prm).toHaveLength(N);
    // Where the judge chose, it is the script's choice (the last k correct agents), not a fallback's.
    for (const p of problems) {
      const sim = sims.get(p.id)!;
      const gold = canonicalNumber(p.gold);
      const correct = sim.answersByRound[ROUNDS - 1].map((a, i) => (a === gold ? i : -1)).filter((i) => i >= 0);
      if (correct.length > K) {
        expect(da.filter((d) => d.id === p.id).map((d) => d.agent).sort()).toEqual(correct.slice(-K).sort());
      }
    }
    console.log(`200-problem fake run: ${wallMs} ms wall, ${result.calls} LLM calls, ${(result.calls / (wallMs / 1000)).toFixed(0)} calls/s`);

    // Determinism: the histories just recorded replay with the current workflow code.
    const handles = [generateWorkflowId(runId), debateWorkflowId(runId, problems[0].id), debateWorkflowId(runId, problems[1].id)];
    const histories = await Promise.all(handles.map(async (workflowId) => ({ workflowId, history: await harness.client.workflow.getHandle(workflowId).fetchHistory() })));
    const replays = Worker.runReplayHistories({ workflowsPath: require.resolve('../../workflows') }, histories);
    for await (const r of replays) expect(r.error).toBeUndefined();
    // Recorded under a label (the release), beside the histories of earlier releases, which stay.
    const label = process.env.AGENTARK_RECORD_HISTORIES;
    if (label) {
      const dir = path.resolve(__dirname, '../replay/histories');
      fs.mkdirSync(dir, { recursive: true });
      for (const [i, h] of histories.entries()) {
        fs.writeFileSync(path.join(dir, `${['generateDebates', 'debateProblem', 'debateProblem'][i]}.${label}${i === 0 ? '' : `-${i}`}.json`), historyToJSON(h.history));
      }
    }
  }, 300_000);

  it('started again with the same run id, debates nothing and pays nothing', async () => {
    fake.resetLog();
    const again = await harness.generate(config(runId));
    expect(again.alreadyDone).toBe(N);
    expect(again.done).toBe(0);
    expect(fake.log).toHaveLength(0);
  }, 120_000);

  it('early stop on unanimity saves exactly the calls the script implies', async () => {
    fake.resetLog();
    const subset = 100;
    const stopId = uniqueRunId('fake-early-stop');
    // Its own store: round-1 replies of the runs above would otherwise come from the cache.
    const result = await harness.generate({ ...config(stopId, subset), store: `${harness.store}-early-stop`, debate: { agents: AGENTS, rounds: ROUNDS, earlyStop: 'unanimous' } });
    const early = problems.slice(0, subset).map((p) =>
      simulateDebate({ problemId: p.id, gold: p.gold, agents: AGENTS, rounds: ROUNDS, errorRates, seed: fakeSeed, earlyStop: 'unanimous' }),
    );
    const saved = early.reduce((s, x) => s + AGENTS * (ROUNDS - x.roundsRun), 0);
    const judged = early.filter((x) => x.correctByRound[x.roundsRun - 1] > K).length;
    const { stats } = await readRunDatasets(`${harness.store}-early-stop`, stopId);
    expect(stats.earlyStop).toEqual({ problems: early.filter((x) => x.roundsRun < ROUNDS).length, callsSaved: saved });
    expect(result.callsSaved).toBe(saved);
    expect(result.calls).toBe(early.reduce((s, x) => s + AGENTS * x.roundsRun + 1, 0) + judged);
    expect(stats.consensus.correct).toBe(early.filter((x) => x.consensusCorrect).length);
    console.log(`early stop: ${result.calls} calls instead of ${result.calls + saved} (${saved} saved, ${((100 * saved) / (result.calls + saved)).toFixed(1)}%) on ${subset} problems`);
  }, 180_000);

  it('a new run id on the same store gets every reply from the cache', async () => {
    fake.resetLog();
    const subset = 30;
    const copyId = uniqueRunId('fake200-copy');
    const copy = await harness.generate(config(copyId, subset));
    expect(copy.done).toBe(subset);
    expect(copy.calls).toBe(0);
    expect(fake.log).toHaveLength(0);
    const expected = problems.slice(0, subset).filter((p) => sims.get(p.id)!.consensusCorrect).length;
    expect((await readRunDatasets(store(), copyId)).stats.consensus.correct).toBe(expected);
  }, 120_000);
});
