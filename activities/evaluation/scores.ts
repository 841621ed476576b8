import { ApplicationFailure, Context } from '@temporalio/activity';
import { evalResultsKey, evalPrefix, type EvaluationResult, type MasLine, type ModelScore } from '../../core/evaluation';
import { Problem } from '../../core/problem';
import { DatasetStats, GenerateOutput } from '../../core/records';
import { comparisonsForScoring, Equivalences, samplesByProblem, scoreModel } from '../../core/scoring';
import type { Comparison, Verdict } from '../../core/verdict';
import { storeFor } from '../artifacts';
import { checkAnswers, equivalences } from '../checker';
import { writeManifest } from '../store/manifest';

export interface ScoreInput {
  model: string;
  testSet: string;
  problemsKey: string;
  generationsKey: string;
  /** Where scores.json goes (next to the generations). */
  scoresKey: string;
  samples: number;
  store?: string;
}

/** Checks per call to the checker, with a heartbeat between calls (100k completions take minutes). */
const CHUNK = 2000;

/**
 * One model's answers on one test set, judged by the answer checker (activities/checker: verdicts on
 * every generation, then the equivalences maj@k needs) and scored by core/scoring; scores.json written.
 */
export async function scoreGenerations(input: ScoreInput): Promise<ModelScore> {
  const store = storeFor(input.store);
  const problems: Problem[] = [];
  for await (const { value } of store.readJsonl(input.problemsKey)) problems.push(Problem.parse(value));
  const generations: GenerateOutput[] = [];
  for await (const { value, line } of store.readJsonl(input.generationsKey)) {
    const parsed = GenerateOutput.safeParse(value);
    if (!parsed.success) throw ApplicationFailure.nonRetryable(`${store.urlOf(input.generationsKey)} line ${line}: not a generation (${parsed.error.issues[0]?.message})`, 'BadGenerations');
    generations.push(parsed.data);
  }
  const bad = (err: unknown): ApplicationFailure => ApplicationFailure.nonRetryable(`${input.model} on ${input.testSet}: ${(err as Error).message}`, 'BadGenerations');
  try {
    samplesByProblem(problems, generations, input.samples);
  } catch (err) {
    throw bad(err);
  }
  const byId = new Map(problems.map((p) => [p.id, p]));
  const verdicts = await inChunks(generations, (chunk) => checkAnswers(chunk.map((g) => {
    const p = byId.get(g.id)!;
    return { task: p.task, completion: g.completion, gold: p.gold, options: p.options };
  })));
  const comparisons = comparisonsForScoring({ problems, generations, verdicts, samples: input.samples });
  const same = await inChunks<Comparison, boolean | null>(comparisons, (chunk) => equivalences(chunk));
  let score: ModelScore;
  try {
    score = scoreModel({ ...input, problems, generations, verdicts, equivalences: new Equivalences(comparisons, same) });
  } catch (err) {
    throw bad(err);
  }
  await store.putJson(input.scoresKey, score);
  return score;
}

async function inChunks<T, R>(items: readonly T[], check: (chunk: readonly T[]) => Promise<R[]>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += CHUNK) {
    out.push(...(await check(items.slice(i, i + CHUNK))));
    Context.current().heartbeat({ checked: out.length, of: items.length });
  }
  return out;
}

/** The teacher's lines on each test set, from the stats of a generateDebates run over it. */
export async function masLines(input: { mas: Record<string, string>; store?: string }): Promise<MasLine[]> {
  const store = storeFor(input.store);
  const lines: MasLine[] = [];
  for (const [testSet, runId] of Object.entries(input.mas)) {
    const key = `runs/${runId}/datasets/stats.json`;
    if (!(await store.exists(key))) {
      throw ApplicationFailure.nonRetryable(`mas.${testSet}: run '${runId}' has no debate stats (${store.urlOf(key)}): run generateDebates on the test set first`, 'NoMasRun');
    }
    const stats = DatasetStats.parse(await store.getJson(key));
    lines.push({ testSet, runId, problems: stats.problems, consensus: stats.consensus.accuracy, singleAgent: stats.rounds[0]?.accuracy ?? null });
  }
  return lines;
}

/** results.json, then the evaluation's manifest (written last: its presence says the stage finished). */
export async function writeEvaluation(input: { result: EvaluationResult; store?: string }): Promise<string> {
  const store = storeFor(input.store);
  const key = evalResultsKey(input.result.runId);
  await store.putJson(key, input.result);
  await writeManifest(store, evalPrefix(input.result.runId), {
    inputs: { models: input.result.models, sampling: input.result.sampling }, configHash: 'results', counts: { scores: input.result.scores.length },
  });
  return key;
}
