import * as fs from 'node:fs';
import type { z } from 'zod';
import { RunConfig } from '../core/config';

/** Read a JSON config file, the command line's runId over the file's; errors name the file and what is wrong. */
export function readConfigJson(file: string, overrides: { runId?: string } = {}): unknown {
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
  return raw;
}

/** A config that failed validation: the file, then one `field: message` line per issue. */
export function invalidConfig(file: string, issues: string[]): Error {
  return new Error(`config ${file} is invalid:\n${issues.map((i) => `  ${i}`).join('\n')}`);
}

/** Read and validate a JSON config file against its schema; errors name the file and each bad field. */
export function readConfigFile<S extends z.ZodType>(file: string, schema: S, overrides: { runId?: string } = {}): z.output<S> {
  const parsed = schema.safeParse(readConfigJson(file, overrides));
  if (!parsed.success) throw invalidConfig(file, parsed.error.issues.map((i) => `${i.path.join('.') || '(top level)'}: ${i.message}`));
  return parsed.data;
}

/** A debate run's config (generateDebates). */
export function readRunConfig(file: string, overrides: { runId?: string } = {}): RunConfig {
  return readConfigFile(file, RunConfig, overrides);
}
