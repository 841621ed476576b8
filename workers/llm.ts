import { runWorker } from './create';

/** The llm worker process: `tsx workers/llm.ts` (same as `agentark worker llm`). */
runWorker('llm').catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
