import { Command, Argument } from 'commander';
import { runWorker, type WorkerKind } from '../workers/create';

/** `agentark worker main|llm|gpu`: run one worker process in the foreground until SIGINT/SIGTERM. */
export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('run a worker: "main" (workflows + CPU activities), "llm" (teacher calls) or "gpu" (trainer jobs, task queue agentark-h100)')
    .addArgument(new Argument('<kind>', 'which worker').choices(['main', 'llm', 'gpu']))
    .option('--concurrency <n>', 'llm worker: concurrent teacher calls (default AGENTARK_LLM_CONCURRENCY or 8)', Number)
    .action(async (kind: WorkerKind, opts: { concurrency?: number }) => {
      await runWorker(kind, opts.concurrency ? { concurrency: opts.concurrency } : {});
    });
}
