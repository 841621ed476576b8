import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The repository root: activities/store/ sits two levels below it. */
const ROOT = join(__dirname, '..', '..');

let cached: Promise<string> | undefined;

/**
 * Which code produced an artifact, recorded in every manifest: the git commit when the code runs
 * from a checkout, else `v<package.json version>` (a container image without .git).
 * Computed once per process.
 */
export function codeVersion(): Promise<string> {
  cached ??= gitCommit().catch(() => packageVersion());
  return cached;
}

function gitCommit(): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('git', ['rev-parse', 'HEAD'], { cwd: ROOT, timeout: 5000 }, (error, stdout) => {
      const commit = stdout?.trim() ?? '';
      if (error || !/^[0-9a-f]{40,64}$/.test(commit)) reject(error ?? new Error(`git rev-parse printed ${JSON.stringify(commit)}`));
      else resolve(commit);
    });
  });
}

async function packageVersion(): Promise<string> {
  const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? `v${pkg.version}` : 'unknown';
}
