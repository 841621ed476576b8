import { HeadObjectCommand, ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { s3ClientFromEnv } from '../../../activities/store/s3-client';
import { PART_SIZE } from '../../../activities/store/s3-store';
import { ArtifactNotFound, isBadLine, openStore, type ArtifactStore } from '../../../activities/store/store';
import { emptyPrefix, ensureBucket, TEST_BUCKET, useLocalS3Env } from './s3-test-env';

useLocalS3Env();

// A full GC on demand, to measure what a stream keeps reachable rather than garbage not yet collected.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

interface Backend {
  name: string;
  open(): Promise<ArtifactStore>;
  cleanup(): Promise<void>;
}

const run = randomBytes(4).toString('hex');
let tempDir = '';

const backends: Backend[] = [
  {
    name: 'file',
    open: async () => {
      tempDir = await mkdtemp(join(tmpdir(), 'agentark-store-'));
      return openStore(pathToFileURL(tempDir).href);
    },
    cleanup: () => rm(tempDir, { recursive: true, force: true }),
  },
  {
    name: 's3',
    open: async () => {
      await ensureBucket();
      return openStore(`s3://${TEST_BUCKET}/test-store-${run}`);
    },
    cleanup: () => emptyPrefix(`test-store-${run}/`),
  },
];

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

describe.each(backends)('artifact store contract ($name)', (backend) => {
  let store: ArtifactStore;

  beforeAll(async () => {
    store = await backend.open();
  });
  afterAll(() => backend.cleanup());

  it('round-trips bytes, text and JSON', async () => {
    const bytes = Buffer.from([0, 1, 2, 250, 255]);
    await store.put('rt/raw.bin', bytes);
    expect(await store.get('rt/raw.bin')).toEqual(bytes);
    await store.putText('rt/hello.txt', 'héllo ✓\nline 2');
    expect(await store.getText('rt/hello.txt')).toBe('héllo ✓\nline 2');
    const value = { a: 1, nested: { list: [1, 'two', null], ok: true } };
    await store.putJson('rt/value.json', value);
    expect(await store.getJson('rt/value.json')).toEqual(value);
    await store.putText('rt/hello.txt', 'replaced');
    expect(await store.getText('rt/hello.txt')).toBe('replaced');
  });

  it('stats an object: its size, and a tag that changes when the object is replaced', async () => {
    await store.putText('stat/a.txt', 'hello');
    const first = await store.stat('stat/a.txt');
    expect(first.size).toBe(5);
    await store.putText('stat/a.txt', 'hello, world');
    const second = await store.stat('stat/a.txt');
    expect(second.size).toBe(12);
    expect(second.etag).not.toBe(first.etag);
    await expect(store.stat('stat/missing.txt')).rejects.toBeInstanceOf(ArtifactNotFound);
  });

  it('answers exists, lists by prefix, and deletes', async () => {
    for (const key of ['ls/b.json', 'ls/a/2.json', 'ls/a/1.json', 'ls/a-z.json', 'lsx/other.json']) await store.putText(key, key);
    expect(await store.exists('ls/a/1.json')).toBe(true);
    expect(await store.exists('ls/a')).toBe(false);
    expect(await store.exists('ls/missing.json')).toBe(false);
    // Order differs between backends (SeaweedFS lists folder by folder), so compare as sets.
    expect((await collect(store.list('ls/'))).sort()).toEqual(['ls/a-z.json', 'ls/a/1.json', 'ls/a/2.json', 'ls/b.json']);
    expect((await collect(store.list('ls/a'))).sort()).toEqual(['ls/a-z.json', 'ls/a/1.json', 'ls/a/2.json']);
    expect((await collect(store.list('ls'))).sort()).toEqual(['ls/a-z.json', 'ls/a/1.json', 'ls/a/2.json', 'ls/b.json', 'lsx/other.json']);
    expect(await collect(store.list('nothing-here/'))).toEqual([]);
    await store.delete('ls/a/1.json');
    await store.delete('ls/never-existed.json');
    expect(await store.exists('ls/a/1.json')).toBe(false);
    expect(await collect(store.list('ls/a/'))).toEqual(['ls/a/2.json']);
  });

  it('lists more keys than one S3 page (1000) holds', async () => {
    const keys = Array.from({ length: 1105 }, (_, i) => `many/${String(i).padStart(5, '0')}.txt`);
    for (let i = 0; i < keys.length; i += 50) await Promise.all(keys.slice(i, i + 50).map((key) => store.putText(key, 'x')));
    expect((await collect(store.list('many/'))).sort()).toEqual(keys);
  });

  it('throws ArtifactNotFound naming the full URL for a missing key', async () => {
    const url = store.urlOf('nope/missing.json');
    expect(url).toBe(`${store.url}/nope/missing.json`);
    for (const read of [() => store.getText('nope/missing.json'), () => store.getJson('nope/missing.json'), () => collect(store.readJsonl('nope/missing.json'))]) {
      const error = await read().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ArtifactNotFound);
      expect((error as Error).name).toBe('ArtifactNotFound');
      expect((error as Error).message).toContain(url);
    }
  });

  it.each([
    ['../escape.json', "'..' segment"],
    ['a/../../b.json', "'..' segment"],
    ['/abs/path.json', 'absolute path'],
    ['a//b.json', 'empty segment'],
    ['a/b/', 'empty segment'],
    ['a\\b.json', 'backslash'],
    ['a\0b.json', 'NUL'],
    ['', 'empty'],
  ])('refuses the key %j (%s) before touching the backend', async (key, reason) => {
    for (const attempt of [() => store.putText(key, 'x'), () => store.getText(key), () => store.exists(key), () => store.delete(key)]) {
      const error = await attempt().catch((e: unknown) => e);
      expect((error as Error).name).toBe('InvalidArtifactKey');
      expect((error as Error).message).toContain(JSON.stringify(key));
      expect((error as Error).message).toContain(reason);
    }
  });

  it('streams 100k JSONL lines in and out without holding the file in memory', async () => {
    const lines = 100_000;
    const payload = 'p'.repeat(600);
    // What stays reachable mid-stream, measured after a full GC; GC time is left out of the timings.
    let gcMs = 0;
    const retained = (): number => {
      const start = Date.now();
      collectGarbage();
      gcMs += Date.now() - start;
      return process.memoryUsage().heapUsed;
    };
    const baseline = retained();
    let writePeak = 0;
    async function* records(): AsyncGenerator<object> {
      for (let i = 0; i < lines; i++) {
        if (i % 10_000 === 5_000) writePeak = Math.max(writePeak, retained() - baseline);
        yield { i, payload };
      }
    }
    let started = Date.now();
    const written = await store.writeJsonl('big/lines.jsonl', records());
    const writeMs = Date.now() - started - gcMs;
    expect(written.records).toBe(lines);
    expect(written.bytes).toBeGreaterThan(60_000_000);

    gcMs = 0;
    let readPeak = 0;
    let expected = 0;
    started = Date.now();
    for await (const { line, value } of store.readJsonl('big/lines.jsonl')) {
      if (line !== expected + 1 || (value as { i: number }).i !== expected) throw new Error(`line ${line} holds record ${(value as { i: number }).i}, expected ${expected}`);
      expected++;
      if (expected % 10_000 === 5_000) readPeak = Math.max(readPeak, retained() - baseline);
    }
    const readMs = Date.now() - started - gcMs;
    expect(expected).toBe(lines);
    // Holding the file (or its parsed records) would keep well over its 60+ MB reachable.
    expect(readPeak).toBeLessThan(16_000_000);
    expect(writePeak).toBeLessThan(16_000_000);
    process.stdout.write(
      `[${backend.name}] 100k-line JSONL (${(written.bytes / 1e6).toFixed(1)} MB): write ${writeMs} ms, read ${readMs} ms; ` +
        `retained heap mid-stream: write ${(writePeak / 1e6).toFixed(1)} MB, read ${(readPeak / 1e6).toFixed(1)} MB\n`,
    );

    let raw = 0;
    for await (const { text } of store.readLines('big/lines.jsonl')) if (text.startsWith('{"i":')) raw++;
    expect(raw).toBe(lines);
  });

  it('leaves no object when the records of writeJsonl throw midway, small or multipart', async () => {
    for (const count of [10, 20_000]) {
      async function* failing(): AsyncGenerator<object> {
        for (let i = 0; i < count; i++) yield { i, pad: 'x'.repeat(1000) };
        throw new Error(`source failed after ${count}`);
      }
      const key = `atomic/failed-${count}.jsonl`;
      await expect(store.writeJsonl(key, failing())).rejects.toThrow(`source failed after ${count}`);
      expect(await store.exists(key)).toBe(false);
      expect(await collect(store.list('atomic/'))).toEqual([]);
    }
    // A failed rewrite keeps the previous object intact.
    await store.writeJsonl('atomic/kept.jsonl', [{ v: 1 }]);
    async function* broken(): AsyncGenerator<object> {
      yield { v: 2 };
      throw new Error('broken rewrite');
    }
    await expect(store.writeJsonl('atomic/kept.jsonl', broken())).rejects.toThrow('broken rewrite');
    expect(await collect(store.readJsonl('atomic/kept.jsonl'))).toEqual([{ line: 1, value: { v: 1 } }]);
    if (backend.name === 'file') expect(await readdir(join(tempDir, 'atomic'))).toEqual(['kept.jsonl']);
    if (backend.name === 's3') {
      const pending = await s3ClientFromEnv().send(new ListMultipartUploadsCommand({ Bucket: TEST_BUCKET, Prefix: `test-store-${run}/` }));
      expect(pending.Uploads ?? []).toEqual([]);
    }
  });

  it('reports a bad JSONL line by key and line, or yields it when asked', async () => {
    await store.putText('bad/mixed.jsonl', '{"a":1}\n\n{"a":2\n{"a":3}\n');
    const error = await collect(store.readJsonl('bad/mixed.jsonl')).catch((e: unknown) => e);
    expect((error as Error).name).toBe('JsonlParseError');
    expect((error as Error).message).toContain(`${store.urlOf('bad/mixed.jsonl')} line 3: invalid JSON`);
    const entries = await collect(store.readJsonl('bad/mixed.jsonl', { onError: 'yield' }));
    expect(entries.map((e) => (isBadLine(e) ? `bad ${e.line}` : `ok ${e.line}`))).toEqual(['ok 1', 'bad 3', 'ok 4']);
  });

  it('refuses a line above the maximum length with an error naming the line', async () => {
    await store.putText('bad/long.jsonl', `{"a":1}\n{"a":"${'z'.repeat(5000)}"}\n{"a":3}\n`);
    const error = await collect(store.readJsonl('bad/long.jsonl', { maxLineBytes: 1024 })).catch((e: unknown) => e);
    expect((error as Error).name).toBe('LineTooLong');
    expect((error as Error).message).toBe(`${store.urlOf('bad/long.jsonl')} line 2: line is longer than the maximum of 1024 bytes`);
    const entries = await collect(store.readJsonl('bad/long.jsonl', { maxLineBytes: 1024, onError: 'yield' }));
    expect(entries.map((e) => (isBadLine(e) ? e.error.name : (e.value as { a: number }).a))).toEqual([1, 'LineTooLong', 3]);
  });

  it('keeps multi-byte characters intact across read chunks, and reads a last line without a newline', async () => {
    const text = `${'é'.repeat(700_000)}\r\nlast ✓`;
    await store.putText('chunks/utf8.txt', text);
    const lines = await collect(store.readLines('chunks/utf8.txt'));
    expect(lines).toEqual([
      { line: 1, text: 'é'.repeat(700_000) },
      { line: 2, text: 'last ✓' },
    ]);
  });
});

