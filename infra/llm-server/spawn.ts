import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';

import { REPO_ROOT } from './locate-model';

export interface SpawnLlmServerOptions {
  host?: string;
  /** 0 (the default here) lets the server pick a free port; the ready line reports it. */
  port?: number;
  parallel?: number;
  contextSize?: number;
  threads?: number;
  maxQueue?: number;
  modelPath?: string;
  modelId?: string;
  /** Extra environment for the child (NODE_LLAMA_CPP_SKIP_DOWNLOAD is always set). */
  env?: NodeJS.ProcessEnv;
  /** Each stderr line of the child (request logs, errors); kept for the error message either way. */
  onLog?: (line: string) => void;
  startTimeoutMs?: number;
}

export interface ReadyEvent {
  event: 'ready';
  url: string;
  model: string;
  modelPath: string;
  loadMs: number;
  threads: number;
}

export interface SpawnedLlmServer {
  url: string;
  pid: number;
  ready: ReadyEvent;
  /** SIGTERM, then SIGKILL if the process has not exited within `timeoutMs`. */
  close(timeoutMs?: number): Promise<void>;
}

/**
 * Runs main.ts as its own process and resolves on its ready line. Jest (CommonJS, no VM modules)
 * cannot load the ESM-only node-llama-cpp in-process, and a separate process is also how the
 * dev services run the teacher, so tests exercise exactly that path.
 */
export async function spawnLlmServer(options: SpawnLlmServerOptions = {}): Promise<SpawnedLlmServer> {
  const flags: [string, string | number | undefined][] = [
    ['--host', options.host],
    ['--port', options.port ?? 0],
    ['--parallel', options.parallel],
    ['--context-size', options.contextSize],
    ['--threads', options.threads],
    ['--max-queue', options.maxQueue],
    ['--model', options.modelPath],
    ['--model-id', options.modelId],
  ];
  const args = flags.flatMap(([flag, value]) => (value === undefined ? [] : [flag, String(value)]));
  const main = path.join(REPO_ROOT, 'infra', 'llm-server', 'main.ts');
  const child = spawn(process.execPath, ['--import', 'tsx', main, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...options.env, NODE_LLAMA_CPP_SKIP_DOWNLOAD: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderrTail: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (line) => {
    stderrTail.push(line);
    if (stderrTail.length > 40) stderrTail.shift();
    options.onLog?.(line);
  });

  const ready = await new Promise<ReadyEvent>((resolve, reject) => {
    const timeoutMs = options.startTimeoutMs ?? 120_000;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`llm server did not become ready within ${timeoutMs} ms:\n${stderrTail.join('\n')}`));
    }, timeoutMs);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const event = parseReady(line);
      if (event === undefined) return;
      clearTimeout(timer);
      resolve(event);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`llm server exited before it was ready (code ${code}, signal ${signal}):\n${stderrTail.join('\n')}`));
    });
  });

  return { url: ready.url, pid: child.pid!, ready, close: (timeoutMs = 15_000) => stop(child, timeoutMs) };
}

function parseReady(line: string): ReadyEvent | undefined {
  try {
    const value = JSON.parse(line) as Partial<ReadyEvent>;
    return value.event === 'ready' && typeof value.url === 'string' ? (value as ReadyEvent) : undefined;
  } catch {
    return undefined;
  }
}

function stop(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
