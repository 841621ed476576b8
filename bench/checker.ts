/**
 * The answer checker's throughput: completions/s for `math` and `numeric` through the checker pool.
 *   tsx bench/checker.ts [--math 3000] [--numeric 20000] [--processes 4] [--batch 32]
 * Prints `name: value (ratio × reference)` per figure and writes them to bench/results/checker-<timestamp>.json.
 */
import { Command, InvalidArgumentError } from 'commander';
import { defaultCheckerBenchOptions as d, runCheckerBench } from './checker/bench';

const int = (name: string) => (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a whole number ≥ 1, got '${v}'`);
  return n;
};

const program = new Command('bench-checker')
  .description('answer checker bench: completions/s through the checker pool, unbatched vs batched vs several processes')
  .option('--math <n>', 'math completions per figure', int('--math'), d.mathCompletions)
  .option('--numeric <n>', 'numeric completions per figure (GSM8K solutions)', int('--numeric'), d.numericCompletions)
  .option('--processes <n>', 'checker processes of the pooled figure', int('--processes'), d.processes)
  .option('--batch <n>', 'checks per request of the batched figures', int('--batch'), d.batchSize)
  .option('--out <dir>', 'folder for the JSON results', d.outDir);

const o = program.parse().opts<{ math: number; numeric: number; processes: number; batch: number; out: string }>();
runCheckerBench({ mathCompletions: o.math, numericCompletions: o.numeric, processes: o.processes, batchSize: o.batch, outDir: o.out }).then(
  (results) => {
    if (results.rows.some((r) => r.met === false)) process.exitCode = 1;
  },
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
