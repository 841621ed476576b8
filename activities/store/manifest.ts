import { z } from 'zod';
import { validateKey } from '../../core/keys';
import type { ArtifactStore } from './artifact-store';
import { codeVersion } from './code-version';
import { ArtifactNotFound } from './errors';

/**
 * A stage's manifest is written LAST, after all of its artifacts: its presence is what says
 * "this stage finished", so a resumed run skips exactly the stages that have one.
 */
export const MANIFEST_FILE = 'manifest.json';

export const StageManifest = z.looseObject({
  /** The stage's key prefix, e.g. `runs/r1/datasets`. */
  stage: z.string().min(1),
  /** What the stage read: names to artifact URLs/keys, or any small JSON describing the inputs. */
  inputs: z.record(z.string(), z.unknown()),
  configHash: z.string().min(1),
  codeVersion: z.string().min(1),
  counts: z.record(z.string(), z.number()),
  createdAt: z.string().min(1),
});
export type StageManifest = z.infer<typeof StageManifest>;

export type ManifestInput = Omit<StageManifest, 'stage' | 'codeVersion' | 'createdAt'> & { codeVersion?: string };

export class InvalidManifest extends Error {
  override readonly name = 'InvalidManifest';
  constructor(readonly url: string, reason: string) {
    super(`${url}: not a valid stage manifest (${reason})`);
  }
}

export function manifestKey(stage: string): string {
  return validateKey(`${stage.replace(/\/+$/, '')}/${MANIFEST_FILE}`);
}

export async function writeManifest(store: ArtifactStore, stage: string, input: ManifestInput): Promise<StageManifest> {
  const manifest = StageManifest.parse({
    ...input,
    stage: stage.replace(/\/+$/, ''),
    codeVersion: input.codeVersion ?? (await codeVersion()),
    createdAt: new Date().toISOString(),
  });
  await store.putJson(manifestKey(stage), manifest);
  return manifest;
}

/** Throws ArtifactNotFound when the stage has not finished, InvalidManifest when the file is not one. */
export async function readManifest(store: ArtifactStore, stage: string): Promise<StageManifest> {
  const key = manifestKey(stage);
  const parsed = StageManifest.safeParse(await store.getJson(key));
  if (!parsed.success) throw new InvalidManifest(store.urlOf(key), z.prettifyError(parsed.error));
  return parsed.data;
}

export async function hasManifest(store: ArtifactStore, stage: string): Promise<boolean> {
  return store.exists(manifestKey(stage));
}

/** The manifest when the stage has finished, else null. */
export async function findManifest(store: ArtifactStore, stage: string): Promise<StageManifest | null> {
  try {
    return await readManifest(store, stage);
  } catch (error) {
    if (error instanceof ArtifactNotFound) return null;
    throw error;
  }
}
