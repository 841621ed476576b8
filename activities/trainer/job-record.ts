import { z } from 'zod';
import type { TrainJobInput, TrainJobResult, TrainJobSpec } from '../../core/training';
import { hashConfig } from '../store/config-hash';
import { findManifest, manifestKey, writeManifest } from '../store/manifest';
import type { ArtifactStore } from '../store/store';
import { folderFingerprint } from './folders';

/**
 * A training job's identity and its manifest. The identity hashes everything its output depends on
 * (trainer, settings, the content tags of its dataset and input folders), so starting a run again
 * skips exactly the jobs whose inputs are unchanged, and redoes a job whose upstream model was retrained.
 * Every trainer job (train or generate) claims its store prefix for its identity (`claimPrefix`).
 */

export async function jobIdentity(store: ArtifactStore, input: TrainJobSpec): Promise<string> {
  const { model } = input;
  return hashConfig({
    trainer: input.trainer,
    settings: input.settings,
    data: { key: input.data, etag: (await store.stat(input.data)).etag },
    model: model.key ? { ...model, fingerprint: await folderFingerprint(store, model.key) } : model,
    initFrom: input.initFrom ? await folderFingerprint(store, input.initFrom) : null,
    prm: input.prm ? await folderFingerprint(store, input.prm) : null,
  });
}

/**
 * A job's prefix in the store belongs to one identity: a job started again with other inputs or
 * settings must not carry on from the old one's partial output, nor keep a manifest that vouches for
 * an output about to be replaced. On a change of identity the manifest goes, then whatever `clearStale`
 * removes, and only then is the prefix claimed for the new identity.
 */
export async function claimPrefix(store: ArtifactStore, prefix: string, identity: string, clearStale: () => Promise<void>): Promise<void> {
  const key = `${prefix}/identity.json`;
  const current = (await store.getJson(key).catch(() => null)) as { identity?: string } | null;
  if (current?.identity === identity) return;
  await store.delete(manifestKey(prefix));
  await clearStale();
  await store.putJson(key, { identity });
}

export const jobKeys = (prefix: string) => ({
  finalKey: `${prefix}/final`,
  eventsKey: `${prefix}/events.jsonl`,
  metricsKey: `${prefix}/metrics.json`,
  manifestKey: manifestKey(prefix),
});

const Recorded = z.looseObject({ result: z.looseObject({ identity: z.string(), steps: z.number(), startStep: z.number(), seconds: z.number(), lastLoss: z.number().nullable() }) });

/** The recorded result when the job finished earlier with the same identity, else null. */
export async function finishedJob(store: ArtifactStore, input: Pick<TrainJobInput, 'job' | 'prefix'>, identity: string): Promise<TrainJobResult | null> {
  const manifest = await findManifest(store, input.prefix);
  if (!manifest || manifest.configHash !== identity) return null;
  const recorded = Recorded.safeParse(manifest);
  if (!recorded.success) return null;
  const r = recorded.data.result;
  return { job: input.job, identity, ...jobKeys(input.prefix), steps: r.steps, startStep: r.startStep, seconds: r.seconds, lastLoss: r.lastLoss, skipped: true };
}

export async function recordJob(store: ArtifactStore, input: TrainJobSpec, result: TrainJobResult): Promise<void> {
  await writeManifest(store, input.prefix, {
    inputs: { data: input.data, model: input.model, initFrom: input.initFrom ?? null, prm: input.prm ?? null, trainer: input.trainer, settings: input.settings },
    configHash: result.identity,
    counts: { steps: result.steps, startStep: result.startStep, seconds: result.seconds },
    result: { ...result, skipped: false },
  } as Parameters<typeof writeManifest>[2]);
}
