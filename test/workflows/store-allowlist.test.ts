import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { WorkflowFailedError } from '@temporalio/client';
import { openStore } from '../../activities/store/store';
import { startHarness, uniqueRunId, type Harness } from './harness';

/**
 * The allowlist end to end: generateDebates on the real Temporal dev server, with workers that allow
 * only their own store (AGENTARK_STORE_ALLOW unset), started with a run config naming another folder.
 * The run fails at its first activity, non-retryably, naming the field, and nothing appears there.
 */
describe('a run naming a store or dataset its workers do not allow', () => {
  let harness: Harness;
  const saved = process.env.AGENTARK_STORE_ALLOW;
  const dir = mkdtempSync(path.join(tmpdir(), 'agentark-allowlist-'));

  beforeAll(async () => {
    delete process.env.AGENTARK_STORE_ALLOW; // the secure default: the workers' own store only
    harness = await startHarness();
  });
  afterAll(async () => {
    await harness?.close();
    if (saved === undefined) delete process.env.AGENTARK_STORE_ALLOW;
    else process.env.AGENTARK_STORE_ALLOW = saved;
    rmSync(dir, { recursive: true, force: true });
  });

  /** The message of the failure that ended the workflow, from its innermost cause. */
  async function failureOf(run: Promise<unknown>): Promise<string> {
    const error = await run.then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(WorkflowFailedError);
    let cause = error as Error | undefined;
    while (cause?.cause instanceof Error) cause = cause.cause;
    return cause?.message ?? '';
  }

  it('refuses `store` outside the allowlist and writes nothing there', async () => {
    const elsewhere = path.join(dir, `not-allowed-${randomUUID().slice(0, 8)}`);
    const url = pathToFileURL(elsewhere).href;
    const message = await failureOf(harness.generate({ runId: uniqueRunId('store-refused'), dataset: { format: 'demo', demo: { count: 2 } }, store: url }));
    expect(message).toContain(`store: ${url} is not allowed by this worker`);
    expect(message).toContain('AGENTARK_STORE_ALLOW');
    expect(existsSync(elsewhere)).toBe(false);
  });

  it('refuses a `dataset.url` outside the allowlist before reading it, and stores no problems', async () => {
    const file = path.join(dir, 'gsm8k.jsonl');
    writeFileSync(file, `${JSON.stringify({ question: 'What is 2 + 3?', answer: 'Add.\n#### 5' })}\n`);
    const runId = uniqueRunId('dataset-refused');
    const message = await failureOf(harness.generate({ runId, dataset: { format: 'gsm8k', url: file } }));
    expect(message).toContain(`dataset.url: ${file} is not allowed by this worker`);
    const stored: string[] = [];
    for await (const key of openStore(harness.store).list(`runs/${runId}/`)) stored.push(key);
    expect(stored).toEqual([]);
  });
});
