import { validateKey } from '../../core/keys';
import type { ArtifactStore, JsonlBadLine, JsonlValue, ObjectStat, ReadJsonlOptions } from './artifact-store';
import { JsonlParseError, LineTooLong } from './errors';
import { DEFAULT_MAX_LINE_BYTES, splitLines, toJsonlChunks, type TextLine } from './lines';

/**
 * What both backends share: text, JSON and JSON Lines built on a backend's byte-level
 * put/get/writeStream/readStream, so the formats and their error messages cannot drift apart.
 */
export abstract class BaseStore implements ArtifactStore {
  abstract readonly url: string;
  abstract put(key: string, body: Buffer | string): Promise<void>;
  abstract get(key: string): Promise<Buffer>;
  abstract exists(key: string): Promise<boolean>;
  abstract stat(key: string): Promise<ObjectStat>;
  abstract list(prefix?: string): AsyncIterable<string>;
  abstract delete(key: string): Promise<void>;
  abstract writeStream(key: string, chunks: AsyncIterable<Buffer | Uint8Array | string>): Promise<{ bytes: number }>;
  abstract readStream(key: string): AsyncIterable<Buffer>;

  urlOf(key: string): string {
    return `${this.url}/${validateKey(key)}`;
  }

  async putText(key: string, text: string): Promise<void> {
    await this.put(key, text);
  }

  async getText(key: string): Promise<string> {
    return (await this.get(key)).toString('utf8');
  }

  async putJson(key: string, value: unknown): Promise<void> {
    const json = JSON.stringify(value, null, 2);
    if (json === undefined) throw new TypeError(`${this.urlOf(key)}: value cannot be written as JSON (got ${typeof value})`);
    await this.put(key, `${json}\n`);
  }

  async getJson(key: string): Promise<unknown> {
    const text = await this.getText(key);
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      throw new JsonlParseError(this.urlOf(key), 1, (error as Error).message);
    }
  }

  async writeJsonl(key: string, records: AsyncIterable<unknown> | Iterable<unknown>): Promise<{ records: number; bytes: number }> {
    let count = 0;
    async function* counted(): AsyncGenerator<unknown> {
      for await (const record of records) {
        count += 1;
        yield record;
      }
    }
    const { bytes } = await this.writeStream(key, toJsonlChunks(counted(), this.urlOf(key)));
    return { records: count, bytes };
  }

  readJsonl(key: string, options?: ReadJsonlOptions & { onError?: 'throw' }): AsyncIterable<JsonlValue>;
  readJsonl(key: string, options: ReadJsonlOptions & { onError: 'yield' }): AsyncIterable<JsonlValue | JsonlBadLine>;
  readJsonl(key: string, options: ReadJsonlOptions & { onError?: 'throw' | 'yield' } = {}): AsyncIterable<JsonlValue | JsonlBadLine> {
    return this.jsonlEntries(key, options);
  }

  private async *jsonlEntries(key: string, options: ReadJsonlOptions & { onError?: 'throw' | 'yield' }): AsyncGenerator<JsonlValue | JsonlBadLine> {
    const url = this.urlOf(key);
    const maxBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    const yieldErrors = options.onError === 'yield';
    const lines = splitLines(this.readStream(key), {
      maxBytes,
      onOverlong: (line) => {
        if (!yieldErrors) throw new LineTooLong(url, line, maxBytes);
      },
    });
    for await (const entry of lines) {
      if ('overlong' in entry) {
        yield { line: entry.line, error: new LineTooLong(url, entry.line, maxBytes) };
        continue;
      }
      if (entry.text.trim() === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(entry.text);
      } catch (error) {
        const parseError = new JsonlParseError(url, entry.line, (error as Error).message);
        if (!yieldErrors) throw parseError;
        yield { line: entry.line, error: parseError };
        continue;
      }
      yield { line: entry.line, value };
    }
  }

  async *readLines(key: string, options: { maxLineBytes?: number } = {}): AsyncGenerator<TextLine> {
    const url = this.urlOf(key);
    const maxBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    const lines = splitLines(this.readStream(key), {
      maxBytes,
      onOverlong: (line) => {
        throw new LineTooLong(url, line, maxBytes);
      },
    });
    for await (const entry of lines) {
      if ('text' in entry) yield entry;
    }
  }
}