describe('S3 backend specifics', () => {
  const prefix = `test-s3-${run}`;
  beforeAll(() => ensureBucket());
  afterAll(() => emptyPrefix(`${prefix}/`));

  it('uploads an object above 8 MiB in parts and reads it back whole', async () => {
    const store = openStore(`s3://${TEST_BUCKET}/${prefix}`);
    const body = randomBytes(PART_SIZE + 3 * 1024 * 1024);
    await store.put('multipart/blob.bin', body);
    const head = await s3ClientFromEnv().send(new HeadObjectCommand({ Bucket: TEST_BUCKET, Key: `${prefix}/multipart/blob.bin` }));
    // S3 marks a multipart object's ETag with "-<number of parts>".
    expect(head.ETag).toMatch(/-2"?$/);
    expect(head.ContentLength).toBe(body.length);
    expect((await store.get('multipart/blob.bin')).equals(body)).toBe(true);
    const pending = await s3ClientFromEnv().send(new ListMultipartUploadsCommand({ Bucket: TEST_BUCKET, Prefix: `${prefix}/` }));
    expect(pending.Uploads ?? []).toEqual([]);
  });

  it('says which bucket is missing', async () => {
    const error = await openStore(`s3://no-such-bucket-${run}/x`).getText('a.json').catch((e: unknown) => e);
    expect((error as Error).name).toBe('ArtifactStoreError');
    expect((error as Error).message).toContain(`bucket 'no-such-bucket-${run}' does not exist`);
  });
});
