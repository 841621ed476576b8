import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { DatasetRecordError } from '../../activities/datasets/errors';
import { loadDataset } from '../../activities/datasets/load-dataset';
import { chaosSize, figure } from './chaos-size';
import { fileText, formats, lineMutation, type LineMutation } from './line-mutations';

/**
 * Property-based bad input: one mutated line among valid ones in a dataset file of each JSONL
 * format, loaded by the real loader (activities/datasets/load-dataset.ts) that problem sources use.
 * A bad line fails the load (onBadRecord 'fail') naming its line number and field, and is listed
 * with both when skipped ('skip'); a line whose mutation is valid loads; nothing crashes.
 */
const runs = chaosSize(100, 1000);

type Outcome = { loaded: number } | { error: DatasetRecordError } | { crash: unknown };

async function load(file: string, m: LineMutation, onBadRecord: 'fail' | 'skip'): Promise<Outcome & { skippedAt?: { line: number; field: string | null } }> {
  try {
    const { problems, report } = await loadDataset({ url: file, ...formats[m.format].options, onBadRecord });
    const first = report.errors[0];
    return { loaded: problems.length, ...(first ? { skippedAt: { line: first.line, field: first.field } } : {}) };
  } catch (err) {
    return err instanceof DatasetRecordError ? { error: err } : { crash: err };
  }
}

function asExpected(m: LineMutation, fail: Outcome, skip: Outcome & { skippedAt?: { line: number; field: string | null } }): boolean {
  const lines = m.before + 1 + m.after;
  if (m.expect.accept) return 'loaded' in fail && fail.loaded === lines && 'loaded' in skip && skip.loaded === lines;
  if (!('error' in fail)) return false;
  const line = m.before + 1;
  const { field } = m.expect;
  const named = fail.error.line === line && fail.error.field === field && fail.error.message.includes(` line ${line}: `) &&
    (field === null || fail.error.message.includes(`field '${field}'`));
  const listed = 'loaded' in skip && skip.loaded === lines - 1 && skip.skippedAt?.line === line && skip.skippedAt.field === field;
  return named && listed;
}

describe('chaos: mutated dataset lines are rejected naming line and field, never a crash', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'agentark-chaos-lines-'));

  it(`${runs} mutated lines of the gsm8k, math, medmcqa and generic jsonl formats`, async () => {
    const counts = { mutated: 0, rejected: 0, acceptedValid: 0, crashes: 0 };
    const kinds = new Set<string>();
    await fc.assert(
      fc.asyncProperty(lineMutation, async (m) => {
        const file = path.join(dir, `${m.format}.jsonl`);
        writeFileSync(file, fileText(m));
        const fail = await load(file, m, 'fail');
        const skip = await load(file, m, 'skip');
        counts.mutated++;
        kinds.add(`${m.format}/${m.kind}`);
        if ('crash' in fail || 'crash' in skip) counts.crashes++;
        else if ('error' in fail) counts.rejected++;
        else if (m.expect.accept) counts.acceptedValid++;
        const ok = asExpected(m, fail, skip);
        if (!ok) console.error('line mutation not handled as expected', JSON.stringify(m), { fail, skip });
        return ok;
      }),
      { numRuns: runs, seed: 8_2026, endOnFailure: true },
    );
    figure('dataset line mutations', counts.mutated);
    figure('dataset lines rejected', counts.rejected);
    figure('dataset lines accepted-valid', counts.acceptedValid);
    figure('dataset line crashes', counts.crashes);
    expect(counts.crashes).toBe(0);
    expect(counts.rejected + counts.acceptedValid).toBe(counts.mutated);
    expect(counts.rejected).toBeGreaterThan(0);
    expect(counts.acceptedValid).toBeGreaterThan(0);
    // Every format met line-level garbage and field-level mutations.
    for (const format of Object.keys(formats)) {
      expect([...kinds].filter((k) => k.startsWith(`${format}/`)).length).toBeGreaterThanOrEqual(chaosSize(3, 6));
    }
  });
});
