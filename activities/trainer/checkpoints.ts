import { basename, join } from 'node:path';
import type { ArtifactStore } from '../store/store';
import { deleteFolder, downloadFolder, pathExists, uploadFolder } from './folders';

/**
 * A job's checkpoints in the store, `<jobPrefix>/checkpoints/step-NNNNNNNN/`, laid out as the trainer
 * writes them locally (trainer/README.md "Checkpoints"): `meta.json` is uploaded last and deleted
 * first, so a checkpoint folder with a meta.json is complete.
 */

const META = 'meta.json';
const STEP_DIR = /^step-(\d+)$/;

export interface StoredCheckpoint {
  key: string;
  step: number;
}

export const checkpointsPrefix = (jobPrefix: string): string => `${jobPrefix}/checkpoints`;

/** Complete checkpoints in the store, oldest first. */
export async function storedCheckpoints(store: ArtifactStore, jobPrefix: string): Promise<StoredCheckpoint[]> {
  const root = checkpointsPrefix(jobPrefix);
  const found: StoredCheckpoint[] = [];
  for await (const key of store.list(`${root}/`)) {
    const [dir, file, ...rest] = key.slice(root.length + 1).split('/');
    const m = STEP_DIR.exec(dir);
    if (m && file === META && rest.length === 0) found.push({ key: `${root}/${dir}`, step: Number(m[1]) });
  }
  return found.sort((a, b) => a.step - b.step);
}

/** Uploads a local checkpoint folder (`…/checkpoints/step-N`) and returns where it went. */
export async function uploadCheckpoint(store: ArtifactStore, jobPrefix: string, localDir: string): Promise<StoredCheckpoint> {
  const name = basename(localDir);
  const m = STEP_DIR.exec(name);
  if (!m) throw new Error(`${localDir}: not a checkpoint folder (expected step-N)`);
  const key = `${checkpointsPrefix(jobPrefix)}/${name}`;
  await uploadFolder(store, localDir, key, META);
  return { key, step: Number(m[1]) };
}

/**
 * Keeps the newest `keep` complete checkpoints in the store; removes older ones, and incomplete
 * leftovers (an upload cut short) older than the newest complete one.
 */
export async function pruneCheckpoints(store: ArtifactStore, jobPrefix: string, keep: number): Promise<void> {
  const complete = await storedCheckpoints(store, jobPrefix);
  if (complete.length === 0) return;
  const kept = new Set(complete.slice(-keep).map((c) => c.key));
  const newest = complete[complete.length - 1].step;
  const root = checkpointsPrefix(jobPrefix);
  const folders = new Map<string, number>();
  for await (const key of store.list(`${root}/`)) {
    const dir = key.slice(root.length + 1).split('/')[0];
    const m = STEP_DIR.exec(dir);
    if (m) folders.set(`${root}/${dir}`, Number(m[1]));
  }
  for (const [key, step] of folders) {
    if (!kept.has(key) && step < newest) await deleteFolder(store, key, META);
  }
}

/**
 * Puts the checkpoint to resume from into the trainer's local output folder, where `--resume auto`
 * finds it: the newest complete one in the store (at least as new as the one the last heartbeat
 * named, which may predate the last upload), unless a complete local copy exists. Null: none stored.
 */
export async function stageResume(store: ArtifactStore, jobPrefix: string, outputDir: string): Promise<StoredCheckpoint | null> {
  const stored = await storedCheckpoints(store, jobPrefix);
  const pick = stored[stored.length - 1];
  if (!pick) return null;
  const local = join(outputDir, 'checkpoints', basename(pick.key));
  if (!(await pathExists(join(local, META)))) await downloadFolder(store, pick.key, local);
  return pick;
}
