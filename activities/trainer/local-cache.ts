import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ArtifactStore } from '../store/store';
import { downloadFolder, folderFingerprint, pathExists } from './folders';

/**
 * The gpu worker's local copy of its inputs, keyed by content (a file's ETag, a folder's
 * fingerprint): a retry on the same machine downloads nothing again, a model is staged once per
 * worker, and an object replaced in the store is never read stale.
 */
export class LocalCache {
  /** Downloads under way, by cache slot: two jobs staging the same input share one download. */
  private readonly inFlight = new Map<string, Promise<string>>();

  constructor(readonly root: string) {}

  private once(slot: string, fetch: () => Promise<string>): Promise<string> {
    let p = this.inFlight.get(slot);
    if (!p) {
      p = fetch().finally(() => this.inFlight.delete(slot));
      this.inFlight.set(slot, p);
    }
    return p;
  }

  private slot(kind: 'files' | 'folders', ...parts: string[]): string {
    return join(this.root, kind, createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 32));
  }

  /** The local path of one object, downloaded if this content is not cached yet. */
  async file(store: ArtifactStore, key: string): Promise<string> {
    const { etag } = await store.stat(key);
    const dir = this.slot('files', store.urlOf(key), etag);
    const path = join(dir, posix.basename(key));
    return this.once(dir, async () => {
      if (await pathExists(path)) return path;
      await mkdir(dir, { recursive: true });
      const tmp = `${path}.partial-${randomBytes(6).toString('hex')}`;
      await pipeline(Readable.from(store.readStream(key)), createWriteStream(tmp));
      await rename(tmp, path);
      return path;
    });
  }

  /** The local path of a folder (`<prefix>/` in the store), downloaded if this content is not cached yet. */
  async folder(store: ArtifactStore, prefix: string): Promise<string> {
    const fingerprint = await folderFingerprint(store, prefix);
    const dir = this.slot('folders', store.urlOf(prefix), fingerprint);
    return this.once(dir, async () => {
      if (!(await pathExists(dir))) await downloadFolder(store, prefix, dir);
      return dir;
    });
  }

  async clear(): Promise<void> {
    await rm(this.root, { recursive: true, force: true });
  }
}
