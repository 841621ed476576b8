import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, linkSync, mkdirSync, readdirSync } from 'node:fs';
import { access, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import type { ArtifactStore } from '../store/store';

/**
 * Folders (models, checkpoints) between a local disk and the store. A folder in the store is every
 * object under `<prefix>/`; one file (e.g. a checkpoint's meta.json) can be written last so that its
 * presence says the folder is complete.
 */

/** Every file under a local folder, as paths relative to it with '/' separators, sorted. */
export async function localFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) out.push(relative(root, path).split(sep).join('/'));
    }
  };
  await walk(root);
  return out.sort();
}

/** Uploads a local folder to `<prefix>/`, streaming each file; `last` (if present) is written after all others. */
export async function uploadFolder(store: ArtifactStore, root: string, prefix: string, last?: string): Promise<{ files: number; bytes: number }> {
  const files = await localFiles(root);
  const ordered = last && files.includes(last) ? [...files.filter((f) => f !== last), last] : files;
  let bytes = 0;
  for (const file of ordered) {
    bytes += (await store.writeStream(`${prefix}/${file}`, createReadStream(join(root, ...file.split('/'))))).bytes;
  }
  return { files: ordered.length, bytes };
}

/** Keys of the objects under `<prefix>/`, relative to it, sorted. */
export async function storeFiles(store: ArtifactStore, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const key of store.list(`${prefix}/`)) out.push(key.slice(prefix.length + 1));
  return out.sort();
}

/**
 * Downloads `<prefix>/` into `dest` through a temporary folder of its own, so `dest` is either
 * complete or absent; a `dest` that appeared meanwhile (another download of the same folder) stays.
 */
export async function downloadFolder(store: ArtifactStore, prefix: string, dest: string): Promise<{ files: number; bytes: number }> {
  const files = await storeFiles(store, prefix);
  if (files.length === 0) throw new Error(`${store.urlOf(prefix)}/ holds no files`);
  const tmp = `${dest}.partial-${randomBytes(6).toString('hex')}`;
  let bytes = 0;
  for (const file of files) {
    const path = join(tmp, ...file.split('/'));
    await mkdir(dirname(path), { recursive: true });
    await pipeline(Readable.from(store.readStream(`${prefix}/${file}`)), createWriteStream(path));
    bytes += (await stat(path)).size;
  }
  await mkdir(dirname(dest), { recursive: true });
  if (await pathExists(dest)) await rm(tmp, { recursive: true, force: true });
  else await rename(tmp, dest);
  return { files: files.length, bytes };
}

/** Deletes `<prefix>/`, the `first` file before the others (so a half-deleted checkpoint is never taken for a complete one). */
export async function deleteFolder(store: ArtifactStore, prefix: string, first?: string): Promise<void> {
  const files = await storeFiles(store, prefix);
  const ordered = first && files.includes(first) ? [first, ...files.filter((f) => f !== first)] : files;
  for (const file of ordered) await store.delete(`${prefix}/${file}`);
}

/** A folder's identity: the hash of its files' names, sizes and content tags. Changes when any file does. */
export async function folderFingerprint(store: ArtifactStore, prefix: string): Promise<string> {
  const files = await storeFiles(store, prefix);
  if (files.length === 0) throw new Error(`${store.urlOf(prefix)}/ holds no files`);
  const hash = createHash('sha256');
  for (const file of files) {
    const s = await store.stat(`${prefix}/${file}`);
    hash.update(`${file}\0${s.size}\0${s.etag}\n`);
  }
  return `sha256:${hash.digest('hex')}`;
}

export async function pathExists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Hard-links every file of `src` into a new folder `dest` (same filesystem): a snapshot that costs no
 * copy and survives the owner deleting `src` meanwhile. Synchronous, so it is taken before anything else runs.
 */
export function linkTree(src: string, dest: string): void {
  mkdirSync(dest, { recursive: true });
  for (const entry of readdirSync(src, { withFileTypes: true })) {
    const from = join(src, entry.name);
    const to = join(dest, entry.name);
    if (entry.isDirectory()) linkTree(from, to);
    else if (entry.isFile()) linkSync(from, to);
  }
}
