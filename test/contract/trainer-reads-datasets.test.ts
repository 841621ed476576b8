import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildDatasets, type BuildDatasetsResult } from '../../activities/datasets/build-datasets';
import { openStore } from '../../activities/store/store';
import { debateKey, type DebateRecord } from '../../core/debate-record';
import type { Problem } from '../../core/problem';
import { repoRoot, venvBin } from '../../infra/dev/paths';
import { debate, none, numeric } from '../activities/debate-record-builder';

/**
 * The contract between the two sides: the dataset files written by the TypeScript buildDatasets are
 * read and trained on by the real Python trainer CLI (sft on rsft and da, prm stage 1 then 2, grpo with
 * that PRM as reward), on a tiny random Qwen3 for one step each. stdout must be the event protocol of
 * trainer/README.md: every line one JSON object, ending with `done`.
 */

const usage = { promptTokens: 10, completionTokens: 10, calls: 4 };
const C1 = numeric('c1', 'Ann has 4 pens and buys 3 more. How many pens does she have?', '7');
const C2: Problem = { id: 'c2', task: 'math', question: 'Simplify $\\frac{2}{4}$.', gold: '\\frac{1}{2}' };
const C3: Problem = { id: 'c3', task: 'choice', question: 'Which planet is largest?', gold: 'B', options: ['Mars', 'Jupiter', 'Venus'] };
const C4: Problem = { id: 'c4', task: 'text', question: 'Name the capital of France.', gold: 'Paris' };
const C5 = numeric('c5', 'What is 6 * 7?', '42');

/** Solutions in each shape core/steps.ts cuts: numbered lines, paragraphs, `Step N:`, a lone final answer. */
function debates(runId: string): DebateRecord[] {
  return [
    debate(runId, C1, {
      rounds: [[
        ['1. Ann starts with 4 pens.\n2. She buys 3 more.\n3. 4 + 3 = 7.\n#### 7', true, '7'],
        ['Ann has 4 pens.\n\nAdding the 3 new ones gives 7.\n\n#### 7', true, '7'],
        ['Ann has 4 pens.\n\nShe gives away 3, so 1 is left.\n\n#### 1', false, '1'],
      ]],
      summarizer: ['Two agents add: 4 + 3 = 7.\n#### 7', true, '7'],
      extraction: { correctAgents: [0, 1], correctiveTraces: [], diverseAgents: [1, 0], diverseSelectedBy: 'lexical' },
      usage,
    }),
    debate(runId, C2, {
      rounds: [
        [['Step 1: flip it, 4/2.\nStep 2: that is 2.\n$\\boxed{2}$', false, '2'], ['It is $\\boxed{2}$.', false, '2']],
        [['Divide top and bottom by 2.\n\nSo the answer is $\\boxed{\\frac{1}{2}}$.', true, '\\frac{1}{2}'], ['Step 1: flip it.\nStep 2: $\\boxed{2}$', false, '2']],
      ],
      summarizer: ['Dividing by 2 gives $\\boxed{\\frac{1}{2}}$.', true, '\\frac{1}{2}'],
      extraction: { ...none, correctAgents: [0], correctiveTraces: [{ agent: 0, wrongRound: 1, rightRound: 2 }] },
      usage,
    }),
    debate(runId, C3, {
      rounds: [[['Jupiter is a gas giant.\n\nIt is the largest planet.\n\nAnswer: B', true, 'B'], ['Mars is red.\n\nAnswer: A', false, 'A']]],
      summarizer: ['Jupiter is the largest.\nAnswer: B', true, 'B'],
      extraction: { ...none, correctAgents: [0] },
      usage,
    }),
    debate(runId, C4, {
      rounds: [[['France is in Europe.\n\nIts capital is Paris.', true, 'Paris'], ['I think it is Lyon.', false, 'Lyon']]],
      summarizer: ['Paris', true, 'Paris'],
      extraction: { ...none, correctAgents: [0] },
      usage,
    }),
    debate(runId, C5, {
      rounds: [[['6 * 7 = 48\n#### 48', false, '48'], ['6 + 7 = 13\n\n#### 13', false, '13']]],
      summarizer: ['#### 48', false, '48'],
      extraction: { ...none, correctAgents: [] },
      usage,
    }),
  ];
}

interface TrainerRun {
  code: number | null;
  events: Record<string, unknown>[];
  stderr: string;
}

