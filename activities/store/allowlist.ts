import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ApplicationFailure } from '@temporalio/activity';
import { parseStoreUrl } from './store';

/**
 * Which stores a worker may open for a run: its own (AGENTARK_STORE) and the prefixes on
 * AGENTARK_STORE_ALLOW, nothing else. Anyone who can start a workflow chooses its input, so the
 * workers, not the workflows, hold the line: a run that names any other bucket or folder (its
 * `store`, a dataset's `url`) is refused before anything is read or written there.
 *
 * URLs are compared in one canonical form, the one the store itself opens (parseStoreUrl): folders
 * resolved and `..` collapsed, S3 prefixes checked segment by segment, and a trailing '/', so that a
 * prefix matches whole path segments only (`s3://b/agentark/` does not allow `s3://b/agentark-evil`).
 */

const ALLOW_VAR = 'AGENTARK_STORE_ALLOW';

/** The worker's own store: AGENTARK_STORE, else a folder under the project's state dir. */
export function workerStoreUrl(env: NodeJS.ProcessEnv = process.env): string {
  return env.AGENTARK_STORE ?? pathToFileURL(path.resolve(__dirname, '../../.state/artifacts')).href;
}

/** `file:///abs/dir/` or `s3://bucket/prefix/`: what the URL opens, ending in '/'. Throws InvalidStoreUrl. */
export function canonicalStoreUrl(url: string): string {
  const location = parseStoreUrl(url);
  if (location.scheme === 'file') return `${pathToFileURL(location.root).href.replace(/\/+$/, '')}/`;
  return `s3://${location.bucket}/${location.prefix === '' ? '' : `${location.prefix}/`}`;
}

/** A bad AGENTARK_STORE_ALLOW: the worker's setup, which no retry can fix. */
export class StoreAllowlistError extends Error {
  override readonly name = 'StoreAllowlistError';
}

/** The canonical prefixes a worker may open: its own store first, then each AGENTARK_STORE_ALLOW entry. */
export function allowedStores(env: NodeJS.ProcessEnv = process.env): string[] {
  const entries = (env[ALLOW_VAR] ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  return [canonicalStoreUrl(workerStoreUrl(env)), ...entries.map((entry) => {
    try {
      return canonicalStoreUrl(entry);
    } catch (error) {
      throw new StoreAllowlistError(`${ALLOW_VAR}: '${entry}' is not a store URL prefix: ${(error as Error).message}`);
    }
  })];
}

// Parsed once per value of the variables; a test that changes them gets what it set.
let memo: { env: string; allowed: string[] } | undefined;

function currentAllowed(env: NodeJS.ProcessEnv): string[] {
  const key = JSON.stringify([env.AGENTARK_STORE, env[ALLOW_VAR]]);
  if (memo?.env !== key) memo = { env: key, allowed: allowedStores(env) };
  return memo.allowed;
}

/** Whether a canonical URL lies under one of the canonical prefixes (whole segments only). */
export function isAllowed(canonical: string, allowed: string[]): boolean {
  return allowed.some((prefix) => canonical.startsWith(prefix));
}

/**
 * Refuses a store or object URL that came from a workflow input unless this worker allows it.
 * `field` names where the URL came from (`store`, `dataset.url`, …) so the error says what to change.
 * Every refusal is non-retryable: another attempt gets the same answer.
 */
export function checkInputUrl(url: string, field: string, env: NodeJS.ProcessEnv = process.env): void {
  let allowed: string[];
  let canonical: string;
  try {
    allowed = currentAllowed(env);
    canonical = canonicalStoreUrl(url);
  } catch (error) {
    const type = error instanceof StoreAllowlistError ? error.name : 'InvalidStoreUrl';
    throw ApplicationFailure.nonRetryable(`${field}: ${(error as Error).message}`, type);
  }
  if (isAllowed(canonical, allowed)) return;
  throw ApplicationFailure.nonRetryable(
    `${field}: ${url} is not allowed by this worker, and nothing was read or written there. A worker opens only ` +
      `its own store (AGENTARK_STORE, here ${allowed[0]}) and the prefixes on ${ALLOW_VAR}: leave ${field} out, ` +
      `or add a prefix of ${canonical} to ${ALLOW_VAR} (comma-separated store URLs) on the workers and restart them`,
    'StoreNotAllowed',
  );
}
