import { MockActivityEnvironment } from '@temporalio/testing';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { z } from 'zod';
import { buildDatasets, type BuildDatasetsResult } from '../../activities/datasets/build-datasets';
import type * as Manifest from '../../activities/store/manifest';
import { openStore, type ArtifactStore } from '../../activities/store/store';
import { debateKey, type DebateRecord } from '../../core/debate-record';
import type { Problem } from '../../core/problem';
import { firstRoundMessage } from '../../core/prompts';
import { DaRecord, DatasetStats, GrpoRecord, PrmRecord, RsftRecord } from '../../core/records';
import { debate, none, numeric } from './debate-record-builder';
import { emptyPrefix, ensureBucket, TEST_BUCKET } from './store/s3-test-env';

// What the stage folder holds at the moment its manifest is written: the manifest must come last.
const mockStageAtManifest: string[][] = [];
jest.mock('../../activities/store/manifest', () => {
  const actual = jest.requireActual<typeof Manifest>('../../activities/store/manifest');
  return {
    ...actual,
    writeManifest: async (...args: Parameters<typeof Manifest.writeManifest>) => {
      const [store, stage] = args;
      const keys: string[] = [];
      for await (const key of store.list(`${stage}/`)) keys.push(key);
      mockStageAtManifest.push(keys);
      return actual.writeManifest(...args);
    },
  };
});

const P0 = numeric('p0', 'What is 2 + 2?', '4');
const P1 = numeric('p1', 'Tom has 3 apples and buys 2. How many?', '5');
const P2 = numeric('p2', 'What is 10 / 2?', '5');
const P3: Problem = { id: 'p3', task: 'choice', question: 'Which planet is largest?', gold: 'B', options: ['Mars', 'Jupiter', 'Venus'] };
const P1_SOLUTION = '1. Tom starts with 3 apples.\n2. He buys 2 more.\n3. 3 + 2 = 5.\n#### 5';

/** Four hand-built debates: |A_correct| = 0, 1 (a corrective trace), 3 (stopped early), 2 (undecided verdicts). */
function debates(runId: string): DebateRecord[] {
  return [
    debate(runId, P0, {
      rounds: [
        [['2 + 2 = 5.\n#### 5', false, '5'], ['Two and two make 3.\n\n#### 3', false, '3'], ['It is 22.\n#### 22', false, '22']],
        [['I still think 2 + 2 = 5.\n#### 5', false, '5'], ['First, 2 + 2.\n\nThat is 3.\n\n#### 3', false, '3'], ['#### 22', false, '22']],
      ],
      summarizer: ['The agents say 5.\n#### 5', false, '5'],
      extraction: { correctAgents: [], ...none },
      usage: { promptTokens: 100, completionTokens: 50, calls: 7 },
    }),
    debate(runId, P1, {
      rounds: [
        [['3 - 2 = 1\n#### 1', false, '1'], ['#### 6', false, '6'], ['3 * 2 = 6\n#### 6', false, '6']],
        [['3 - 2 = 1.\n\n#### 1', false, '1'], ['Start with 3.\n\nMultiply by 2 to get 6.\n\n#### 6', false, '6'], [P1_SOLUTION, true, '5']],
      ],
      summarizer: ['Agent 3 is right: 3 + 2 = 5.\n#### 5', true, '5'],
      extraction: { ...none, correctAgents: [2], correctiveTraces: [{ agent: 2, wrongRound: 1, rightRound: 2 }] },
      usage: { promptTokens: 200, completionTokens: 80, calls: 7 },
    }),
    debate(runId, P2, {
      rounds: [[['10 / 2 = 5.\n#### 5', true, '5'], ['Half of 10 is 5.\n\n#### 5', true, '5'], ['Split 10 into two equal parts.\n\nEach part is 5.\n\n#### 5', true, '5']]],
      roundsPlanned: 2,
      earlyStopAfterRound: 1,
      callsSaved: 3,
      // Verified correct by the LLM verifier although no answer could be extracted: the gold answer stands in.
      summarizer: ['All agents agree that ten halves to five.', true, null],
      extraction: { correctAgents: [0, 1, 2], correctiveTraces: [], diverseAgents: [2, 0], diverseSelectedBy: 'llm-judge' },
      usage: { promptTokens: 150, completionTokens: 60, calls: 4 },
    }),
    debate(runId, P3, {
      rounds: [
        [['Jupiter is the largest.\nAnswer: B', true, 'B'], ['Mars is red.\nAnswer: A', false, 'A'], ['Hmm, not sure.', null, null]],
        [['Jupiter is the largest planet.\n\nAnswer: B', true, 'B'], ['Gas giants are big.\n\nJupiter is the biggest gas giant.\n\nAnswer: B', true, 'B'], ['I cannot tell.', null, null]],
      ],
      summarizer: ['The answer is Jupiter.\nAnswer: B', null, 'B'],
      extraction: { correctAgents: [0, 1], correctiveTraces: [{ agent: 1, wrongRound: 1, rightRound: 2 }], diverseAgents: [1, 0], diverseSelectedBy: 'lexical' },
      usage: { promptTokens: 300, completionTokens: 120, calls: 7 },
    }),
  ];
}

