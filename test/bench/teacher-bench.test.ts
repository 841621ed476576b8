import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runBench, type BenchResults } from '../../bench/teacher/bench';
import { FIGURES } from '../../bench/teacher/figures/figure';
import type { Row } from '../../bench/teacher/report';

/**
 * The teacher bench's small form (SCRIPTED FAKE teacher, the suite's Temporal and S3, worker
 * processes as `make bench` starts them): every figure at a tiny scale, so a change that breaks
 * the bench fails `make test`. Numbers are not judged here, only that each was measured and is sane.
 */
describe('make bench, small form: the teacher bench measures every figure (scripted fake teacher)', () => {
  let results: BenchResults;
  let written: BenchResults;
  const byName = (prefix: string): Row => {
    const r = written.rows.find((x) => x.name.startsWith(prefix));
    if (!r) throw new Error(`no row '${prefix}…' in ${written.rows.map((x) => x.name).join(', ')}`);
    return r;
  };

  beforeAll(async () => {
    const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'agentark-bench-'));
    // One llm concurrency for every figure, so the llm worker starts once (and again after the kill).
    results = await runBench(
      {
        problems: 4, latenciesS: [0.2], concurrencies: [16], capacityProblems: 4, openConcurrency: 16, fanoutProblems: 8,
        resumeProblems: 6, resumeLatencyS: 0.3, resumeConcurrency: 16, earlyStopProblems: 4,
        longProblems: 1, longReplyTokens: 3000, longReasoningTokens: 500, figureTimeoutMinutes: 3, outDir,
      },
      () => undefined,
    );
    written = JSON.parse(fs.readFileSync(results.file, 'utf8')) as BenchResults;
  }, 240_000);

  it('writes every figure to its JSON file, none failed, every row with a finite value and ratio', () => {
    expect(Object.keys(written.figures).sort()).toEqual([...FIGURES].sort());
    for (const name of FIGURES) expect(written.figures[name]).not.toHaveProperty('error');
    for (const r of written.rows) {
      if (r.note) expect(r.note).not.toMatch(/failed|timed out|nothing was killed/);
      expect(Number.isFinite(r.value)).toBe(true);
      if (r.reference) expect(Number.isFinite(r.ratio)).toBe(true);
    }
    expect(written.targets.length).toBeGreaterThanOrEqual(8);
    for (const t of written.targets) expect(typeof t.met).toBe('boolean');
  });

  it('saturation: calls were made, and generateDebates takes at least the physical limit calls·L/C', () => {
    const a = byName('saturation L=0.2s C=16 (a) generateDebates');
    expect(byName('saturation L=0.2s C=16 calls').value).toBeGreaterThanOrEqual(4 * 16);
    expect(a.value!).toBeGreaterThanOrEqual(a.reference!.value);
    expect(byName('saturation L=0.2s C=16 (b) bare pool').ratio!).toBeGreaterThanOrEqual(0.99);
  });

  it('capacity, fan-out, resume, early stop and long replies report what they measure', () => {
    expect(byName('capacity calls/s sustained').value!).toBeGreaterThan(0);
    expect(byName('capacity CPU of main').value!).toBeGreaterThan(0);
    expect(byName('fan-out peak RSS of the main worker').value!).toBeGreaterThan(50 * 1024 * 1024);
    expect(byName('fan-out largest history (events)').value!).toBeGreaterThan(10);
    expect(byName('resume calls in flight at the kill').value!).toBeGreaterThan(0);
    expect(byName('resume calls made again').value!).toBeGreaterThanOrEqual(0);
    const saved = byName('early stop calls saved');
    expect(saved.value!).toBeGreaterThanOrEqual(0);
    expect(saved.value!).toBeLessThan(saved.reference!.value);
    // Replies of 3,000 tokens are kilobytes each: some payload or history must show them.
    expect(byName('long replies largest history (bytes)').value!).toBeGreaterThan(3000 * 4);
  });
});
