import { join } from 'node:path';
import { FileStore, InvalidStoreUrl, openStore, S3Store } from '../../../activities/store/store';
import { openObject } from '../../../activities/store/store';
import { useLocalS3Env } from './s3-test-env';

useLocalS3Env();

describe('openStore', () => {
  it('opens a folder from a file:// URL or a plain path', () => {
    const store = openStore('file:///tmp/agentark-x/');
    expect(store).toBeInstanceOf(FileStore);
    expect(store.url).toBe('file:///tmp/agentark-x');
    expect(store.urlOf('a/b.json')).toBe('file:///tmp/agentark-x/a/b.json');
    expect((openStore('relative/dir') as FileStore).root).toBe(join(process.cwd(), 'relative/dir'));
  });

  it('opens a bucket prefix from an s3:// URL', () => {
    const store = openStore('s3://bucket/some/prefix/');
    expect(store).toBeInstanceOf(S3Store);
    expect(store.url).toBe('s3://bucket/some/prefix');
    expect(openStore('s3://bucket').urlOf('k.json')).toBe('s3://bucket/k.json');
  });

  it.each([
    ['http://example.com/x', "unsupported scheme 'http:'"],
    ['file://host/dir', 'host'],
    ['s3://', 'no bucket name'],
    ['s3://bucket/../up', "'..' segment"],
  ])('refuses %s', (url, reason) => {
    expect(() => openStore(url)).toThrow(InvalidStoreUrl);
    expect(() => openStore(url)).toThrow(reason);
  });
});

describe('openObject', () => {
  it('splits an object URL into its folder store and key', () => {
    const local = openObject('file:///data/gsm8k/test.jsonl');
    expect(local.store.url).toBe('file:///data/gsm8k');
    expect(local.key).toBe('test.jsonl');
    const remote = openObject('s3://bucket/datasets/gsm8k/test.jsonl');
    expect(remote.store.url).toBe('s3://bucket/datasets/gsm8k');
    expect(remote.key).toBe('test.jsonl');
    expect(openObject('s3://bucket/top.jsonl').store.url).toBe('s3://bucket');
  });

  it('refuses a URL that names no object', () => {
    expect(() => openObject('s3://bucket')).toThrow('names no object');
    expect(() => openObject('s3://bucket/dir/')).toThrow('folder');
  });
});
