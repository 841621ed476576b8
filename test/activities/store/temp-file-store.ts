import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { openStore, type ArtifactStore } from '../../../activities/store/store';

/** A file store in a fresh temporary folder for the enclosing describe block, removed after it. */
export function tempFileStore(name: string): ArtifactStore {
  const dir = mkdtempSync(join(tmpdir(), `agentark-${name}-`));
  afterAll(() => rm(dir, { recursive: true, force: true }));
  return openStore(pathToFileURL(dir).href);
}
