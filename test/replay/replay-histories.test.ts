import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from '@temporalio/worker';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';

/**
 * Determinism check: histories recorded from real runs (generateDebates and debateProblem) by this
 * and every earlier release must replay with the current workflow code. A change that would break
 * runs in flight fails here. Files are named <workflow>.<release>[-n].json; after a versioned change,
 * record the new release's histories beside the old ones (never over them):
 *   AGENTARK_RECORD_HISTORIES=<release> npx jest test/workflows/generate-debates.fake-teacher.test.ts -t "debates every problem"
 */
const dir = path.join(__dirname, 'histories');
const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort();

describe('recorded workflow histories replay with the current code', () => {
  it('has histories of both debate workflows', () => {
    expect(files.some((f) => f.startsWith('generateDebates'))).toBe(true);
    expect(files.some((f) => f.startsWith('debateProblem'))).toBe(true);
  });

  it.each(files)('%s', async (file) => {
    const history = historyFromJSON(JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')));
    await Worker.runReplayHistory({ workflowsPath: require.resolve('../../workflows') }, history, file);
  });
});
