import * as path from 'node:path';
import { openStore } from './store/store';

/**
 * The artifact store a worker writes to: the workflow's `store` when given, else the worker's
 * AGENTARK_STORE (s3://bucket/prefix or file:///dir), else a folder under the project's state dir.
 */
export function resolveStoreUrl(store?: string): string {
  return store ?? process.env.AGENTARK_STORE ?? `file://${path.resolve(__dirname, '../.state/artifacts')}`;
}

export async function putJsonArtifact(input: { store?: string; key: string; value: unknown }): Promise<{ url: string }> {
  const url = resolveStoreUrl(input.store);
  await openStore(url).putJson(input.key, input.value);
  return { url: `${url.replace(/\/$/, '')}/${input.key}` };
}
