import * as rouge from 'js-rouge';
import type { ModelScore, Rate } from './evaluation';
import type { Problem } from './problem';
import type { GenerateOutput } from './records';
import type { Comparison, Verdict } from './verdict';

/**
 * The scoring rules of the evaluation stage: pure functions over the loaded problems, one model's
 * generations and the checker's verdicts on them. The verdicts, and the equivalences majority voting
 * needs (comparisonsForScoring), come from the answer checker (activities/checker), which the
 * activity calls before scoring.
 */

/**
 * Wilson score interval for k successes in n trials (z = 1.96: 95%).
 * n = 0 carries no information: rate 0 and the whole interval [0, 1].
 */
export function wilson(k: number, n: number, z = 1.96): Rate {
  if (!Number.isInteger(k) || !Number.isInteger(n) || k < 0 || n < 0 || k > n) throw new Error(`wilson: need integers 0 <= k <= n, got k=${k}, n=${n}`);
  if (n === 0) return { k, n, rate: 0, low: 0, high: 1 };
  const p = k / n;
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denom;
  const half = (z / denom) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  // Clamped: at k = 0 or k = n the bound is exactly 0 or 1 but rounding can land just outside.
  return { k, n, rate: p, low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

/**
 * pass@k from n samples of which c are correct: the unbiased estimator of Chen et al. 2021,
 * 1 - C(n-c, k) / C(n, k), computed as 1 - Π_{i=n-c+1..n} (1 - k/i) so no binomial overflows.
 * Over a set of problems, pass@k is the mean of this value.
 */
export function passAtK(n: number, c: number, k: number): number {
  if (![n, c, k].every(Number.isInteger) || c < 0 || c > n || k < 1 || k > n) throw new Error(`passAtK: need integers 0 <= c <= n and 1 <= k <= n, got n=${n}, c=${c}, k=${k}`);
  // Fewer than k wrong samples: every draw of k contains a correct one.
  if (n - c < k) return 1;
  let allWrong = 1;
  for (let i = n - c + 1; i <= n; i++) allWrong *= 1 - k / i;
  return 1 - allWrong;
}

/**
 * Majority vote over extracted answers (null = nothing extracted, no vote). Two answers are the same
 * when they are equal strings or `same(answer, groupFirst)` says so; each answer joins the first
 * group whose first member it matches. A tie goes to the group that reached the winning count first,
 * i.e. at the earliest sample. Returns that group's first answer as written, or null when no sample had one.
 */
export function majorityAnswer(extracted: readonly (string | null)[], same: (a: string, b: string) => boolean): string | null {
  const groups: { answer: string; count: number }[] = [];
  let best: { answer: string; count: number } | null = null;
  for (const answer of extracted) {
    if (answer === null) continue;
    let group = groups.find((g) => answer === g.answer || same(answer, g.answer));
    if (!group) groups.push((group = { answer, count: 0 }));
    group.count++;
    // Strictly greater: a later group that only equals the best count does not take over.
    if (!best || group.count > best.count) best = group;
  }
  return best?.answer ?? null;
}

/** The checker's equivalences, looked up by comparison; asking for one not given is a programming error. */
export class Equivalences {
  private readonly known = new Map<string, boolean | null>();

  constructor(comparisons: readonly Comparison[] = [], results: readonly (boolean | null)[] = []) {
    if (comparisons.length !== results.length) throw new Error(`${comparisons.length} comparisons but ${results.length} results`);
    comparisons.forEach((c, i) => this.known.set(key(c), results[i]));
  }

  get(c: Comparison): boolean | null {
    const k = key(c);
    if (!this.known.has(k)) throw new Error(`no equivalence given for ${k}: ask the checker for comparisonsForScoring(...) first`);
    return this.known.get(k)!;
  }
}

const key = (c: Comparison): string => JSON.stringify([c.task, c.options ?? null, c.a, c.b]);

/** SQuAD's answer normalisation: lowercase, drop punctuation and the articles a/an/the, collapse whitespace. */
export function normaliseText(s: string): string {
  return s
    .toLowerCase()
    .replace(/[\p{P}\p{S}]/gu, '')
    .replace(/\b(a|an|the)\b/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

const words = (s: string): string[] => (s === '' ? [] : s.split(' '));

/** 1 when the normalised strings are equal, else 0. */
export function exactMatch(pred: string, gold: string): number {
  return normaliseText(pred) === normaliseText(gold) ? 1 : 0;
}

/** SQuAD token F1 over normalised words (a bag: repeated words count as often as they appear in both). */
export function tokenF1(pred: string, gold: string): number {
  const p = words(normaliseText(pred));
  const g = words(normaliseText(gold));
  // SQuAD: when either side has no words, F1 is 1 if both are empty and 0 otherwise.
  if (p.length === 0 || g.length === 0) return p.length === g.length ? 1 : 0;
  const left = new Map<string, number>();
  for (const w of g) left.set(w, (left.get(w) ?? 0) + 1);
  let common = 0;
  for (const w of p) {
    const m = left.get(w) ?? 0;
    if (m > 0) {
      common++;
      left.set(w, m - 1);
    }
  }
  if (common === 0) return 0;
  const precision = common / p.length;
  const recall = common / g.length;
  return (2 * precision * recall) / (precision + recall);
}

export interface RougeScores {
  rouge1: number;
  rouge2: number;
  rougeL: number;
}

/**
 * ROUGE-1, ROUGE-2 and ROUGE-L F-measures (js-rouge) of pred against gold, both lowercased with
 * every run of non-letters/digits turned into one space (as rouge-score tokenises); ROUGE-L is
 * then the LCS over the whole string. Like rouge-score, ROUGE-2 is 0 when a side has no bigram
 * (a one-word answer). An empty side scores 1 if both are empty, else 0 (js-rouge rejects empty input).
 */
export function rougeScores(pred: string, gold: string): RougeScores {
  const clean = (s: string): string => s.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, ' ').trim();
  const cand = clean(pred);
  const ref = clean(gold);
  if (cand === '' || ref === '') {
    const v = cand === ref ? 1 : 0;
    return { rouge1: v, rouge2: v, rougeL: v };
  }
  return { rouge1: rouge.n(cand, ref, { n: 1 }), rouge2: rouge.n(cand, ref, { n: 2 }), rougeL: rouge.l(cand, ref) };
}

/** One line of the generate output as scoring reads it; `tokens` (completion length) may be absent. */
export type Generation = Pick<GenerateOutput, 'id' | 'sample' | 'completion' | 'finishReason'> & { tokens?: number };

export interface ScoreModelInput {
  model: string;
  testSet: string;
  problems: readonly Problem[];
  generations: readonly Generation[];
  /** The checker's verdict on each generation, in the order of `generations`. */
  verdicts: readonly Verdict[];
  /** With samples > 1: the checker's answers to comparisonsForScoring(...). */
  equivalences?: Equivalences;
  samples: number;
  generationsKey: string;
  scoresKey: string;
}

const mean = (xs: readonly number[]): number => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length);

interface Sampled {
  problem: Problem;
  /** Its generations by sample number, each with its verdict (absent while verdicts are not known yet). */
  list: { generation: Generation; verdict?: Verdict }[];
}

/**
 * The generations of each problem, in sample order. Every problem must have exactly `samples`
 * generations, numbered 0..samples-1, and every generation must belong to a problem; otherwise
 * this throws an Error naming the problem id.
 */
export function samplesByProblem(problems: readonly Problem[], generations: readonly Generation[], samples: number, verdicts?: readonly Verdict[]): Sampled[] {
  if (!Number.isInteger(samples) || samples < 1) throw new Error(`samples must be a positive integer, got ${samples}`);
  if (verdicts && verdicts.length !== generations.length) throw new Error(`${generations.length} generations but ${verdicts.length} verdicts`);
  const byId = new Map<string, Sampled>();
  for (const p of problems) {
    if (byId.has(p.id)) throw new Error(`problem ${p.id}: appears twice in the test set`);
    byId.set(p.id, { problem: p, list: [] });
  }
  generations.forEach((g, i) => {
    const entry = byId.get(g.id);
    if (!entry) throw new Error(`problem ${g.id}: has a generation (sample ${g.sample}) but is not in the test set`);
    entry.list.push({ generation: g, verdict: verdicts?.[i] });
  });
  if (problems.length === 0) throw new Error('the test set has no problems');
  const out = [...byId.values()];
  for (const { problem: p, list } of out) {
    list.sort((a, b) => a.generation.sample - b.generation.sample);
    if (list.length === 0) throw new Error(`problem ${p.id}: no generation`);
    if (list.length !== samples) throw new Error(`problem ${p.id}: ${list.length} generations, expected ${samples}`);
    list.forEach(({ generation: g }, i) => {
      if (g.sample !== i) throw new Error(`problem ${p.id}: samples are ${list.map((x) => x.generation.sample).join(', ')}, expected 0..${samples - 1}`);
    });
  }
  return out;
}

/**
 * What scoreModel will ask `equivalences` (samples > 1, tasks other than `text`): each pair of
 * different answers extracted from one problem's samples (the later one against the earlier, as
 * majority voting compares them), and each such answer against the gold. At most samples² / 2 + samples
 * a problem, far fewer when its samples agree.
 */
export function comparisonsForScoring(input: Pick<ScoreModelInput, 'problems' | 'generations' | 'verdicts' | 'samples'>): Comparison[] {
  if (input.samples === 1) return [];
  const seen = new Set<string>();
  const out: Comparison[] = [];
  const add = (c: Comparison): void => {
    const k = key(c);
    if (!seen.has(k)) {
      seen.add(k);
      out.push(c);
    }
  };
  for (const { problem: p, list } of samplesByProblem(input.problems, input.generations, input.samples, input.verdicts)) {
    if (p.task === 'text') continue;
    const answers = [...new Set(list.map((s) => s.verdict!.extracted).filter((a): a is string => a !== null))];
    const options = p.options ? { options: p.options } : {};
    answers.forEach((a, j) => {
      for (const b of answers.slice(0, j)) add({ task: p.task, a, b, ...options });
      add({ task: p.task, a, b: p.gold, ...options });
    });
  }
  return out;
}

/**
 * Scores one model on one test set (the generations are validated as samplesByProblem says). Sample 0
 * is the model's answer (accuracy, undecided, truncated, text metrics); all samples feed maj@k and
 * pass@k (k = samples) when samples > 1.
 */
export function scoreModel(input: ScoreModelInput): ModelScore {
  const { model, testSet, problems, generations, verdicts, equivalences, samples, generationsKey, scoresKey } = input;
  const sampled = samplesByProblem(problems, generations, samples, verdicts);
  if (samples > 1 && !equivalences) throw new Error(`samples ${samples}: majority voting needs the equivalences of comparisonsForScoring(...)`);
  const tasks = new Set(problems.map((p) => p.task));
  const task = tasks.size === 1 ? problems[0].task : 'mixed';
  let correct = 0;
  let undecided = 0;
  let truncated = 0;
  let majCorrect = 0;
  const pass: number[] = [];
  const tokens: number[] = [];
  const text: { exactMatch: number[]; tokenF1: number[]; rouge1: number[]; rouge2: number[]; rougeL: number[] } = { exactMatch: [], tokenF1: [], rouge1: [], rouge2: [], rougeL: [] };

  for (const { problem: p, list } of sampled) {
    const checks = list.map((s) => s.verdict!);
    // Completion length: the trainer's token count, or when a line lacks it, whitespace-separated words.
    for (const { generation: g } of list) tokens.push(g.tokens ?? words(g.completion.trim().replace(/\s+/g, ' ')).length);

    const first = checks[0];
    if (first.correct === true) correct++;
    if (first.correct === null) undecided++;
    if (list[0].generation.finishReason === 'length') truncated++;

    if (samples > 1) {
      const options = p.options ? { options: p.options } : {};
      const same = (a: string, b: string): boolean =>
        p.task === 'text' ? normaliseText(a) === normaliseText(b) : equivalences!.get({ task: p.task, a, b, ...options }) === true;
      const winner = majorityAnswer(checks.map((c) => c.extracted), same);
      if (winner !== null && p.task !== 'text' && same(winner, p.gold)) majCorrect++;
      pass.push(passAtK(samples, checks.filter((c) => c.correct === true).length, samples));
    }

    if (task === 'text') {
      const pred = first.extracted ?? list[0].generation.completion;
      const r = rougeScores(pred, p.gold);
      text.exactMatch.push(exactMatch(pred, p.gold));
      text.tokenF1.push(tokenF1(pred, p.gold));
      text.rouge1.push(r.rouge1);
      text.rouge2.push(r.rouge2);
      text.rougeL.push(r.rougeL);
    }
  }

  const n = problems.length;
  return {
    model,
    testSet,
    task,
    n,
    samples,
    accuracy: wilson(correct, n),
    undecided,
    truncated,
    meanCompletionTokens: mean(tokens),
    majAtK: samples > 1 ? wilson(majCorrect, n) : null,
    passAtK: samples > 1 ? mean(pass) : null,
    text:
      task === 'text'
        ? { exactMatch: mean(text.exactMatch), tokenF1: mean(text.tokenF1), rouge1: mean(text.rouge1), rouge2: mean(text.rouge2), rougeL: mean(text.rougeL) }
        : null,
    checker: { name: verdicts[0].checker, version: verdicts[0].version },
    generationsKey,
    scoresKey,
  };
}
