import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkAnswers, CheckerPool, poolOptionsFromEnv } from '../../activities/checker';
import { formatRow, row, type Row } from '../teacher/report';
import { mathCompletions, numericCompletions, type Labelled } from './completions';

/**
 * Completions checked per second through the checker pool, for `math` and `numeric`, side by side:
 * one process answering one check per request (no batching), one process with batches, and the
 * pool's processes with batches. Each pool is started and warm before it is timed.
 */

export interface CheckerBenchOptions {
  mathCompletions: number;
  numericCompletions: number;
  /** The pool's size for the last figure (default: what a worker gets, min(cpus, 4)). */
  processes: number;
  batchSize: number;
  outDir: string;
}

export const defaultCheckerBenchOptions: CheckerBenchOptions = {
  mathCompletions: 3000,
  numericCompletions: 20_000,
  processes: poolOptionsFromEnv().processes,
  batchSize: poolOptionsFromEnv().batchSize,
  outDir: path.resolve(__dirname, '../results'),
};

export interface CheckerBenchResults {
  bench: 'checker';
  options: CheckerBenchOptions;
  machine: { cpus: number; node: string };
  commit: string | null;
  checker: { name: string; version: string } | null;
  rows: Row[];
  file: string;
}

interface Timed {
  perSecond: number;
  agreement: number;
  checker: { name: string; version: string };
}

async function timeChecks(items: readonly Labelled[], processes: number, batchSize: number): Promise<Timed> {
  const pool = new CheckerPool({ ...poolOptionsFromEnv(), processes, batchSize });
  try {
    // Start every process (and load sympy in it) before timing.
    await checkAnswers(items.slice(0, processes * batchSize), pool);
    const start = process.hrtime.bigint();
    const verdicts = await checkAnswers(items, pool);
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const agreeing = verdicts.filter((v, i) => v.correct === items[i].label).length;
    return { perSecond: items.length / seconds, agreement: agreeing / items.length, checker: { name: verdicts[0].checker, version: verdicts[0].version } };
  } finally {
    pool.close();
  }
}

export async function runCheckerBench(options: CheckerBenchOptions, print: (line: string) => void = console.log): Promise<CheckerBenchResults> {
  const rows: Row[] = [];
  const add = (r: Row): void => {
    rows.push(r);
    print(formatRow(r));
  };
  let checker: CheckerBenchResults['checker'] = null;
  const p = options.processes;
  const b = options.batchSize;
  for (const [task, items] of [['math', mathCompletions(options.mathCompletions)], ['numeric', numericCompletions(options.numericCompletions)]] as const) {
    const single = await timeChecks(items, 1, 1);
    const batched = await timeChecks(items, 1, b);
    const pooled = await timeChecks(items, p, b);
    checker = pooled.checker;
    const reference = { name: `${task}: 1 process, unbatched`, value: single.perSecond };
    add(row(reference.name, single.perSecond, 'completions/s', { note: `${items.length} completions` }));
    add(row(`${task}: 1 process, batches of ${b}`, batched.perSecond, 'completions/s', { reference }));
    add(row(`${task}: ${p} processes, batches of ${b}`, pooled.perSecond, 'completions/s', { reference }));
    add(row(`${task}: verdicts agreeing with how the completions were made`, Math.min(single.agreement, batched.agreement, pooled.agreement), '', { target: { on: 'value', op: '>=', bound: 1 } }));
  }
  mkdirSync(options.outDir, { recursive: true });
  const file = path.join(options.outDir, `checker-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  const results: CheckerBenchResults = { bench: 'checker', options, machine: { cpus: os.cpus().length, node: process.version }, commit: gitCommit(), checker, rows, file };
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  print(`results in ${path.relative(process.cwd(), file)}`);
  return results;
}

function gitCommit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: __dirname, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}
