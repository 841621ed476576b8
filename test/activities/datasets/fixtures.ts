import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** A temp folder for dataset files written by a test; the repository ships no third-party data. */
export async function fixtureDir(): Promise<{ write(name: string, content: string): Promise<string>; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'agentark-datasets-'));
  return {
    async write(name, content) {
      await writeFile(join(dir, name), content);
      return pathToFileURL(join(dir, name)).href;
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

export const jsonl = (...records: unknown[]): string => records.map((r) => JSON.stringify(r)).join('\n') + '\n';
