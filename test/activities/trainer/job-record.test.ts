import { hashConfig } from '../../../activities/store/config-hash';
import { findManifest, writeManifest } from '../../../activities/store/manifest';
import { claimPrefix } from '../../../activities/trainer/job-record';
import { tempFileStore } from '../store/temp-file-store';

describe('a trainer job claims its store prefix for its identity', () => {
  const store = tempFileStore('claim');

  const prefix = 'runs/r1/train/rsft';
  const first = hashConfig({ settings: { lr: 1 } });
  const second = hashConfig({ settings: { lr: 2 } });
  const stored = async (): Promise<{ manifest: boolean; partial: boolean }> => ({
    manifest: (await findManifest(store, prefix)) !== null,
    partial: await store.exists(`${prefix}/partial.jsonl`),
  });
  const clearPartial = jest.fn(() => store.delete(`${prefix}/partial.jsonl`));

  it('the same identity again keeps what the job stored', async () => {
    await claimPrefix(store, prefix, first, clearPartial);
    await store.put(`${prefix}/partial.jsonl`, Buffer.from('{"step": 1}\n'));
    await writeManifest(store, prefix, { inputs: {}, configHash: first, counts: {} });
    clearPartial.mockClear();
    await claimPrefix(store, prefix, first, clearPartial);
    expect(clearPartial).not.toHaveBeenCalled();
    expect(await stored()).toEqual({ manifest: true, partial: true });
  });

  it('another identity removes the manifest and the stale output, once', async () => {
    await claimPrefix(store, prefix, second, clearPartial);
    expect(clearPartial).toHaveBeenCalledTimes(1);
    expect(await stored()).toEqual({ manifest: false, partial: false });
    await claimPrefix(store, prefix, second, clearPartial);
    expect(clearPartial).toHaveBeenCalledTimes(1);
  });
});