const prompt = (p: Problem): string => firstRoundMessage(p).content;
const trace = (agent: number, correct: boolean, steps: string[]) => ({ agent, correct, steps, labels: steps.map(() => (correct ? 1 : 0)) });

const expected = {
  rsft: [
    { id: 'p1', task: 'numeric', prompt: prompt(P1), completion: 'Agent 3 is right: 3 + 2 = 5.\n#### 5', answer: '5' },
    { id: 'p2', task: 'numeric', prompt: prompt(P2), completion: 'All agents agree that ten halves to five.', answer: '5' },
  ],
  da: [
    { id: 'p2', task: 'numeric', prompt: prompt(P2), completion: 'Split 10 into two equal parts.\n\nEach part is 5.\n\n#### 5', answer: '5', agent: 2, round: 1, rank: 1 },
    { id: 'p2', task: 'numeric', prompt: prompt(P2), completion: '10 / 2 = 5.\n#### 5', answer: '5', agent: 0, round: 1, rank: 2 },
    { id: 'p3', task: 'choice', prompt: prompt(P3), completion: 'Gas giants are big.\n\nJupiter is the biggest gas giant.\n\nAnswer: B', answer: 'B', agent: 1, round: 2, rank: 1 },
    { id: 'p3', task: 'choice', prompt: prompt(P3), completion: 'Jupiter is the largest planet.\n\nAnswer: B', answer: 'B', agent: 0, round: 2, rank: 2 },
  ],
  prm: [
    {
      id: 'p0', task: 'numeric', prompt: prompt(P0),
      traces: [trace(0, false, ['I still think 2 + 2 = 5.\n#### 5']), trace(1, false, ['First, 2 + 2.', 'That is 3.\n#### 3']), trace(2, false, ['#### 22'])],
      groups: [],
    },
    {
      id: 'p1', task: 'numeric', prompt: prompt(P1),
      traces: [
        trace(0, false, ['3 - 2 = 1.\n#### 1']),
        trace(1, false, ['Start with 3.', 'Multiply by 2 to get 6.\n#### 6']),
        trace(2, true, ['1. Tom starts with 3 apples.', '2. He buys 2 more.', '3. 3 + 2 = 5.\n#### 5']),
      ],
      // Position 2 is reached by the correct trace only: no negative there, so no group.
      groups: [{ position: 0, positive: 2, negatives: [0, 1] }, { position: 1, positive: 2, negatives: [1] }],
    },
    {
      id: 'p2', task: 'numeric', prompt: prompt(P2),
      traces: [trace(0, true, ['10 / 2 = 5.\n#### 5']), trace(1, true, ['Half of 10 is 5.\n#### 5']), trace(2, true, ['Split 10 into two equal parts.', 'Each part is 5.\n#### 5'])],
      groups: [],
    },
    {
      id: 'p3', task: 'choice', prompt: prompt(P3),
      traces: [trace(0, true, ['Jupiter is the largest planet.\nAnswer: B']), trace(1, true, ['Gas giants are big.', 'Jupiter is the biggest gas giant.\nAnswer: B'])],
      groups: [],
    },
  ],
  grpo: [
    { id: 'p0', task: 'numeric', prompt: prompt(P0), gold: '4' },
    { id: 'p1', task: 'numeric', prompt: prompt(P1), gold: '5' },
    { id: 'p2', task: 'numeric', prompt: prompt(P2), gold: '5' },
    { id: 'p3', task: 'choice', prompt: prompt(P3), gold: 'B', options: ['Mars', 'Jupiter', 'Venus'] },
  ],
};

const expectedStats = (runId: string): DatasetStats => ({
  runId,
  problems: 4,
  rounds: [
    // Round 1: every problem; correct = p2's three + p3's agent 0.
    { round: 1, problems: 4, turns: 12, correct: 4, accuracy: 4 / 12, turnsCarriedForward: 12, correctCarriedForward: 4, accuracyCarriedForward: 4 / 12 },
    // Round 2: p2 stopped after round 1; carried forward, its three correct final answers count here too.
    { round: 2, problems: 3, turns: 9, correct: 3, accuracy: 3 / 9, turnsCarriedForward: 12, correctCarriedForward: 6, accuracyCarriedForward: 6 / 12 },
  ],
  consensus: { correct: 2, accuracy: 0.5 },
  correctAgentsHistogram: [1, 1, 1, 1],
  correctiveTraces: { traces: 2, problems: 2 },
  da: { eligibleProblems: 2, records: 4, selectedBy: { llmJudge: 1, lexical: 1 } },
  earlyStop: { problems: 1, callsSaved: 3 },
  usage: { promptTokens: 750, completionTokens: 310, calls: 25 },
  undecided: { turns: 2, summarizer: 1 },
  // The hand-built records name no checker: all 21 turns and 4 summaries count as unnamed.
  checkers: { 'unnamed (before checkers were named)': 25 },
});

