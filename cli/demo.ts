import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command } from 'commander';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { parsePipelineInput } from '../core/pipeline';
import { MAIN_QUEUE } from '../core/task-queues';
import { devEnv, devUp } from '../infra/dev/services';
import { repoRoot } from '../infra/dev/paths';
import { connect, createLlmWorker, createMainWorker } from '../workers/create';
import { createGpuWorker } from '../workers/gpu-worker';
import { workflowUiUrl } from '../workers/temporal-env';
import type { probeTeacher } from '../workflows';
import { connectClient } from './client';
import { demoStudent } from './demo-student';
import { copyReport, startAndFollow } from './run';

/**
 * `agentark demo`: the whole pipeline on one machine with no GPU and no API key. Starts the local
 * services, runs the main, llm and gpu workers (the trainer on the CPU) in this process, checks the
 * teacher with one probe, then runs distillPipeline on the project's own one-step arithmetic
 * problems: SmolLM2-135M as the teacher and as the student, every method for a few steps.
 */
/** `--quick`: the same stages on fewer problems, two methods, and no teacher debate on the test set. */
const QUICK = { problems: 6, testProblems: 4, methods: ['rsft', 'da'] };

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('start the local services and run the whole pipeline on a small demo (the embedded default)')
    .option('--config <file>', 'distillPipeline input', path.join(repoRoot, 'examples/demo.json'))
    .option('--run-id <id>', "override the config's runId (the same id again resumes: finished work is not redone)")
    .option('--quick', 'fewer problems, the same stages (a few minutes)')
    .option('--seed <n>', "the teacher's sampling seed (another seed debates afresh; the same one is answered from the teacher cache)")
    .action(async (opts: { config: string; runId?: string; quick?: boolean; seed?: string }) => {
      const input = demoInput(opts);
      const t0 = Date.now();
      // The in-process workers' INFO lines would bury the demo's own output.
      Runtime.install({ logger: new DefaultLogger('WARN') });
      for (const r of await devUp()) {
        console.log(`${r.name.padEnd(9)} ${r.state === 'started' ? `started in ${(r.ms / 1000).toFixed(1)} s` : 'already running'}`);
      }
      Object.assign(process.env, devEnv());
      const connection = await connect();
      const { client, close } = await connectClient();
      const main = await createMainWorker({ connection });
      let calls = 0;
      const llm = await createLlmWorker({ connection, concurrency: 8, onCall: () => calls++ });
      const gpu = await createGpuWorker({ connection, client });
      const running = Promise.all([main.run(), llm.run(), gpu.worker.run()]);
      try {
        input.student ??= await demoStudent((line) => console.log(line));
        const probe = await client.workflow.execute<typeof probeTeacher>('probeTeacher', {
          taskQueue: MAIN_QUEUE,
          workflowId: `probe-${String(input.runId)}-${Date.now()}`,
          args: [{ runId: String(input.runId), question: 'What is 6 times 7? Answer with the number.', maxTokens: 32 }],
        });
        console.log(`\nteacher probe: "${probe.reply.trim().slice(0, 80)}"  (${probe.completionTokens} tokens)`);
        console.log(`trainer: ${gpu.plan.mode === 'cpu' ? 'no GPU here, one job at a time on the CPU' : `${gpu.plan.slots} GPU slot(s)`}\n`);
        const result = await startAndFollow(client, input, { taskQueue: MAIN_QUEUE, extra: () => `teacher calls made ${calls}` });
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

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});

/** The demo's pipeline input: the config file and the --quick cuts (the student, when the file has none, is the packaged SmolLM2). */
function demoInput(opts: { config: string; runId?: string; quick?: boolean; seed?: string }): Json {
  const raw = obj(JSON.parse(fs.readFileSync(opts.config, 'utf8')));
  const input: Json = { ...raw };
  if (opts.quick) {
    const withCount = (dataset: unknown, count: number): Json => ({ ...obj(dataset), demo: { ...obj(obj(dataset).demo), count } });
    const evaluation = obj(raw.evaluation);
    const testSets = Array.isArray(evaluation.testSets) ? evaluation.testSets : [];
    input.runId = `${String(raw.runId)}-quick`;
    input.dataset = withCount(raw.dataset, QUICK.problems);
    input.methods = QUICK.methods;
    input.evaluation = { ...evaluation, masDebate: false, testSets: testSets.map((t) => ({ ...obj(t), dataset: withCount(obj(t).dataset, QUICK.testProblems) })) };
  }
  if (opts.runId) input.runId = opts.runId;
  if (opts.seed !== undefined) input.seed = Number(opts.seed);
  const parsed = parsePipelineInput({ student: { key: 'checked-with-a-placeholder' }, ...input });
  if (!parsed.ok) throw new Error(`config ${opts.config} is invalid:\n${parsed.issues.map((i) => `  ${i}`).join('\n')}`);
  return input;
}
