import { storeForInput } from './store/input-store';

/**
 * The artifact store of an activity's input: the workflow's `store` when given, refused unless this
 * worker allows it (store/allowlist.ts: AGENTARK_STORE_ALLOW), else the worker's own AGENTARK_STORE
 * (s3://bucket/prefix or file:///dir), else a folder under the project's state dir.
 */
export const storeFor = storeForInput;

export async function putJsonArtifact(input: { store?: string; key: string; value: unknown }): Promise<{ url: string }> {
  const store = storeFor(input.store);
  await store.putJson(input.key, input.value);
  return { url: store.urlOf(input.key) };
}