async function readAll<T>(store: ArtifactStore, key: string, schema: z.ZodType<T>): Promise<unknown[]> {
  const values: unknown[] = [];
  for await (const { value } of store.readJsonl(key)) {
    // Every line must be exactly what its schema accepts: no missing field, no stray one.
    expect(schema.parse(value)).toEqual(value);
    values.push(value);
  }
  return values;
}

async function putDebates(store: ArtifactStore, records: DebateRecord[]): Promise<void> {
  for (const record of records) await store.putJson(debateKey(record.runId, record.problem.id), record);
}

async function checkHandBuiltRun(url: string, runId: string): Promise<BuildDatasetsResult> {
  const store = openStore(url);
  await putDebates(store, debates(runId));
  mockStageAtManifest.length = 0;
  const result = await buildDatasets({ runId, store: url });

  const stage = `runs/${runId}/datasets`;
  expect(result.counts).toEqual({ problems: 4, rsft: 2, da: 4, prm: 4, grpo: 4 });
  expect(result.keys).toEqual({
    rsft: `${stage}/rsft.jsonl`, da: `${stage}/da.jsonl`, prm: `${stage}/prm.jsonl`, grpo: `${stage}/grpo.jsonl`,
    stats: `${stage}/stats.json`, manifest: `${stage}/manifest.json`,
  });
  expect(result.resumed).toBe(false);
  expect(await readAll(store, result.keys.rsft, RsftRecord)).toEqual(expected.rsft);
  expect(await readAll(store, result.keys.da, DaRecord)).toEqual(expected.da);
  expect(await readAll(store, result.keys.prm, PrmRecord)).toEqual(expected.prm);
  expect(await readAll(store, result.keys.grpo, GrpoRecord)).toEqual(expected.grpo);
  expect(result.stats).toEqual(expectedStats(runId));
  expect(DatasetStats.parse(await store.getJson(result.keys.stats))).toEqual(expectedStats(runId));

  expect(mockStageAtManifest).toEqual([[result.keys.da, result.keys.grpo, result.keys.prm, result.keys.rsft, result.keys.stats]]);
  const manifest = (await store.getJson(result.keys.manifest)) as Record<string, unknown>;
  expect(manifest).toMatchObject({ stage, inputs: { debates: 4 }, counts: result.counts });
  return result;
}

