/**
 * Streams the elements of a top-level JSON array (MetaMathQA ships one ~400 MB array), holding
 * one element at a time: the whole file would not fit in one JS string. Each element is cut out
 * by tracking strings and bracket depth, then handed to JSON.parse.
 */

export interface ArrayElement {
  /** 1-based position in the array. */
  record: number;
  /** Line of the file where the element starts. */
  line: number;
  value: unknown;
}

export interface BadElement {
  record: number;
  line: number;
  error: string;
}

/** The file is not a JSON array at all, or ends in the middle of one: nothing after it can be trusted. */
export class JsonArrayError extends Error {
  override readonly name = 'JsonArrayError';
  constructor(readonly line: number, detail: string) {
    super(detail);
  }
}

const enum Byte {
  Newline = 0x0a,
  Quote = 0x22,
  Comma = 0x2c,
  OpenSquare = 0x5b,
  Backslash = 0x5c,
  CloseSquare = 0x5d,
  OpenCurly = 0x7b,
  CloseCurly = 0x7d,
}

function isSpace(b: number): boolean {
  return b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
}

type State = 'start' | 'first' | 'between' | 'after' | 'element' | 'end';

export async function* readJsonArray(chunks: AsyncIterable<Buffer>, maxBytes: number): AsyncGenerator<ArrayElement | BadElement> {
  let state = 'start' as State;
  let line = 1;
  let record = 0;
  let startLine = 0;
  let depth = 0;
  let inString = false;
  let escaped = false;
  let parts: Buffer[] = [];
  let size = 0;
  let overlong = false;

  const finish = (): ArrayElement | BadElement => {
    if (overlong) return { record, line: startLine, error: `record ${record} is longer than the maximum of ${maxBytes} bytes` };
    const text = Buffer.concat(parts, size).toString('utf8');
    try {
      return { record, line: startLine, value: JSON.parse(text) as unknown };
    } catch (error) {
      return { record, line: startLine, error: `record ${record} is not valid JSON (${(error as Error).message})` };
    }
  };

  for await (const chunk of chunks) {
    let elementStart = state === 'element' ? 0 : -1;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i];
      if (state === 'element') {
        if (inString) {
          if (escaped) escaped = false;
          else if (b === Byte.Backslash) escaped = true;
          else if (b === Byte.Quote) inString = false;
        } else if (depth === 0 && (b === Byte.Comma || b === Byte.CloseSquare)) {
          if (!overlong) {
            parts.push(chunk.subarray(elementStart, i));
            size += i - elementStart;
          }
          yield finish();
          elementStart = -1;
          state = b === Byte.Comma ? 'between' : 'end';
        } else if (b === Byte.Quote) inString = true;
        else if (b === Byte.OpenCurly || b === Byte.OpenSquare) depth++;
        else if (b === Byte.CloseCurly || b === Byte.CloseSquare) depth--;
      } else if (!isSpace(b)) {
        if (state === 'start') {
          if (b !== Byte.OpenSquare) throw new JsonArrayError(line, 'the file is not a JSON array (it must start with [)');
          state = 'first';
        } else if (state === 'first' && b === Byte.CloseSquare) {
          state = 'end';
        } else if (state === 'first' || state === 'between') {
          if (b === Byte.CloseSquare || b === Byte.Comma) throw new JsonArrayError(line, `unexpected '${String.fromCharCode(b)}' where array element ${record + 1} should start`);
          state = 'element';
          record++;
          startLine = line;
          elementStart = i;
          parts = [];
          size = 0;
          overlong = false;
          depth = 0;
          inString = false;
          escaped = false;
          i--; // let the element branch see its first byte (a quote or bracket)
          continue;
        } else if (state === 'end') {
          throw new JsonArrayError(line, 'unexpected content after the end of the JSON array');
        }
      }
      if (b === Byte.Newline) line++;
      if (state === 'element' && !overlong && size + (i - elementStart + 1) > maxBytes) {
        overlong = true;
        parts = [];
        size = 0;
      }
    }
    if (state === 'element' && !overlong && elementStart >= 0) {
      parts.push(chunk.subarray(elementStart));
      size += chunk.length - elementStart;
    }
  }
  if (state === 'start') return; // an empty or blank file: the loader reports it as an empty dataset
  if (state !== 'end') throw new JsonArrayError(line, `the JSON array is truncated (the file ends inside record ${Math.max(record, 1)} or before its closing ])`);
}
