import * as path from 'node:path';
import { openStore, type ArtifactStore } from './store/store';

/**
 * The artifact store a worker writes to: the workflow's `store` when given, else the worker's
 * AGENTARK_STORE (s3://bucket/prefix or file:///dir), else a folder under the project's state dir.
 */
export function resolveStoreUrl(store?: string): string {
  return store ?? process.env.AGENTARK_STORE ?? `file://${path.resolve(__dirname, '../.state/artifacts')}`;
}

const stores = new Map<string, ArtifactStore>();

/** One store (and so one S3 client with its connection pool) per URL per worker process. */
export function storeFor(store?: string): ArtifactStore {
  const url = resolveStoreUrl(store);
  let opened = stores.get(url);
  if (!opened) {
    opened = openStore(url);
    stores.set(url, opened);
  }
  return opened;
}

export async function putJsonArtifact(input: { store?: string; key: string; value: unknown }): Promise<{ url: string }> {
  const store = storeFor(input.store);
  await store.putJson(input.key, input.value);
  return { url: store.urlOf(input.key) };
}
