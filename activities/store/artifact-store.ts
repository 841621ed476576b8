import type { JsonlParseError, LineTooLong } from './errors';
import type { TextLine } from './lines';

/**
 * Where every artifact of a run lives: a folder (`file:///abs/dir`) or a bucket prefix
 * (`s3://bucket/prefix`), chosen by `openStore(url)`. Keys are relative paths validated by
 * core/keys.ts. Writes are atomic on both backends: a reader sees the old object, the whole new
 * object, or nothing; never a partial one.
 */
export interface ArtifactStore {
  /** The store's own URL, without a trailing slash. */
  readonly url: string;
  /** The full URL of a key, as used in error messages and manifests. */
  urlOf(key: string): string;

  put(key: string, body: Buffer | string): Promise<void>;
  /** Throws ArtifactNotFound when the key holds no object. */
  get(key: string): Promise<Buffer>;
  putText(key: string, text: string): Promise<void>;
  getText(key: string): Promise<string>;
  /** Pretty-printed JSON, so manifests and reports read well in a browser or an S3 console. */
  putJson(key: string, value: unknown): Promise<void>;
  getJson(key: string): Promise<unknown>;

  exists(key: string): Promise<boolean>;
  /**
   * Size and a content tag of the object (S3: its ETag; a folder: size and modification time), so a
   * local copy can be known to be current without reading it again. Throws ArtifactNotFound.
   */
  stat(key: string): Promise<ObjectStat>;
  /**
   * Keys starting with `prefix` (a plain string prefix, as in S3), streamed page by page. The
   * order is the backend's (S3 and folders: byte order; SeaweedFS: folder by folder): sort if it matters.
   */
  list(prefix?: string): AsyncIterable<string>;
  /** Removes the object; a key that holds nothing is not an error. */
  delete(key: string): Promise<void>;

  /** Streams raw bytes in; the object appears under the key only once the source is exhausted. */
  writeStream(key: string, chunks: AsyncIterable<Buffer | Uint8Array | string>): Promise<{ bytes: number }>;
  /** Streams the object's bytes out; throws ArtifactNotFound before yielding when it is missing. */
  readStream(key: string): AsyncIterable<Buffer>;

  /** One JSON value per line, streamed; if `records` throws, no object is left under the key. */
  writeJsonl(key: string, records: AsyncIterable<unknown> | Iterable<unknown>): Promise<{ records: number; bytes: number }>;
  /** Parsed lines, streamed; blank lines are skipped but still counted in line numbers. */
  readJsonl(key: string, options?: ReadJsonlOptions & { onError?: 'throw' }): AsyncIterable<JsonlValue>;
  /** With `onError: 'yield'`, a bad line is handed back as an entry instead of ending the stream. */
  readJsonl(key: string, options: ReadJsonlOptions & { onError: 'yield' }): AsyncIterable<JsonlValue | JsonlBadLine>;
  /** Raw lines (without the newline or a trailing CR), streamed; includes blank lines. */
  readLines(key: string, options?: { maxLineBytes?: number }): AsyncIterable<TextLine>;
}

export interface ObjectStat {
  size: number;
  etag: string;
}

export interface ReadJsonlOptions {
  /** Longest accepted line in bytes; default 16 MiB. A longer line is a LineTooLong error. */
  maxLineBytes?: number;
}

export interface JsonlValue {
  line: number;
  value: unknown;
}

export interface JsonlBadLine {
  line: number;
  error: JsonlParseError | LineTooLong;
}

export function isBadLine(entry: JsonlValue | JsonlBadLine): entry is JsonlBadLine {
  return 'error' in entry;
}
