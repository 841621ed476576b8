import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { codeVersion } from '../../../activities/store/code-version';
import { hashConfig, stableStringify } from '../../../activities/store/config-hash';
import { findManifest, hasManifest, readManifest, writeManifest } from '../../../activities/store/manifest';
import { ArtifactNotFound } from '../../../activities/store/store';
import { tempFileStore } from './temp-file-store';

describe('stage manifests', () => {
  const store = tempFileStore('manifest');

  it('is absent until written, then reads back with code version and time', async () => {
    expect(await hasManifest(store, 'runs/r1/datasets')).toBe(false);
    expect(await findManifest(store, 'runs/r1/datasets')).toBeNull();
    await expect(readManifest(store, 'runs/r1/datasets')).rejects.toBeInstanceOf(ArtifactNotFound);
    const written = await writeManifest(store, 'runs/r1/datasets/', {
      inputs: { debates: 'runs/r1/debates/' },
      configHash: hashConfig({ k: 2 }),
      counts: { rsft: 10, da: 4 },
      note: 'extra fields are kept',
    });
    expect(await hasManifest(store, 'runs/r1/datasets')).toBe(true);
    expect(await store.exists('runs/r1/datasets/manifest.json')).toBe(true);
    const read = await readManifest(store, 'runs/r1/datasets');
    expect(read).toEqual(written);
    expect(read.stage).toBe('runs/r1/datasets');
    expect(read.note).toBe('extra fields are kept');
    expect(read.codeVersion).toBe(await codeVersion());
    expect(Number.isNaN(Date.parse(read.createdAt))).toBe(false);
  });

  it('refuses a manifest file that is not one, naming its URL', async () => {
    await store.putJson('runs/r2/debates/manifest.json', { counts: 'many' });
    const error = await readManifest(store, 'runs/r2/debates').catch((e: unknown) => e);
    expect((error as Error).name).toBe('InvalidManifest');
    expect((error as Error).message).toContain(store.urlOf('runs/r2/debates/manifest.json'));
    expect((error as Error).message).toContain('configHash');
  });
});

describe('config hash', () => {
  it('ignores key order at every depth but not values or array order', () => {
    const a = { model: 'x', debate: { agents: 5, rounds: 3 }, seeds: [1, 2] };
    const b = { seeds: [1, 2], debate: { rounds: 3, agents: 5 }, model: 'x' };
    expect(hashConfig(a)).toBe(hashConfig(b));
    expect(hashConfig(a)).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(hashConfig({ ...a, seeds: [2, 1] })).not.toBe(hashConfig(a));
    expect(hashConfig({ ...a, debate: { agents: 4, rounds: 3 } })).not.toBe(hashConfig(a));
    expect(stableStringify({ b: 1, a: undefined, c: [undefined] })).toBe('{"b":1,"c":[null]}');
  });

  it('refuses values that JSON cannot hold, naming where', () => {
    expect(() => hashConfig({ lr: Number.NaN })).toThrow('$.lr is NaN');
    expect(() => hashConfig({ a: [1, BigInt(2)] })).toThrow('$.a[1] is a bigint');
  });
});

describe('code version', () => {
  it('is the git commit of the checkout, computed once', async () => {
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: join(__dirname, '../../..') }).toString().trim();
    expect(await codeVersion()).toBe(head);
    expect(codeVersion()).toBe(codeVersion());
  });
});
