/**
 * Splits a byte stream into lines without ever holding more than one line (plus one chunk) in
 * memory. Lines are decoded only once complete so a multi-byte character split across chunks
 * survives. A line over `maxBytes` is either an error or, for callers that skip bad records,
 * reported and discarded while its bytes stream past.
 */

export const DEFAULT_MAX_LINE_BYTES = 16 * 1024 * 1024;

export interface TextLine {
  /** 1-based line number. */
  line: number;
  text: string;
}

export interface OverlongLine {
  line: number;
  overlong: true;
}

export interface SplitOptions {
  maxBytes: number;
  /** Called for a line over maxBytes; whatever it throws ends the stream. Return to skip the line. */
  onOverlong: (line: number) => void;
}

const NEWLINE = 0x0a;
const CR = 0x0d;
const BOM = '\ufeff';

function decode(parts: Buffer[], length: number): string {
  let buffer = parts.length === 1 ? parts[0] : Buffer.concat(parts, length);
  if (buffer.length > 0 && buffer[buffer.length - 1] === CR) buffer = buffer.subarray(0, buffer.length - 1);
  return buffer.toString('utf8');
}

export async function* splitLines(
  source: AsyncIterable<Buffer | Uint8Array | string>,
  { maxBytes, onOverlong }: SplitOptions,
): AsyncGenerator<TextLine | OverlongLine> {
  let parts: Buffer[] = [];
  let length = 0;
  let line = 1;
  let discarding = false;
  for await (const chunk of source) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
    let start = 0;
    while (start < buffer.length) {
      const newline = buffer.indexOf(NEWLINE, start);
      const end = newline === -1 ? buffer.length : newline;
      if (!discarding) {
        if (length + (end - start) > maxBytes) {
          onOverlong(line);
          discarding = true;
          parts = [];
          length = 0;
        } else if (end > start) {
          parts.push(buffer.subarray(start, end));
          length += end - start;
        }
      }
      if (newline === -1) break;
      yield discarding ? { line, overlong: true } : { line, text: stripBom(line, decode(parts, length)) };
      parts = [];
      length = 0;
      discarding = false;
      line += 1;
      start = newline + 1;
    }
  }
  if (discarding) yield { line, overlong: true };
  else if (length > 0) yield { line, text: stripBom(line, decode(parts, length)) };
}

function stripBom(line: number, text: string): string {
  return line === 1 && text.startsWith(BOM) ? text.slice(1) : text;
}

/**
 * Serialises records as JSON Lines, batched into ~64 KiB buffers: one stream write per record
 * would make writing 100k small records many times slower.
 */
export async function* toJsonlChunks(records: AsyncIterable<unknown> | Iterable<unknown>, url: string): AsyncGenerator<Buffer> {
  const batchBytes = 64 * 1024;
  let pending: string[] = [];
  let pendingLength = 0;
  let index = 0;
  for await (const record of records) {
    index += 1;
    const json = JSON.stringify(record);
    if (json === undefined) throw new TypeError(`${url}: record ${index} cannot be written as JSON (got ${typeof record})`);
    pending.push(json, '\n');
    pendingLength += json.length + 1;
    if (pendingLength >= batchBytes) {
      yield Buffer.from(pending.join(''), 'utf8');
      pending = [];
      pendingLength = 0;
    }
  }
  if (pending.length > 0) yield Buffer.from(pending.join(''), 'utf8');
}
