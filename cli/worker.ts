import { Command, Argument } from 'commander';
import { runWorker } from '../workers/create';

/** `agentark worker main|llm`: run one worker process in the foreground until SIGINT/SIGTERM. */
export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('run a worker: "main" (workflows + CPU activities) or "llm" (teacher calls)')
    .addArgument(new Argument('<kind>', 'which worker').choices(['main', 'llm']))
    .option('--concurrency <n>', 'llm worker: concurrent teacher calls (default AGENTARK_LLM_CONCURRENCY or 8)', Number)
    .action(async (kind: 'main' | 'llm', opts: { concurrency?: number }) => {
      await runWorker(kind, opts.concurrency ? { concurrency: opts.concurrency } : {});
    });
}
