import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { registry } from '../../../activities/metrics';
import { openStore } from '../../../activities/store/store';
import { LocalCache } from '../../../activities/trainer/local-cache';
import { SlotPool } from '../../../activities/trainer/gpu-slots';
import { createTrainerActivities } from '../../../activities/trainer/train-job';
import { trainJobPrefix, type JobName, type TrainJobInput } from '../../../core/training';
import { parseMetrics, total } from '../../fixtures/prometheus';

/**
 * The gpu worker's training counters, from the progress events of a SCRIPTED trainer (a stand-in
 * that prints the events of trainer/README.md and writes a final folder): trainJob runs it as it runs
 * the real one, and the counters are read back from the registry's Prometheus text.
 */

const dir = mkdtempSync(path.join(tmpdir(), 'agentark-train-metrics-'));
const store = `file://${path.join(dir, 'store')}`;

// Prints the events its config's "script" setting lists, then the final checkpoint and done.
const trainer = path.join(dir, 'python');
writeFileSync(trainer, `#!/usr/bin/env node
const fs = require('node:fs');
const config = JSON.parse(fs.readFileSync(process.argv[process.argv.indexOf('--config') + 1], 'utf8'));
const final = config.output_dir + '/final';
fs.mkdirSync(final, { recursive: true });
fs.writeFileSync(final + '/model.txt', 'weights');
const emit = (e) => process.stdout.write(JSON.stringify({ time: Date.now() / 1000, ...e }) + '\\n');
for (const e of config.script) emit(e);
emit({ event: 'checkpoint', path: final, final: true });
emit({ event: 'done', output: final });
`);
chmodSync(trainer, 0o755);

const quiet = new DefaultLogger('ERROR', () => undefined);

describe('training metrics from the trainer progress events (scripted trainer, file store)', () => {
  const savedStore = process.env.AGENTARK_STORE;
  beforeAll(async () => {
    process.env.AGENTARK_STORE = store;
    await openStore(store).put('data/train.jsonl', Buffer.from('{"prompt": "1+1", "completion": "2"}\n'));
  });
  afterAll(() => {
    if (savedStore === undefined) delete process.env.AGENTARK_STORE;
    else process.env.AGENTARK_STORE = savedStore;
  });

  const { activities } = createTrainerActivities({
    slots: new SlotPool({ mode: 'cpu', slots: 1, gpus: 0 }, trainer, []),
    cache: new LocalCache(path.join(dir, 'cache')),
    workRoot: path.join(dir, 'work'),
    notifyEveryMs: 60_000,
    stopGraceMs: 5_000,
    keepCheckpoints: 1,
  });
  const train = (job: JobName, script: Record<string, unknown>[]) => {
    const input: TrainJobInput = {
      runId: 'metrics', job, trainer: 'sft', prefix: trainJobPrefix('metrics', job),
      settings: { script }, data: 'data/train.jsonl', model: { arch: 'qwen3-tiny' },
    };
    return new MockActivityEnvironment(undefined, { logger: quiet }).run(activities.trainJob, input);
  };

  it('counts the steps between progress events and their tokens per job; a resumed job from its start step', async () => {
    // log_every 2: the event at step 3 stands for steps 2 and 3, each of its 50 tokens.
    await train('rsft', [
      { event: 'start', step: 0, total: 3 },
      { event: 'progress', step: 1, total: 3, loss: 2.0, tokens: 40 },
      { event: 'progress', step: 3, total: 3, loss: 1.5, tokens: 50 },
    ]);
    // Resumed from a checkpoint at step 5: one step trained here, not six.
    await train('da', [
      { event: 'start', step: 5, total: 6 },
      { event: 'progress', step: 6, total: 6, loss: 1.0, tokens: 10 },
    ]);
    const samples = parseMetrics(await registry.metrics());
    expect(total(samples, 'agentark_training_steps_total', { job: 'rsft' })).toBe(3);
    expect(total(samples, 'agentark_training_tokens_total', { job: 'rsft' })).toBe(40 + 2 * 50);
    expect(total(samples, 'agentark_training_steps_total', { job: 'da' })).toBe(1);
    expect(total(samples, 'agentark_training_tokens_total', { job: 'da' })).toBe(10);
  });
});