/** `python -m agentark_trainer <job> --config <file>`, as the trainer activity runs it. */
async function runTrainer(dir: string, name: string, job: string, config: Record<string, unknown>): Promise<TrainerRun> {
  const configPath = join(dir, `${name}.json`);
  await writeFile(configPath, JSON.stringify({ output_dir: join(dir, name), ...config }));
  const child = spawn(venvBin('python'), ['-m', 'agentark_trainer', job, '--config', configPath], {
    cwd: join(repoRoot, 'trainer'),
    env: { ...process.env, HF_HUB_OFFLINE: '1', OMP_NUM_THREADS: '1', TOKENIZERS_PARALLELISM: 'false' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  const events = stdout
    .split('\n')
    .filter((line, i, lines) => line !== '' || i < lines.length - 1)
    .map((line, i) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        throw new Error(`${name}: stdout line ${i + 1} is not a JSON object: ${JSON.stringify(line)}\nstderr:\n${stderr.slice(-3000)}`);
      }
    });
  return { code, events, stderr };
}

/** Exit 0, every event carries `event` and `time`, the first is `start` and the last is `done`. */
function expectDone(run: TrainerRun, job: string): Record<string, unknown> {
  if (run.code !== 0) throw new Error(`trainer ${job} exited ${run.code}:\n${run.stderr.slice(-4000)}`);
  for (const e of run.events) expect(e).toEqual(expect.objectContaining({ event: expect.any(String), time: expect.any(Number) }));
  const kinds = run.events.map((e) => e.event);
  expect(kinds[0]).toBe('start');
  expect(kinds).toContain('progress');
  expect(kinds[kinds.length - 1]).toBe('done');
  const done = run.events[run.events.length - 1];
  expect(done).toMatchObject({ job, output: expect.any(String) });
  return run.events[0];
}

async function jsonl(path: string): Promise<Record<string, unknown>[]> {
  return (await readFile(path, 'utf8'))
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('the trainer reads the datasets buildDatasets writes', () => {
  const runId = 'contract';
  const model = { arch: 'qwen3-tiny' };
  const train = { model, max_steps: 1, batch_size: 2, lr: 1e-3, max_seq_len: 512 };
  let dir: string;
  let built: BuildDatasetsResult;
  let file: (key: string) => string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'agentark-contract-'));
    const store = openStore(pathToFileURL(dir).href);
    for (const record of debates(runId)) await store.putJson(debateKey(runId, record.problem.id), record);
    built = await buildDatasets({ runId, store: pathToFileURL(dir).href });
    file = (key) => join(dir, ...key.split('/'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('builds every dataset with records in it', () => {
    expect(built.counts).toEqual({ problems: 5, rsft: 4, da: 2, prm: 5, grpo: 5 });
  });

  it('sft trains on rsft.jsonl and da.jsonl, prm stage 1 then stage 2 on prm.jsonl, grpo on grpo.jsonl with that PRM', async () => {
    // The three jobs that need nothing from each other run side by side.
    const [rsft, da, prm1] = await Promise.all([
      runTrainer(dir, 'sft-rsft', 'sft', { ...train, data: file(built.keys.rsft) }),
      runTrainer(dir, 'sft-da', 'sft', { ...train, data: file(built.keys.da) }),
      runTrainer(dir, 'prm-1', 'prm', { ...train, data: file(built.keys.prm), stage: 1 }),
    ]);
    expect(expectDone(rsft, 'sft')).toMatchObject({ examples: built.counts.rsft });
    expect(expectDone(da, 'sft')).toMatchObject({ examples: built.counts.da });
    const withGroups = (await jsonl(file(built.keys.prm))).filter((r) => (r.groups as unknown[]).length > 0).length;
    expect(withGroups).toBeGreaterThan(0);
    expect(expectDone(prm1, 'prm')).toMatchObject({ stage: 1, loss: 'contrastive', problems: withGroups });

    const stage1 = prm1.events[prm1.events.length - 1].output as string;
    const prm2 = await runTrainer(dir, 'prm-2', 'prm', { ...train, data: file(built.keys.prm), stage: 2, init_from: stage1 });
    expect(expectDone(prm2, 'prm')).toMatchObject({ stage: 2, problems: withGroups });

    const rewardModel = prm2.events[prm2.events.length - 1].output as string;
    const grpo = await runTrainer(dir, 'grpo', 'grpo', {
      model, data: file(built.keys.grpo), prm: rewardModel, max_steps: 1, batch_size: 2, group_size: 2,
      max_new_tokens: 8, max_prompt_len: 512, lr: 1e-3,
    });
    expect(expectDone(grpo, 'grpo')).toMatchObject({ prompts: built.counts.grpo, reward: 'prm' });
    const [metric] = grpo.events.filter((e) => e.event === 'metric');
    // the PRM scored the sampled completions: a mean of sigmoids, strictly inside (0, 1)
    const prmReward = (metric.metrics as Record<string, number>).prm_reward;
    expect(prmReward).toBeGreaterThan(0);
    expect(prmReward).toBeLessThan(1);
  }, 240_000);
});
