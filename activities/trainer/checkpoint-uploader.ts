import { rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { log } from '@temporalio/activity';
import type { ArtifactStore } from '../store/store';
import { pruneCheckpoints, uploadCheckpoint, type StoredCheckpoint } from './checkpoints';
import { linkTree } from './folders';

/**
 * Uploads the trainer's checkpoints as they appear, one at a time. Each is hard-linked into a
 * snapshot the moment it is announced, so the trainer deleting old checkpoints (its keep_checkpoints)
 * never pulls files from under an upload. A checkpoint announced while an upload runs waits; when
 * several wait, only the newest is uploaded. After each upload the store keeps the newest `keep`.
 */
export class CheckpointUploader {
  private pending: string | null = null;
  private running: Promise<void> | null = null;
  private newest: StoredCheckpoint | null;
  private readonly offered = new Set<string>();

  constructor(
    private readonly store: ArtifactStore,
    private readonly jobPrefix: string,
    private readonly keep: number,
    start: StoredCheckpoint | null,
    /** A folder of this attempt for snapshots, on the trainer's filesystem. */
    private readonly snapshots: string,
    /** Runs before each upload (the events so far go first: a checkpoint in the store implies its events are). */
    private readonly beforeUpload: () => Promise<void>,
    private readonly onUploaded: (checkpoint: StoredCheckpoint) => Promise<void>,
  ) {
    this.newest = start;
  }

  get latest(): StoredCheckpoint | null {
    return this.newest;
  }

  /** A complete local checkpoint folder to upload (one offered before is ignored). */
  offer(localDir: string): void {
    const name = basename(localDir);
    if (this.offered.has(name)) return;
    this.offered.add(name);
    const snapshot = join(this.snapshots, name);
    try {
      linkTree(localDir, snapshot);
    } catch (error) {
      log.warn('checkpoint folder is gone before its snapshot', { dir: localDir, error: (error as Error).message });
      return;
    }
    if (this.pending) void rm(this.pending, { recursive: true, force: true });
    this.pending = snapshot;
    this.running ??= this.drain().finally(() => (this.running = null));
  }

  /** Resolves when every offered checkpoint is uploaded (or superseded). */
  async flush(): Promise<void> {
    while (this.running) await this.running;
  }

  private async drain(): Promise<void> {
    while (this.pending !== null) {
      const dir = this.pending;
      this.pending = null;
      try {
        await this.beforeUpload();
        const uploaded = await uploadCheckpoint(this.store, this.jobPrefix, dir);
        if (this.newest === null || uploaded.step >= this.newest.step) this.newest = uploaded;
        await pruneCheckpoints(this.store, this.jobPrefix, this.keep);
        await this.onUploaded(uploaded);
      } catch (error) {
        // The next checkpoint gets another chance; training goes on meanwhile.
        log.warn('checkpoint upload failed', { dir, error: (error as Error).message });
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }
  }
}
