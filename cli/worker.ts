import { Command, Argument } from 'commander';
import { connect, createLlmWorker, createMainWorker } from '../workers/create';

/** `agentark worker main|llm`: run one worker process in the foreground until SIGINT/SIGTERM. */
export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('run a worker: "main" (workflows + CPU activities) or "llm" (teacher calls)')
    .addArgument(new Argument('<kind>', 'which worker').choices(['main', 'llm']))
    .option('--concurrency <n>', 'llm worker: concurrent teacher calls (default AGENTARK_LLM_CONCURRENCY or 8)', Number)
    .action(async (kind: 'main' | 'llm', opts: { concurrency?: number }) => {
      const connection = await connect();
      try {
        const worker =
          kind === 'main'
            ? await createMainWorker({ connection })
            : await createLlmWorker({ connection, ...(opts.concurrency ? { concurrency: opts.concurrency } : {}) });
        console.error(`agentark ${kind} worker polling task queue "${worker.options.taskQueue}"`);
        await worker.run();
      } finally {
        await connection.close();
      }
    });
}
