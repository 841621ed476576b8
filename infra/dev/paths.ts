import * as path from 'node:path';

/** Where the project and its local state live. State is git-ignored and survives restarts. */
export const repoRoot = path.resolve(__dirname, '../..');
export const stateDir = process.env.AGENTARK_STATE_DIR ?? path.join(repoRoot, '.state');
export const venvDir = process.env.AGENTARK_VENV ?? path.join(repoRoot, '.venv');
export const venvBin = (name: string): string => path.join(venvDir, 'bin', name);