describe('buildDatasets on a file:// store', () => {
  let dir: string;
  let url: string;
  let store: ArtifactStore;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'agentark-datasets-'));
    url = pathToFileURL(dir).href;
    store = openStore(url);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('puts the round-1 user message the teacher saw in every record', () => {
    expect(expected.grpo[0].prompt).toBe('What is 2 + 2?\n\nReason step by step, then give the final answer as a number on the last line in the form "#### <number>".');
    expect(expected.grpo[3].prompt).toBe(
      'Which planet is largest?\n\nOptions:\nA. Mars\nB. Jupiter\nC. Venus\n\n' +
        'Reason step by step, then give the letter of the correct option on the last line in the form "Answer: <letter>".',
    );
  });

  it('writes the exact records and stats of hand-built debates, manifest last', async () => {
    await checkHandBuiltRun(url, 'hand');
  });

  it('returns the recorded result without rewriting when the manifest is there, and rebuilds when debates were added', async () => {
    const first = await checkHandBuiltRun(url, 'resume');
    const sentinel = '{"marker":"not rewritten"}\n';
    await store.putText(first.keys.rsft, sentinel);
    const manifestBefore = await store.getText(first.keys.manifest);

    mockStageAtManifest.length = 0;
    const again = await buildDatasets({ runId: 'resume', store: url });
    expect(again).toEqual({ ...first, resumed: true });
    expect(await store.getText(first.keys.rsft)).toBe(sentinel);
    expect(await store.getText(first.keys.manifest)).toBe(manifestBefore);
    expect(mockStageAtManifest).toEqual([]);

    await putDebates(store, [debate('resume', numeric('p4', 'What is 1 + 1?', '2'), {
      rounds: [[['1 + 1 = 2\n#### 2', true, '2'], ['#### 2', true, '2']]],
      summarizer: ['#### 2', true, '2'],
      extraction: { correctAgents: [0, 1], correctiveTraces: [], diverseAgents: [0], diverseSelectedBy: 'lexical' },
      usage: { promptTokens: 10, completionTokens: 5, calls: 3 },
    })]);
    const rebuilt = await buildDatasets({ runId: 'resume', store: url });
    expect(rebuilt.resumed).toBe(false);
    expect(rebuilt.counts).toEqual({ problems: 5, rsft: 3, da: 5, prm: 5, grpo: 5 });
    expect((await readAll(store, first.keys.rsft, RsftRecord)).map((r) => (r as RsftRecord).id)).toEqual(['p1', 'p2', 'p4']);
    expect(await store.getJson(first.keys.manifest)).toMatchObject({ inputs: { debates: 5 }, counts: rebuilt.counts });
  });

  it('fails naming the key of an invalid artifact, and leaves no manifest and no dataset behind', async () => {
    const [good, bad] = debates('bad');
    await putDebates(store, [good]);
    await store.putJson(debateKey('bad', 'p1'), { ...bad, agents: 0 });
    await expect(buildDatasets({ runId: 'bad', store: url })).rejects.toThrow(/runs\/bad\/debates\/p1\.json: invalid debate artifact: .*agents/s);
    const left: string[] = [];
    for await (const key of store.list('runs/bad/datasets/')) left.push(key);
    expect(left).toEqual([]);

    await store.putText(debateKey('bad', 'p1'), '{"runId": "bad", ');
    await expect(buildDatasets({ runId: 'bad', store: url })).rejects.toThrow('runs/bad/debates/p1.json: invalid debate artifact: not valid JSON');
  });

  it('fails on a diverse agent whose final turn is not verified correct', async () => {
    const [, , p2] = debates('liar');
    p2.extraction.diverseAgents = [2, 0];
    p2.rounds[0].turns[0].correct = false;
    await putDebates(store, [p2]);
    await expect(buildDatasets({ runId: 'liar', store: url })).rejects.toThrow(
      'runs/liar/debates/p2.json: invalid debate artifact: diverse agent 0 has no verified-correct turn in round 1',
    );
  });

  it('fails when the run has no debates', async () => {
    await expect(buildDatasets({ runId: 'empty', store: url })).rejects.toThrow(/no debate artifacts under .*runs\/empty\/debates\//);
  });

  it('keeps at most 32 contrastive groups per problem, lowest step positions first', async () => {
    const steps = (tag: string) => Array.from({ length: 20 }, (_, i) => `${tag} step ${i}.`).join('\n\n');
    await putDebates(store, [debate('cap', P1, {
      rounds: [[[steps('right'), true, '5'], [steps('also right'), true, '5'], [steps('wrong'), false, '6']]],
      summarizer: ['#### 5', true, '5'],
      extraction: { correctAgents: [0, 1], correctiveTraces: [], diverseAgents: [], diverseSelectedBy: 'none' },
      usage: { promptTokens: 1, completionTokens: 1, calls: 4 },
    })]);
    const result = await buildDatasets({ runId: 'cap', store: url });
    const [record] = (await readAll(store, result.keys.prm, PrmRecord)) as PrmRecord[];
    expect(record.groups).toEqual(
      Array.from({ length: 16 }, (_, position) => [{ position, positive: 0, negatives: [2] }, { position, positive: 1, negatives: [2] }]).flat(),
    );
  });

  it('heartbeats its progress when it runs as an activity', async () => {
    const runId = 'beat';
    const [p0] = debates(runId);
    await putDebates(store, Array.from({ length: 401 }, (_, i) => ({ ...p0, problem: { ...p0.problem, id: `q${String(i).padStart(3, '0')}` } })));
    const env = new MockActivityEnvironment();
    const beats: unknown[] = [];
    env.on('heartbeat', (details: unknown) => beats.push(details));
    const result = (await env.run(buildDatasets, { runId, store: url })) as BuildDatasetsResult;
    expect(result.counts.problems).toBe(401);
    // One beat per artifact listed, then one per record read (the SDK throttles what it sends).
    const counts = Array.from({ length: 401 }, (_, i) => i + 1);
    expect(beats).toEqual([...counts, ...counts]);
  });
});

const withS3 = process.env.AWS_ENDPOINT_URL_S3 ? describe : describe.skip;
withS3('buildDatasets on the S3 store', () => {
  const prefix = `test/build-datasets-${process.pid}-${Date.now()}`;
  beforeAll(() => ensureBucket());
  afterAll(() => emptyPrefix(`${prefix}/`));

  it('writes the same records and stats as on disk', async () => {
    await checkHandBuiltRun(`s3://${TEST_BUCKET}/${prefix}`, 'hand');
  });
});
