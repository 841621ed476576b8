import * as fs from 'node:fs';
import type { z } from 'zod';
import { RunConfig } from '../core/config';

/** Read and validate a JSON config file against its schema; errors name the file and each bad field. */
export function readConfigFile<S extends z.ZodType>(file: string, schema: S, overrides: { runId?: string } = {}): z.output<S> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read config ${file}: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new Error(`config ${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (overrides.runId && typeof raw === 'object' && raw !== null) raw = { ...raw, runId: overrides.runId };
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(top level)'}: ${i.message}`);
    throw new Error(`config ${file} is invalid:\n${lines.join('\n')}`);
  }
  return parsed.data;
}

/** A debate run's config (generateDebates). */
export function readRunConfig(file: string, overrides: { runId?: string } = {}): RunConfig {
  return readConfigFile(file, RunConfig, overrides);
}
