import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { log } from '@temporalio/activity';
import type { ArtifactStore } from '../store/store';
import { pruneCheckpoints, uploadCheckpoint, type StoredCheckpoint } from './checkpoints';

/**
 * Uploads the trainer's checkpoints as they appear, one at a time. A checkpoint written while an
 * upload runs waits; when several wait, only the newest is uploaded (older ones are superseded, and
 * the trainer may already have deleted them). After each upload the store keeps the newest `keep`.
 */
export class CheckpointUploader {
  private pending: string | null = null;
  private running: Promise<void> | null = null;
  private newest: StoredCheckpoint | null;

  constructor(
    private readonly store: ArtifactStore,
    private readonly jobPrefix: string,
    private readonly keep: number,
    start: StoredCheckpoint | null,
    private readonly onUploaded: (checkpoint: StoredCheckpoint) => Promise<void>,
  ) {
    this.newest = start;
  }

  get latest(): StoredCheckpoint | null {
    return this.newest;
  }

  /** A complete local checkpoint folder to upload. */
  offer(localDir: string): void {
    this.pending = localDir;
    this.running ??= this.drain().finally(() => (this.running = null));
  }

  /** Resolves when every offered checkpoint is uploaded (or skipped). */
  async flush(): Promise<void> {
    while (this.running) await this.running;
  }

  private async drain(): Promise<void> {
    while (this.pending !== null) {
      const dir = this.pending;
      this.pending = null;
      try {
        await access(join(dir, 'meta.json'));
      } catch {
        log.warn('checkpoint folder is gone before its upload (superseded)', { dir });
        continue;
      }
      try {
        const uploaded = await uploadCheckpoint(this.store, this.jobPrefix, dir);
        if (this.newest === null || uploaded.step >= this.newest.step) this.newest = uploaded;
        await pruneCheckpoints(this.store, this.jobPrefix, this.keep);
        await this.onUploaded(uploaded);
      } catch (error) {
        // The next checkpoint gets another chance; training goes on meanwhile.
        log.warn('checkpoint upload failed', { dir, error: (error as Error).message });
      }
    }
  }
}
