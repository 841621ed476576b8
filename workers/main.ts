import { runWorker } from './create';

/** The main worker process: `tsx workers/main.ts` (same as `agentark worker main`). */
runWorker('main').catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
