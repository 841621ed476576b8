import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { openBench, type BenchContext } from './context';
import { capacity } from './figures/capacity';
import { earlyStop } from './figures/early-stop';
import { FIGURES, type FigureName, type FigureResult } from './figures/figure';
import { fanout } from './figures/fanout';
import { longReplies } from './figures/long-replies';
import { resume } from './figures/resume';
import { saturation } from './figures/saturation';
import { formatRow, type Row } from './report';
import { errorText } from './run-debates';

/**
 * The teacher-stage bench: the chosen figures, one after another on one set of services, fake
 * teacher and workers; every row printed as it comes and all of them written as one JSON file.
 */

export interface BenchOptions {
  only: readonly FigureName[];
  /** Saturation workload (each point). */
  problems: number;
  latenciesS: number[];
  concurrencies: number[];
  capacityProblems: number;
  /** The llm worker's concurrency where the teacher has no cap (capacity, fan-out, early stop, long replies). */
  openConcurrency: number;
  fanoutProblems: number;
  resumeProblems: number;
  resumeLatencyS: number;
  resumeConcurrency: number;
  earlyStopProblems: number;
  longProblems: number;
  longReplyTokens: number;
  longReasoningTokens: number;
  figureTimeoutMinutes: number;
  keepStore: boolean;
  outDir: string;
}

export const defaultOptions: BenchOptions = {
  only: FIGURES,
  problems: 300,
  latenciesS: [0.5, 2],
  concurrencies: [64, 256],
  capacityProblems: 300,
  openConcurrency: 256,
  fanoutProblems: 1000,
  resumeProblems: 200,
  resumeLatencyS: 0.5,
  resumeConcurrency: 64,
  earlyStopProblems: 200,
  longProblems: 10,
  longReplyTokens: 16_000,
  longReasoningTokens: 4_000,
  figureTimeoutMinutes: 60,
  keepStore: false,
  outDir: path.resolve(__dirname, '../results'),
};

export interface BenchResults {
  benchId: string;
  startedAt: string;
  finishedAt: string;
  machine: { cpus: number; memoryBytes: number; node: string };
  commit: string | null;
  options: BenchOptions;
  rows: Row[];
  targets: { name: string; target: string; value: number | null; ratio?: number | null; met: boolean | null }[];
  figures: Partial<Record<FigureName, FigureResult | { error: string }>>;
  file: string;
}

function gitCommit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: __dirname, encoding: 'utf8' }).trim();
  } catch {
    return null;
  }
}

/** Problems per second of a figure's run, for another figure to compare with. */
function problemsPerSecond(f: FigureResult | { error: string } | undefined): number | undefined {
  if (!f || 'error' in f) return undefined;
  const d = f.details as { problems?: number; wallSeconds?: number; error?: string };
  return d.problems && d.wallSeconds && !d.error ? d.problems / d.wallSeconds : undefined;
}

function figureRunner(o: BenchOptions, done: BenchResults['figures']): Record<FigureName, (ctx: BenchContext) => Promise<FigureResult>> {
  const timeoutMs = o.figureTimeoutMinutes * 60_000;
  const keepStore = o.keepStore;
  return {
    saturation: (ctx) => saturation(ctx, { problems: o.problems, latenciesS: o.latenciesS, concurrencies: o.concurrencies, timeoutMs, keepStore }),
    capacity: (ctx) => capacity(ctx, { problems: o.capacityProblems, llmConcurrency: o.openConcurrency, timeoutMs, keepStore }),
    fanout: (ctx) => {
      const small = problemsPerSecond(done.capacity);
      return fanout(ctx, { problems: o.fanoutProblems, llmConcurrency: o.openConcurrency, timeoutMs, keepStore, ...(small !== undefined ? { smallRunProblemsPerSecond: small } : {}) });
    },
    resume: (ctx) => resume(ctx, { problems: o.resumeProblems, latencyS: o.resumeLatencyS, concurrency: o.resumeConcurrency, timeoutMs, keepStore }),
    'early-stop': (ctx) => earlyStop(ctx, { problems: o.earlyStopProblems, llmConcurrency: o.openConcurrency, timeoutMs, keepStore }),
    'long-replies': (ctx) =>
      longReplies(ctx, { problems: o.longProblems, replyTokens: o.longReplyTokens, reasoningTokens: o.longReasoningTokens, llmConcurrency: Math.min(64, o.openConcurrency), timeoutMs, keepStore }),
  };
}

export async function runBench(options: Partial<BenchOptions> = {}, print: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): Promise<BenchResults> {
  const o: BenchOptions = { ...defaultOptions, ...options };
  const startedAt = new Date().toISOString();
  const most = Math.max(o.problems, o.capacityProblems, o.fanoutProblems, o.resumeProblems, o.earlyStopProblems, o.longProblems);
  const ctx = await openBench({ problems: most });
  const rows: Row[] = [];
  const figures: BenchResults['figures'] = {};
  const runners = figureRunner(o, figures);
  try {
    for (const name of FIGURES.filter((f) => o.only.includes(f))) {
      try {
        const result = await runners[name](ctx);
        figures[name] = result;
        for (const r of result.rows) {
          rows.push(r);
          print(formatRow(r));
        }
      } catch (err) {
        figures[name] = { error: errorText(err) };
        print(`${name}: failed: ${errorText(err)}`);
      }
    }
  } finally {
    await ctx.close();
  }
  fs.mkdirSync(o.outDir, { recursive: true });
  const file = path.join(o.outDir, `${startedAt.replace(/[:.]/g, '-')}.json`);
  const results: BenchResults = {
    benchId: ctx.benchId,
    startedAt,
    finishedAt: new Date().toISOString(),
    machine: { cpus: os.cpus().length, memoryBytes: os.totalmem(), node: process.version },
    commit: gitCommit(),
    options: o,
    rows,
    targets: rows
      .filter((r) => r.target)
      .map((r) => ({ name: r.name, target: `${r.target!.on} ${r.target!.op} ${r.target!.bound}`, value: r.value, ...(r.ratio !== undefined ? { ratio: r.ratio } : {}), met: r.met ?? null })),
    figures,
    file,
  };
  fs.writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  const met = results.targets.filter((t) => t.met === true).length;
  print(`targets met: ${met} of ${results.targets.length}; results in ${path.relative(process.cwd(), file)}`);
  return results;
}
