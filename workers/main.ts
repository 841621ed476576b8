import { connect, createMainWorker } from './create';

/** The main worker process: `tsx workers/main.ts`. Stops gracefully on SIGINT/SIGTERM. */
async function run(): Promise<void> {
  const connection = await connect();
  try {
    await (await createMainWorker({ connection })).run();
  } finally {
    await connection.close();
  }
}

run().catch((err) => {
  console.error(err);
  process.exit(1);
});
