/**
 * The local teacher: an OpenAI-compatible endpoint over SmolLM2-135M-Instruct.
 *   tsx infra/llm-server/main.ts --port 8400 --host 127.0.0.1 --parallel 4 --context-size 2048 [--model path]
 * stdout carries one JSON line, {"event":"ready",...}, once the model is loaded (the real port when
 * --port 0); request logs and errors go to stderr.
 */
import { parseServerOptions, USAGE } from './options';
import { startLlmServer, type LlmServer } from './server';

async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const options = parseServerOptions(process.argv.slice(2));
  let server: LlmServer | undefined;
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      // A second signal means "now": skip the grace period.
      process.stderr.write(`llm-server: ${signal} again, exiting immediately\n`);
      process.exit(130);
    }
    stopping = true;
    process.stderr.write(`llm-server: ${signal}, finishing in-flight requests\n`);
    const closing = server ? server.close({ graceMs: 10_000 }) : Promise.resolve();
    closing.then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`llm-server: shutdown failed: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  server = await startLlmServer(options);
  if (stopping) {
    await server.close({ graceMs: 0 });
    return;
  }
  const ready = { event: 'ready', url: server.url, model: server.modelId, modelPath: server.modelPath, loadMs: server.loadMs, threads: server.threads };
  process.stdout.write(`${JSON.stringify(ready)}\n`);
  process.stderr.write(`llm-server: serving ${server.modelId} at ${server.url} (model loaded in ${server.loadMs} ms)\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`llm-server: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
