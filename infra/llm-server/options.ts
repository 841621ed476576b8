import { parseArgs } from 'node:util';

import { z } from 'zod';

import type { LlmServerOptions } from './server';

/** Each flag and the environment variable that stands in for it (the flag wins). */
const FLAGS = {
  host: 'AGENTARK_LLM_HOST',
  port: 'AGENTARK_LLM_PORT',
  parallel: 'AGENTARK_LLM_PARALLEL',
  'context-size': 'AGENTARK_LLM_CONTEXT_SIZE',
  threads: 'AGENTARK_LLM_THREADS',
  'max-queue': 'AGENTARK_LLM_MAX_QUEUE',
  model: 'AGENTARK_LLM_MODEL',
  'model-id': 'AGENTARK_LLM_MODEL_ID',
  venv: 'AGENTARK_LLM_VENV',
} as const;

type Flag = keyof typeof FLAGS;

const int = (min: number) => z.coerce.number().int().min(min);

const schema = z.object({
  host: z.string().min(1).default('127.0.0.1'),
  port: int(0).max(65535).default(8400),
  parallel: int(1).max(64).default(4),
  'context-size': int(128).default(2048),
  threads: int(1).optional(),
  'max-queue': int(0).default(64),
  model: z.string().min(1).optional(),
  'model-id': z.string().min(1).optional(),
  venv: z.string().min(1).optional(),
});

export const USAGE = `usage: tsx infra/llm-server/main.ts [--port 8400] [--host 127.0.0.1] [--parallel 4]
       [--context-size 2048] [--threads N] [--max-queue 64] [--model file.gguf] [--model-id ID] [--venv DIR]
every flag can also come from the environment: ${Object.values(FLAGS).join(', ')}`;

/** Flags, then environment, then defaults; an unknown flag or a bad value is an error that says which. */
export function parseServerOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): LlmServerOptions {
  let values: Partial<Record<Flag, string>>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: Object.fromEntries(Object.keys(FLAGS).map((flag) => [flag, { type: 'string' as const }])),
      strict: true,
      allowPositionals: false,
    }) as { values: Partial<Record<Flag, string>> });
  } catch (err) {
    throw new Error(`${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
  }
  const merged: Partial<Record<Flag, string>> = {};
  for (const [flag, envName] of Object.entries(FLAGS) as [Flag, string][]) {
    const value = values[flag] ?? env[envName];
    if (value !== undefined && value !== '') merged[flag] = value;
  }
  const parsed = schema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const flag = String(issue.path[0]) as Flag;
    throw new Error(`invalid --${flag} (or ${FLAGS[flag]}): ${issue.message}\n${USAGE}`);
  }
  const o = parsed.data;
  return {
    host: o.host,
    port: o.port,
    parallel: o.parallel,
    contextSize: o['context-size'],
    threads: o.threads,
    maxQueue: o['max-queue'],
    modelPath: o.model,
    modelId: o['model-id'],
    venvDir: o.venv,
  };
}
