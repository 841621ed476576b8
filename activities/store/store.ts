import { basename, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ArtifactStore } from './artifact-store';
import { validateKey } from '../../core/keys';
import { InvalidStoreUrl } from './errors';
import { FileStore } from './file-store';
import { s3ClientFromEnv } from './s3-client';
import { S3Store } from './s3-store';

export type { ArtifactStore, JsonlBadLine, JsonlValue, ReadJsonlOptions } from './artifact-store';
export { isBadLine } from './artifact-store';
export { ArtifactNotFound, ArtifactStoreError, InvalidStoreUrl, JsonlParseError, LineTooLong } from './errors';
export { FileStore } from './file-store';
export { S3Store } from './s3-store';

/** What a store URL names, before any client is made: a folder, or a bucket and a key prefix. */
export type StoreLocation = { scheme: 'file'; root: string } | { scheme: 's3'; bucket: string; prefix: string };

/**
 * Parses a store URL the one way every caller reads it: `file:///abs/dir` or `s3://bucket/prefix`. A
 * plain path (no scheme) is a local folder, resolved against the working directory, for the CLI's
 * sake. `..` and `.` in a folder path are collapsed (the folder opened is the collapsed one); in an S3
 * prefix they are refused, since S3 would keep them as part of the key.
 */
export function parseStoreUrl(url: string): StoreLocation {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined) {
    if (url.trim() === '') throw new InvalidStoreUrl(url, 'it is empty');
    return { scheme: 'file', root: resolve(url) };
  }
  if (scheme === 'file') {
    let path: string;
    try {
      path = fileURLToPath(url);
    } catch (error) {
      throw new InvalidStoreUrl(url, (error as Error).message);
    }
    return { scheme: 'file', root: path.length > 1 ? path.replace(/\/+$/, '') : path };
  }
  if (scheme === 's3') {
    const match = /^s3:\/\/([^/]+)(?:\/(.*))?$/i.exec(url);
    if (!match) throw new InvalidStoreUrl(url, 'no bucket name');
    const prefix = (match[2] ?? '').replace(/\/+$/, '');
    if (prefix !== '') {
      try {
        validateKey(prefix);
      } catch (error) {
        throw new InvalidStoreUrl(url, (error as Error).message);
      }
    }
    return { scheme: 's3', bucket: match[1], prefix };
  }
  throw new InvalidStoreUrl(url, `unsupported scheme '${scheme}:'`);
}

/** Opens the store a URL names (see parseStoreUrl). */
export function openStore(url: string): ArtifactStore {
  const location = parseStoreUrl(url);
  if (location.scheme === 'file') return new FileStore(location.root);
  try {
    return new S3Store(s3ClientFromEnv(), location.bucket, location.prefix);
  } catch (error) {
    throw new InvalidStoreUrl(url, (error as Error).message);
  }
}

/** Splits the URL (or plain path) of one object, such as a dataset file, into its folder's store and its key. */
export function openObject(url: string): { store: ArtifactStore; key: string } {
  const location = parseStoreUrl(url);
  if (location.scheme === 'file') {
    if (location.root === '/') throw new InvalidStoreUrl(url, 'it names a folder, not an object');
    return { store: new FileStore(dirname(location.root)), key: basename(location.root) };
  }
  if (location.prefix === '') throw new InvalidStoreUrl(url, 'it names no object');
  if (url.endsWith('/')) throw new InvalidStoreUrl(url, 'it names a folder, not an object');
  const slash = location.prefix.lastIndexOf('/');
  return {
    store: new S3Store(s3ClientFromEnv(), location.bucket, slash === -1 ? '' : location.prefix.slice(0, slash)),
    key: location.prefix.slice(slash + 1),
  };
}
