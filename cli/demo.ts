import { Command } from 'commander';
import { devEnv, devUp } from '../infra/dev/services';
import { connect, createLlmWorker, createMainWorker } from '../workers/create';
import { workflowUiUrl } from '../workers/temporal-env';
import { MAIN_QUEUE } from '../core/task-queues';
import { connectClient } from './client';
import type { probeTeacher } from '../workflows';

/**
 * `agentark demo`: the embedded default end to end on one machine. Starts the local services,
 * runs the workers in this process and runs the smallest real job through them.
 */
export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('start the local services and run a small real job on them (the embedded default)')
    .option('--question <text>', 'what to ask the teacher', 'A shop sells pens at 3 dollars each. How much do 4 pens cost? End with "#### <number>".')
    .action(async (opts: { question: string }) => {
      for (const r of await devUp()) {
        console.log(`${r.name.padEnd(9)} ${r.state === 'started' ? `started in ${(r.ms / 1000).toFixed(1)} s` : 'already running'}`);
      }
      Object.assign(process.env, devEnv());
      const connection = await connect();
      const { client, close } = await connectClient();
      try {
        const main = await createMainWorker({ connection });
        const llm = await createLlmWorker({ connection, concurrency: 4 });
        const workflowId = `demo-probe-${Date.now()}`;
        const runId = workflowId;
        await main.runUntil(() =>
          llm.runUntil(async () => {
            const handle = await client.workflow.start<typeof probeTeacher>('probeTeacher', {
              taskQueue: MAIN_QUEUE,
              workflowId,
              args: [{ runId, question: opts.question, maxTokens: 128 }],
            });
            console.log(`\nworkflow ${workflowId}\n  ${workflowUiUrl(workflowId)}`);
            const result = await handle.result();
            console.log(`\nteacher replied (${result.completionTokens} tokens):\n${result.reply.trim()}\n`);
            console.log(`stored at ${process.env.AGENTARK_STORE}/${result.key}`);
          }),
        );
      } finally {
        await close();
        await connection.close();
      }
      console.log('\nThe services keep running: `agentark dev status`, `agentark dev down`.');
    });
}
