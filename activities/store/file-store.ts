import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, readFile, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { InvalidKeyError, validateKey, validatePrefix } from '../../core/keys';
import type { ObjectStat } from './artifact-store';
import { BaseStore } from './base-store';
import { ArtifactNotFound } from './errors';

/** Temp files live next to their target (so rename is atomic) and are hidden from list(). */
const TEMP_NAME = /^\..+\.[0-9a-f]{12}\.tmp$/;

/** Errors that mean "there is no object under this key" (a parent is a file, or the key is a folder). */
const MISSING = new Set(['ENOENT', 'ENOTDIR', 'EISDIR']);

/**
 * The path of `key` under `root`, refused unless it lies strictly inside root. Keys are validated
 * before they get here; this is the second line, so no future path into this function can reach a
 * file outside the store's folder.
 */
export function pathInside(root: string, key: string): string {
  const path = resolve(root, ...key.split('/'));
  const rel = relative(resolve(root), path);
  if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
    throw new InvalidKeyError(key, `it resolves to ${path}, outside the store's folder ${root}`);
  }
  return path;
}

function isMissing(error: unknown): boolean {
  return MISSING.has((error as NodeJS.ErrnoException).code ?? '');
}

/** Compares as S3 does (UTF-8 bytes), so both backends list in the same order. */
function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

export class FileStore extends BaseStore {
  readonly url: string;

  constructor(readonly root: string) {
    super();
    this.url = pathToFileURL(root).href.replace(/\/+$/, '');
  }

  private pathOf(key: string): string {
    return pathInside(this.root, validateKey(key));
  }

  async put(key: string, body: Buffer | string): Promise<void> {
    await this.writeStream(key, [typeof body === 'string' ? Buffer.from(body, 'utf8') : body]);
  }

  async get(key: string): Promise<Buffer> {
    const path = this.pathOf(key);
    try {
      return await readFile(path);
    } catch (error) {
      if (isMissing(error)) throw new ArtifactNotFound(this.urlOf(key));
      throw error;
    }
  }

  async exists(key: string): Promise<boolean> {
    try {
      return (await stat(this.pathOf(key))).isFile();
    } catch (error) {
      if (isMissing(error)) return false;
      throw error;
    }
  }

  async stat(key: string): Promise<ObjectStat> {
    try {
      const info = await stat(this.pathOf(key));
      if (info.isFile()) return { size: info.size, etag: `${info.size}-${Math.round(info.mtimeMs * 1000)}` };
    } catch (error) {
      if (!isMissing(error)) throw error;
    }
    throw new ArtifactNotFound(this.urlOf(key));
  }

  async delete(key: string): Promise<void> {
    try {
      await unlink(this.pathOf(key));
    } catch (error) {
      if (!isMissing(error) && (error as NodeJS.ErrnoException).code !== 'EPERM') throw error;
    }
  }

  async writeStream(key: string, chunks: AsyncIterable<Buffer | Uint8Array | string> | Iterable<Buffer | Uint8Array | string>): Promise<{ bytes: number }> {
    const path = this.pathOf(key);
    const directory = dirname(path);
    await mkdir(directory, { recursive: true });
    const temp = join(directory, `.${path.slice(directory.length + 1)}.${randomBytes(6).toString('hex')}.tmp`);
    let bytes = 0;
    async function* counted(): AsyncGenerator<Buffer | Uint8Array | string> {
      for await (const chunk of chunks) {
        bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
        yield chunk;
      }
    }
    try {
      await pipeline(Readable.from(counted()), createWriteStream(temp, { flags: 'wx' }));
      // Flush before rename: otherwise a crash can leave a renamed but empty file under the key.
      const handle = await open(temp, 'r');
      try {
        await handle.datasync();
      } finally {
        await handle.close();
      }
      await rename(temp, path);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
    return { bytes };
  }

  async *readStream(key: string): AsyncGenerator<Buffer> {
    const path = this.pathOf(key);
    let handle;
    try {
      handle = await open(path, 'r');
      if (!(await handle.stat()).isFile()) throw Object.assign(new Error('not a file'), { code: 'EISDIR' });
    } catch (error) {
      await handle?.close();
      if (isMissing(error)) throw new ArtifactNotFound(this.urlOf(key));
      throw error;
    }
    // The stream owns the handle from here and closes it when it ends or is destroyed.
    yield* handle.createReadStream({ highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>;
  }

  async *list(prefix = ''): AsyncGenerator<string> {
    validatePrefix(prefix);
    const slash = prefix.lastIndexOf('/');
    const base = slash === -1 ? '' : prefix.slice(0, slash + 1);
    yield* this.walk(base, prefix);
  }

  /** Depth-first in byte order, a folder sorting as `name/`, which gives AWS S3's key order. */
  private async *walk(base: string, prefix: string): AsyncGenerator<string> {
    let entries;
    try {
      entries = await readdir(base === '' ? this.root : pathInside(this.root, base.slice(0, -1)), { withFileTypes: true });
    } catch (error) {
      if (isMissing(error)) return;
      throw error;
    }
    const named = entries
      .filter((entry) => (entry.isFile() && !TEMP_NAME.test(entry.name)) || entry.isDirectory())
      .map((entry) => ({ key: base + entry.name + (entry.isDirectory() ? '/' : ''), folder: entry.isDirectory() }))
      .sort((a, b) => byteOrder(a.key, b.key));
    for (const { key, folder } of named) {
      if (folder) {
        if (key.startsWith(prefix) || prefix.startsWith(key)) yield* this.walk(key, prefix);
      } else if (key.startsWith(prefix)) {
        yield key;
      }
    }
  }
}
