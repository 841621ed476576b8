import { connect, createLlmWorker } from './create';

/** The llm worker process: `tsx workers/llm.ts` (AGENTARK_LLM_CONCURRENCY calls at once). */
async function run(): Promise<void> {
  const connection = await connect();
  try {
    await (await createLlmWorker({ connection })).run();
  } finally {
    await connection.close();
  }
}

run().catch((err) => {
  console.error(err);
  process.exit(1);
});
