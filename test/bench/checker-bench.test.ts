import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCheckerBench, type CheckerBenchResults } from '../../bench/checker/bench';
import { GSM8K_TEST } from '../../bench/checker/completions';

/**
 * The checker bench's small form (real checker processes): every figure at a tiny scale, so a change
 * that breaks the bench fails `make test`. Speeds are not judged here, only that each was measured
 * and that every verdict agrees with how its completion was made.
 */
(fs.existsSync(GSM8K_TEST) ? describe : describe.skip)('make bench, small form: the checker bench measures math and numeric throughput', () => {
  let results: CheckerBenchResults;
  let written: CheckerBenchResults;

  beforeAll(async () => {
    const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'agentark-checker-bench-'));
    results = await runCheckerBench({ mathCompletions: 40, numericCompletions: 200, processes: 2, batchSize: 8, outDir }, () => undefined);
    written = JSON.parse(fs.readFileSync(results.file, 'utf8')) as CheckerBenchResults;
  }, 240_000);

  it('writes every figure with a positive rate and its ratio to the unbatched one', () => {
    const rates = written.rows.filter((r) => r.unit === 'completions/s');
    expect(rates.map((r) => r.name)).toEqual([
      'math: 1 process, unbatched', 'math: 1 process, batches of 8', 'math: 2 processes, batches of 8',
      'numeric: 1 process, unbatched', 'numeric: 1 process, batches of 8', 'numeric: 2 processes, batches of 8',
    ]);
    for (const r of rates) expect(r.value).toBeGreaterThan(0);
    for (const r of rates.filter((x) => x.reference)) expect(r.ratio).toBeCloseTo(r.value! / r.reference!.value, 9);
    expect(written.checker).toEqual({ name: 'agentark-answer', version: expect.stringMatching(/^2\+math-verify-/) });
  });

  it('agrees with every label of the completions it made', () => {
    const agreement = written.rows.filter((r) => r.name.includes('agreeing'));
    expect(agreement.map((r) => [r.name, r.value, r.met])).toEqual([
      ['math: verdicts agreeing with how the completions were made', 1, true],
      ['numeric: verdicts agreeing with how the completions were made', 1, true],
    ]);
  });
});
