import * as path from 'node:path';
import { Command } from 'commander';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { devEnv, devUp } from '../infra/dev/services';
import { repoRoot } from '../infra/dev/paths';
import { connect, createLlmWorker, createMainWorker } from '../workers/create';
import { workflowUiUrl } from '../workers/temporal-env';
import { MAIN_QUEUE } from '../core/task-queues';
import { progressQuery } from '../workflows/signals';
import type { probeTeacher } from '../workflows';
import { connectClient } from './client';
import { readRunConfig } from './config-file';
import { follow } from './follow';
import { startOrAttach } from './start-run';
import { progressReport } from './progress';

/**
 * `agentark demo`: the embedded default end to end on one machine. Starts the local services, runs
 * the workers in this process, checks the teacher with one probe, then debates the project's own
 * demo problems with the local SmolLM2 teacher and builds the distillation datasets.
 */
export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('start the local services and run a small debate run on them (the embedded default)')
    .option('--config <file>', 'run config', path.join(repoRoot, 'examples/demo.json'))
    .option('--run-id <id>', "override the config's runId (the same id again resumes: finished problems are not redone)")
    .action(async (opts: { config: string; runId?: string }) => {
      const config = readRunConfig(opts.config, opts.runId ? { runId: opts.runId } : {});
      // The in-process workers' INFO lines would bury the demo's own output.
      Runtime.install({ logger: new DefaultLogger('WARN') });
      for (const r of await devUp()) {
        console.log(`${r.name.padEnd(9)} ${r.state === 'started' ? `started in ${(r.ms / 1000).toFixed(1)} s` : 'already running'}`);
      }
      Object.assign(process.env, devEnv());
      const connection = await connect();
      const { client, close } = await connectClient();
      const main = await createMainWorker({ connection });
      const llm = await createLlmWorker({ connection, concurrency: 4 });
      const running = Promise.all([main.run(), llm.run()]);
      try {
        const probe = await client.workflow.execute<typeof probeTeacher>('probeTeacher', {
          taskQueue: MAIN_QUEUE,
          workflowId: `probe-${config.runId}-${Date.now()}`,
          args: [{ runId: config.runId, question: 'What is 6 times 7? Answer with the number.', maxTokens: 32 }],
        });
        console.log(`\nteacher probe: "${probe.reply.trim().slice(0, 80)}"  (${probe.completionTokens} tokens)`);

        const { handle } = await startOrAttach(client, config, MAIN_QUEUE);
        const workflowId = handle.workflowId;
        console.log(`\ndebating ${config.dataset.demo?.count ?? '?'} demo problems: ${config.debate.agents} agents × ${config.debate.rounds} rounds`);
        console.log(`  workflow ${workflowId}\n  ${workflowUiUrl(workflowId)}\n`);
        const result = await follow(() => handle.query(progressQuery), () => handle.result());
        console.log(`\n${progressReport(result)}`);
        const store = process.env.AGENTARK_STORE;
        console.log(`datasets   ${Object.values(result.datasets.keys).map((k) => `${store}/${k}`).join('\n           ')}`);
      } finally {
        main.shutdown();
        llm.shutdown();
        await running;
        await close();
        await connection.close();
      }
      console.log('\nThe services keep running (Web UI http://127.0.0.1:8233): `bin/agentark dev status`, `bin/agentark dev down`.');
    });
}
