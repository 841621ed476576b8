import { ApplicationFailure } from '@temporalio/activity';
import { InvalidKeyError, validateKey } from '../../core/keys';
import type { ArtifactStore } from './artifact-store';
import { checkInputUrl, workerStoreUrl } from './allowlist';
import { openStore } from './store';

const stores = new Map<string, ArtifactStore>();

/** One store (and so one S3 client with its connection pool) per URL per process. No allowlist: trusted URLs only. */
export function cachedStore(url: string): ArtifactStore {
  let opened = stores.get(url);
  if (!opened) {
    opened = openStore(url);
    stores.set(url, opened);
  }
  return opened;
}

/**
 * The store a workflow input names in `field`, or the worker's own (AGENTARK_STORE) when it names
 * none. A named store is checked against the worker's allowlist (allowlist.ts) on every call, before
 * anything is opened, so no activity can read or write a store the worker was not configured for.
 */
export function storeForInput(url?: string, field = 'store'): ArtifactStore {
  if (url === undefined) return cachedStore(workerStoreUrl());
  checkInputUrl(url, field);
  return cachedStore(url);
}

/**
 * A key a workflow input names (`datasets.keys.rsft`): the stores refuse a bad key on every
 * operation anyway; checked here first so the error names the field and is not retried.
 */
export function checkInputKey(key: string, field: string): string {
  try {
    return validateKey(key);
  } catch (error) {
    if (!(error instanceof InvalidKeyError)) throw error;
    throw ApplicationFailure.nonRetryable(`${field}: ${error.message}`, error.name);
  }
}
