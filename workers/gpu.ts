import { runWorker } from './create';

/** The gpu worker process: `tsx workers/gpu.ts` (same as `agentark worker gpu`). */
runWorker('gpu').catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
