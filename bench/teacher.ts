/**
 * The teacher stage measured side by side: saturation against a scripted fake teacher with latency
 * L and a cap of C calls, orchestration capacity, fan-out, resume cost, early stop, long replies.
 *   tsx bench/teacher.ts [--only saturation,capacity] [--problems 200] [--fanout-problems 20000] …
 * Starts the dev services if they are down (never stops them); prints `name: value (ratio × reference)`
 * per figure and writes every figure to bench/results/<timestamp>.json. See bench/README.md.
 */
import { Command, InvalidArgumentError } from 'commander';
import { defaultOptions, runBench, type BenchOptions } from './teacher/bench';
import { FIGURES, type FigureName } from './teacher/figures/figure';

const int = (name: string) => (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a whole number ≥ 1, got '${v}'`);
  return n;
};
const numbers = (name: string) => (v: string): number[] =>
  v.split(',').map((x) => {
    const n = Number(x);
    if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${name}: '${x}' is not a number ≥ 0`);
    return n;
  });
const figures = (v: string): FigureName[] =>
  v.split(',').map((x) => {
    if (!(FIGURES as readonly string[]).includes(x)) throw new InvalidArgumentError(`unknown figure '${x}' (figures: ${FIGURES.join(', ')})`);
    return x as FigureName;
  });

const d = defaultOptions;
const program = new Command('bench-teacher')
  .description('teacher-stage bench: generateDebates against a scripted fake teacher, side by side with its references')
  .option('--only <figures>', `comma-separated figures (${FIGURES.join(', ')})`, figures, [...d.only])
  .option('--problems <n>', 'saturation: problems per (L, C) point', int('--problems'), d.problems)
  .option('--latencies <s>', 'saturation: latencies L in seconds', numbers('--latencies'), d.latenciesS)
  .option('--concurrencies <c>', 'saturation: concurrency caps C', numbers('--concurrencies'), d.concurrencies)
  .option('--capacity-problems <n>', 'capacity: problems at L≈0', int('--capacity-problems'), d.capacityProblems)
  .option('--open-concurrency <c>', 'llm worker concurrency where the teacher has no cap', int('--open-concurrency'), d.openConcurrency)
  .option('--fanout-problems <n>', 'fan-out: problems at L≈0 (the issue asks for 20000)', int('--fanout-problems'), d.fanoutProblems)
  .option('--resume-problems <n>', 'resume: problems', int('--resume-problems'), d.resumeProblems)
  .option('--resume-latency <s>', 'resume: teacher latency in seconds', Number, d.resumeLatencyS)
  .option('--resume-concurrency <c>', 'resume: llm concurrency and teacher cap', int('--resume-concurrency'), d.resumeConcurrency)
  .option('--early-stop-problems <n>', 'early stop: problems per run', int('--early-stop-problems'), d.earlyStopProblems)
  .option('--long-problems <n>', 'long replies: problems', int('--long-problems'), d.longProblems)
  .option('--long-reply-tokens <n>', 'long replies: tokens per reply', int('--long-reply-tokens'), d.longReplyTokens)
  .option('--long-reasoning-tokens <n>', 'long replies: reasoning tokens per reply', int('--long-reasoning-tokens'), d.longReasoningTokens)
  .option('--figure-timeout <min>', 'give up on a run after this many minutes', int('--figure-timeout'), d.figureTimeoutMinutes)
  .option('--keep-store', "keep each run's store prefix (cached replies, debates) instead of removing it", false)
  .option('--out <dir>', 'folder for the JSON results', d.outDir);

async function main(): Promise<void> {
  const o = program.parse().opts<{
    only: FigureName[]; problems: number; latencies: number[]; concurrencies: number[]; capacityProblems: number; openConcurrency: number;
    fanoutProblems: number; resumeProblems: number; resumeLatency: number; resumeConcurrency: number; earlyStopProblems: number;
    longProblems: number; longReplyTokens: number; longReasoningTokens: number; figureTimeout: number; keepStore: boolean; out: string;
  }>();
  const options: BenchOptions = {
    only: o.only,
    problems: o.problems,
    latenciesS: o.latencies,
    concurrencies: o.concurrencies,
    capacityProblems: o.capacityProblems,
    openConcurrency: o.openConcurrency,
    fanoutProblems: o.fanoutProblems,
    resumeProblems: o.resumeProblems,
    resumeLatencyS: o.resumeLatency,
    resumeConcurrency: o.resumeConcurrency,
    earlyStopProblems: o.earlyStopProblems,
    longProblems: o.longProblems,
    longReplyTokens: o.longReplyTokens,
    longReasoningTokens: o.longReasoningTokens,
    figureTimeoutMinutes: o.figureTimeout,
    keepStore: o.keepStore,
    outDir: o.out,
  };
  const results = await runBench(options);
  if (Object.values(results.figures).some((f) => f && 'error' in f)) process.exitCode = 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
