import { existsSync, mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ApplicationFailure } from '@temporalio/common';
import { allowedStores, canonicalStoreUrl, checkInputUrl, StoreAllowlistError, workerStoreUrl } from '../../../activities/store/allowlist';
import { checkInputKey, storeForInput } from '../../../activities/store/input-store';
import { FileStore, InvalidStoreUrl } from '../../../activities/store/store';
import { pathInside } from '../../../activities/store/file-store';
import { resolveTrainingData } from '../../../activities/trainer/training-inputs';

/** The error checkInputUrl throws, or undefined when it allows the URL. */
function refusal(url: string, field: string, env: NodeJS.ProcessEnv): ApplicationFailure | undefined {
  try {
    checkInputUrl(url, field, env);
    return undefined;
  } catch (error) {
    return error as ApplicationFailure;
  }
}

describe('canonicalStoreUrl', () => {
  it('gives what the store opens, ending in one slash', () => {
    expect(canonicalStoreUrl('file:///data/agentark')).toBe('file:///data/agentark/');
    expect(canonicalStoreUrl('file:///data/agentark///')).toBe('file:///data/agentark/');
    expect(canonicalStoreUrl('/data/agentark/')).toBe('file:///data/agentark/');
    expect(canonicalStoreUrl('relative/dir')).toBe(`${pathToFileURL(resolve('relative/dir')).href}/`);
    expect(canonicalStoreUrl('s3://bucket/some/prefix/')).toBe('s3://bucket/some/prefix/');
    expect(canonicalStoreUrl('S3://bucket')).toBe('s3://bucket/');
  });

  it('collapses .. and . in folder paths, as the folder store itself does', () => {
    expect(canonicalStoreUrl('file:///data/agentark/../../etc')).toBe('file:///etc/');
    expect(canonicalStoreUrl('file:///data/agentark/%2e%2e/secret')).toBe('file:///data/secret/');
    expect(canonicalStoreUrl('/data/agentark/./run/../../x')).toBe('file:///data/x/');
  });

  it.each([
    ['s3://bucket/agentark/../other', "'..' segment"],
    ['s3://bucket/agentark/./x', "'.' segment"],
    ['s3://bucket/a//b', 'empty segment'],
    ['http://example.com/x', "unsupported scheme 'http:'"],
    ['', 'empty'],
  ])('refuses %j', (url, reason) => {
    expect(() => canonicalStoreUrl(url)).toThrow(InvalidStoreUrl);
    expect(() => canonicalStoreUrl(url)).toThrow(reason);
  });
});

describe('checkInputUrl', () => {
  const env = { AGENTARK_STORE: 's3://team-bucket/agentark', AGENTARK_STORE_ALLOW: ' file:///data/agentark/ , s3://shared/datasets' };

  it.each([
    's3://team-bucket/agentark',
    's3://team-bucket/agentark/',
    's3://team-bucket/agentark/tests/abc',
    'file:///data/agentark',
    'file:///data/agentark/runs/x',
    '/data/agentark/datasets/gsm8k.jsonl',
    'file:///data/other/../agentark/x.jsonl',
    's3://shared/datasets/gsm8k/test.jsonl',
  ])('allows %s: the own store, an allowed prefix, or a place under one', (url) => {
    expect(refusal(url, 'store', env)).toBeUndefined();
  });

  it.each([
    's3://team-bucket/agentark-evil',
    's3://team-bucket/agentark-evil/x',
    's3://team-bucket',
    's3://team-bucket/other',
    's3://other-team-bucket/agentark',
    's3://shared/datasets-private/x.jsonl',
    'file:///data/agentark-evil',
    'file:///data',
    'file:///etc',
    'file:///data/agentark/../../etc/passwd',
    'file:///data/agentark/%2e%2e/secret',
    '/data/agentark/../secret',
  ])('refuses %s, naming the URL, the field and the variable, not retried', (url) => {
    const error = refusal(url, 'store', env);
    expect(error).toBeInstanceOf(ApplicationFailure);
    expect(error?.type).toBe('StoreNotAllowed');
    expect(error?.nonRetryable).toBe(true);
    expect(error?.message).toContain(`store: ${url} is not allowed`);
    expect(error?.message).toContain('AGENTARK_STORE_ALLOW');
  });

  it('names the field the URL came from', () => {
    expect(refusal('file:///etc/passwd', 'dataset.url', env)?.message).toMatch(/^dataset\.url: file:\/\/\/etc\/passwd is not allowed/);
  });

  it('refuses a URL that is no store URL at all, naming the field, not retried', () => {
    const error = refusal('s3://team-bucket/agentark/../other', 'store', env);
    expect(error?.type).toBe('InvalidStoreUrl');
    expect(error?.nonRetryable).toBe(true);
    expect(error?.message).toContain('store: invalid store URL "s3://team-bucket/agentark/../other"');
    expect(error?.message).toContain("'..' segment");
  });

  it('allows only the own store when AGENTARK_STORE_ALLOW is unset', () => {
    const own = { AGENTARK_STORE: 'file:///data/agentark' };
    expect(allowedStores(own)).toEqual(['file:///data/agentark/']);
    expect(refusal('file:///data/agentark/tests/1', 'store', own)).toBeUndefined();
    expect(refusal('s3://team-bucket/agentark', 'store', own)?.type).toBe('StoreNotAllowed');
  });

  it("allows the project's state folder, the own store of a worker without AGENTARK_STORE", () => {
    const own = workerStoreUrl({});
    expect(own).toBe(pathToFileURL(resolve(__dirname, '../../../.state/artifacts')).href);
    expect(refusal(`${own}/runs/x`, 'store', {})).toBeUndefined();
    expect(refusal(`${own}-evil`, 'store', {})?.type).toBe('StoreNotAllowed');
  });

  it('refuses every input when an allowlist entry is bad, naming the entry', () => {
    const bad = { AGENTARK_STORE: 's3://b', AGENTARK_STORE_ALLOW: 's3://b/ok,ftp://x' };
    expect(() => allowedStores(bad)).toThrow(StoreAllowlistError);
    expect(() => allowedStores(bad)).toThrow("AGENTARK_STORE_ALLOW: 'ftp://x' is not a store URL prefix");
    expect(refusal('s3://b/ok', 'store', bad)?.type).toBe('StoreAllowlistError');
  });
});

