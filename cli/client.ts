import { Client, Connection } from '@temporalio/client';
import { dataConverter } from '../workers/codec';
import { temporalEnv } from '../workers/temporal-env';

/** A Temporal client from the standard environment (see workers/temporal-env.ts); close it when done. */
export async function connectClient(): Promise<{ client: Client; close: () => Promise<void> }> {
  const env = temporalEnv();
  const converter = dataConverter(); // a bad AGENTARK_CODEC_KEYS stops the command before it connects
  let connection: Connection;
  try {
    connection = await Connection.connect({ ...env.connection, connectTimeout: 5000 });
  } catch (err) {
    throw new Error(`cannot reach Temporal at ${env.address} (${(err as Error).message}); start the local one with \`agentark dev up\` or set TEMPORAL_ADDRESS`);
  }
  return { client: new Client({ connection, namespace: env.namespace, dataConverter: converter }), close: () => connection.close() };
}
