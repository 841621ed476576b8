import { basename, dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ArtifactStore } from './artifact-store';
import { InvalidStoreUrl } from './errors';
import { FileStore } from './file-store';
import { s3ClientFromEnv } from './s3-client';
import { S3Store } from './s3-store';

export type { ArtifactStore, JsonlBadLine, JsonlValue, ReadJsonlOptions } from './artifact-store';
export { isBadLine } from './artifact-store';
export { ArtifactNotFound, ArtifactStoreError, InvalidStoreUrl, JsonlParseError, LineTooLong } from './errors';
export { FileStore } from './file-store';
export { S3Store } from './s3-store';

/**
 * Opens the store a URL names: `file:///abs/dir` or `s3://bucket/prefix`. A plain path (no
 * scheme) is taken as a local folder, resolved against the working directory, for the CLI's sake.
 */
export function openStore(url: string): ArtifactStore {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined) {
    if (url.trim() === '') throw new InvalidStoreUrl(url, 'it is empty');
    return new FileStore(isAbsolute(url) ? url : resolve(url));
  }
  if (scheme === 'file') {
    let path: string;
    try {
      path = fileURLToPath(url);
    } catch (error) {
      throw new InvalidStoreUrl(url, (error as Error).message);
    }
    return new FileStore(path.length > 1 ? path.replace(/\/+$/, '') : path);
  }
  if (scheme === 's3') {
    const match = /^s3:\/\/([^/]+)(?:\/(.*))?$/i.exec(url);
    if (!match) throw new InvalidStoreUrl(url, 'no bucket name');
    const prefix = (match[2] ?? '').replace(/\/+$/, '');
    try {
      return new S3Store(s3ClientFromEnv(), match[1], prefix);
    } catch (error) {
      throw new InvalidStoreUrl(url, (error as Error).message);
    }
  }
  throw new InvalidStoreUrl(url, `unsupported scheme '${scheme}:'`);
}

/** Splits the URL (or plain path) of one object, such as a dataset file, into its folder's store and its key. */
export function openObject(url: string): { store: ArtifactStore; key: string } {
  const s3 = /^s3:\/\/([^/]+)\/(.+)$/i.exec(url);
  if (s3) {
    const rest = s3[2];
    const slash = rest.lastIndexOf('/');
    if (slash === rest.length - 1) throw new InvalidStoreUrl(url, 'it names a folder, not an object');
    const client = s3ClientFromEnv();
    return slash === -1
      ? { store: new S3Store(client, s3[1]), key: rest }
      : { store: new S3Store(client, s3[1], rest.slice(0, slash)), key: rest.slice(slash + 1) };
  }
  const folder = openStore(url);
  if (!(folder instanceof FileStore)) throw new InvalidStoreUrl(url, 'it names no object');
  if (folder.root === '/' ) throw new InvalidStoreUrl(url, 'it names a folder, not an object');
  return { store: new FileStore(dirname(folder.root)), key: basename(folder.root) };
}
