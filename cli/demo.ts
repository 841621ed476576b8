import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command } from 'commander';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { parsePipelineInput } from '../core/pipeline';
import { MAIN_QUEUE } from '../core/task-queues';
import { locateModel } from '../infra/llm-server/locate-model';
import { devEnv, devUp } from '../infra/dev/services';
import { repoRoot } from '../infra/dev/paths';
import { connect, createLlmWorker, createMainWorker } from '../workers/create';
import { createGpuWorker } from '../workers/gpu-worker';
import { workflowUiUrl } from '../workers/temporal-env';
import type { probeTeacher } from '../workflows';
import { connectClient } from './client';
import { copyReport, startAndFollow } from './run';

/**
 * `agentark demo`: the whole pipeline on one machine with no GPU and no API key. Starts the local
 * services, runs the main, llm and gpu workers (the trainer on the CPU) in this process, checks the
 * teacher with one probe, then runs distillPipeline on the project's own one-step arithmetic
 * problems: SmolLM2-135M as the teacher and as the student, every method for a few steps.
 */
export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('start the local services and run the whole pipeline on a small demo (the embedded default)')
    .option('--config <file>', 'distillPipeline input', path.join(repoRoot, 'examples/demo.json'))
    .option('--run-id <id>', "override the config's runId (the same id again resumes: finished work is not redone)")
    .option('--quick', 'fewer problems, the same stages (a few minutes)')
    .action(async (opts: { config: string; runId?: string; quick?: boolean }) => {
      const input = demoInput(opts);
      // The in-process workers' INFO lines would bury the demo's own output.
      Runtime.install({ logger: new DefaultLogger('WARN') });
      for (const r of await devUp()) {
        console.log(`${r.name.padEnd(9)} ${r.state === 'started' ? `started in ${(r.ms / 1000).toFixed(1)} s` : 'already running'}`);
      }
      Object.assign(process.env, devEnv());
      const connection = await connect();
      const { client, close } = await connectClient();
      const main = await createMainWorker({ connection });
      const llm = await createLlmWorker({ connection, concurrency: 8 });
      const gpu = await createGpuWorker({ connection, client });
      const running = Promise.all([main.run(), llm.run(), gpu.worker.run()]);
      const t0 = Date.now();
      try {
        const probe = await client.workflow.execute<typeof probeTeacher>('probeTeacher', {
          taskQueue: MAIN_QUEUE,
          workflowId: `probe-${String(input.runId)}-${Date.now()}`,
          args: [{ runId: String(input.runId), question: 'What is 6 times 7? Answer with the number.', maxTokens: 32 }],
        });
        console.log(`\nteacher probe: "${probe.reply.trim().slice(0, 80)}"  (${probe.completionTokens} tokens)`);
        console.log(`trainer: ${gpu.plan.mode === 'cpu' ? 'no GPU here, one job at a time on the CPU' : `${gpu.plan.slots} GPU slot(s)`}\n`);
        const result = await startAndFollow(client, input, { taskQueue: MAIN_QUEUE });
        const dir = path.join(repoRoot, 'reports', String(input.runId));
        await copyReport(String(input.runId), dir);
        console.log(`\nlocal copy ${path.join(dir, 'report.html')}`);
        if (result?.reportKeys.charts.accuracy) console.log(`chart      ${path.join(dir, 'charts', 'accuracy.png')}`);
        console.log(`Web UI     ${workflowUiUrl(`distill-${String(input.runId)}`)}`);
        console.log(`done in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
      } finally {
        gpu.trainer.drain();
        main.shutdown();
        llm.shutdown();
        gpu.worker.shutdown();
        await running;
        await close();
        await connection.close();
      }
      console.log('\nThe services keep running (Web UI http://127.0.0.1:8233): `bin/agentark dev status`, `bin/agentark dev down`.');
    });
}

/** The demo's pipeline input: the config file, the packaged SmolLM2 as the student, and the --quick cuts. */
function demoInput(opts: { config: string; runId?: string; quick?: boolean }): Record<string, unknown> {
  const raw = JSON.parse(fs.readFileSync(opts.config, 'utf8')) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  const input: Record<string, any> = { student: { gguf: locateModel() }, ...raw }; // eslint-disable-line @typescript-eslint/no-explicit-any
  if (opts.quick) {
    input.runId = `${String(raw.runId)}-quick`;
    input.dataset = { ...raw.dataset, demo: { ...raw.dataset.demo, count: 6 } };
    input.evaluation = { ...raw.evaluation, masDebate: false, testSets: raw.evaluation.testSets.map((t: any) => ({ ...t, dataset: { ...t.dataset, demo: { ...t.dataset.demo, count: 5 } } })) }; // eslint-disable-line @typescript-eslint/no-explicit-any
  }
  if (opts.runId) input.runId = opts.runId;
  const parsed = parsePipelineInput(input);
  if (!parsed.ok) throw new Error(`config ${opts.config} is invalid:\n${parsed.issues.map((i) => `  ${i}`).join('\n')}`);
  return input;
}