describe('storeForInput', () => {
  const saved = { store: process.env.AGENTARK_STORE, allow: process.env.AGENTARK_STORE_ALLOW };
  const dir = mkdtempSync(join(tmpdir(), 'agentark-allow-'));
  beforeAll(() => {
    process.env.AGENTARK_STORE = pathToFileURL(join(dir, 'own')).href;
    delete process.env.AGENTARK_STORE_ALLOW;
  });
  afterAll(async () => {
    for (const [name, value] of [['AGENTARK_STORE', saved.store], ['AGENTARK_STORE_ALLOW', saved.allow]] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    await rm(dir, { recursive: true, force: true });
  });

  it('opens the own store when the input names none, and places under it', async () => {
    await storeForInput().putText('a.txt', 'own');
    await storeForInput(pathToFileURL(join(dir, 'own', 'tests')).href).putText('b.txt', 'sub');
    expect(await storeForInput().getText('tests/b.txt')).toBe('sub');
  });

  it('refuses another folder before creating anything there', () => {
    const elsewhere = pathToFileURL(join(dir, 'elsewhere')).href;
    expect(() => storeForInput(elsewhere)).toThrow(`store: ${elsewhere} is not allowed`);
    expect(existsSync(join(dir, 'elsewhere'))).toBe(false);
  });

  it('opens another folder once AGENTARK_STORE_ALLOW names it', async () => {
    const elsewhere = pathToFileURL(join(dir, 'elsewhere')).href;
    process.env.AGENTARK_STORE_ALLOW = `${elsewhere}/`;
    try {
      await storeForInput(elsewhere).putText('c.txt', 'allowed');
      expect(existsSync(join(dir, 'elsewhere', 'c.txt'))).toBe(true);
    } finally {
      delete process.env.AGENTARK_STORE_ALLOW;
    }
  });
});

describe('keys cannot leave a folder store', () => {
  it.each(['../x', 'a/../../x', '..', '.'])('pathInside refuses %j even without key validation', (key) => {
    expect(() => pathInside('/data/store', key)).toThrow(`invalid artifact key ${JSON.stringify(key)}`);
  });

  it('pathInside keeps an ordinary key inside the root', () => {
    expect(pathInside('/data/store', 'runs/r1/a..b.json')).toBe('/data/store/runs/r1/a..b.json');
  });

  const outer = mkdtempSync(join(tmpdir(), 'agentark-keys-'));
  const store = new FileStore(join(outer, 'root'));
  afterAll(() => rm(outer, { recursive: true, force: true }));

  const escapes = ['../escape.txt', 'sub/../../escape.txt', join(outer, 'escape.txt')];
  it.each(escapes)('a folder store refuses %j on every operation and writes nothing outside', async (key) => {
    const operations = [
      () => store.put(key, 'x'), () => store.get(key), () => store.exists(key), () => store.stat(key), () => store.delete(key),
      () => store.writeStream(key, ['x']), () => store.readStream(key)[Symbol.asyncIterator]().next(),
      () => store.list(`${key}/`)[Symbol.asyncIterator]().next(), async () => store.urlOf(key),
    ];
    for (const operation of operations) {
      const error = await operation().then(() => undefined, (e: unknown) => e as Error);
      expect(error?.name).toBe('InvalidArtifactKey');
      expect(error?.message).toContain(`invalid artifact key ${JSON.stringify(key).slice(0, -1)}`);
    }
    expect(existsSync(join(outer, 'escape.txt'))).toBe(false);
    expect(existsSync(join(outer, 'root'))).toBe(false);
  });

  it('checkInputKey names the input field and is not retried', () => {
    expect(checkInputKey('runs/r/datasets/rsft.jsonl', 'datasets.keys.rsft')).toBe('runs/r/datasets/rsft.jsonl');
    let error: ApplicationFailure | undefined;
    try {
      checkInputKey('../../etc/passwd', 'datasets.keys.rsft');
    } catch (e) {
      error = e as ApplicationFailure;
    }
    expect(error?.nonRetryable).toBe(true);
    expect(error?.type).toBe('InvalidArtifactKey');
    expect(error?.message).toBe(`datasets.keys.rsft: invalid artifact key "../../etc/passwd": it has a '..' segment`);
  });

  it("refuses a training run's datasets.keys that leave the store, naming the key, not retried", async () => {
    const input = { datasets: { keys: { rsft: '../../etc/passwd' } }, needed: ['rsft' as const], store: pathToFileURL(join(outer, 'root')).href };
    const error = await resolveTrainingData(input).then(() => undefined, (e: unknown) => e as ApplicationFailure);
    expect(error?.nonRetryable).toBe(true);
    expect(error?.message).toContain('datasets.keys.rsft: invalid artifact key "../../etc/passwd"');
  });
});
