import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import * as path from 'node:path';
import { repoRoot } from '../../infra/dev/paths';
import { startFakeLlmServer, type FakeLlmServer } from '../fixtures/fake-llm';
import { scrape, type Sample } from '../fixtures/prometheus';
import { waitFor } from '../workflows/train-harness';

/**
 * `agentark worker llm` as its own process, on the real local Temporal server, with both metrics
 * ports set: the SDK core serves temporal_* for this worker's task queue on one, the worker serves
 * agentark_* and Node's process metrics on the other. (The SCRIPTED FAKE teacher only lets the llm
 * worker start: no call is made.)
 */

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = createServer().once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

let fake: FakeLlmServer;

const scrapeOrNull = (port: number): Promise<Sample[] | null> => scrape(port).catch(() => null);

/** `agentark worker llm` with the fake as its only teacher, its stderr collected. */
function spawnLlmWorker(vars: Record<string, string>): { child: ChildProcess; stderr: () => string } {
  const env: NodeJS.ProcessEnv = { ...process.env, OPENAI_BASE_URL: fake.url, ...vars };
  delete env.AGENTARK_TEACHERS;
  const child = spawn(path.join(repoRoot, 'bin/agentark'), ['worker', 'llm'], { cwd: repoRoot, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return { child, stderr: () => stderr };
}

describe('worker metrics endpoints (llm worker process, real Temporal dev server)', () => {
  let worker: ChildProcess | null = null;
  afterEach(() => {
    worker?.kill('SIGKILL');
    worker = null;
  });
  beforeAll(async () => {
    fake = await startFakeLlmServer({ problems: new Map(), errorRates: [0.1] });
  });
  afterAll(async () => fake?.close());

  it('serves temporal_* of its own task queue on AGENTARK_SDK_METRICS_PORT and agentark_* on AGENTARK_METRICS_PORT', async () => {
    const [port, sdkPort] = [await freePort(), await freePort()];
    const queue = `test-metrics-${randomUUID().slice(0, 8)}`;
    const { child, stderr } = spawnLlmWorker({ AGENTARK_LLM_QUEUE: queue, AGENTARK_METRICS_PORT: String(port), AGENTARK_SDK_METRICS_PORT: String(sdkPort) });
    worker = child;
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

    const sdk = await waitFor(`temporal_ metrics of task queue ${queue}`, async () => {
      if (child.exitCode !== null) throw new Error(`the worker exited (${child.exitCode}): ${stderr()}`);
      const samples = await scrapeOrNull(sdkPort);
      return samples?.some((s) => s.name.startsWith('temporal_') && s.labels.task_queue === queue) ? samples : null;
    }, 90_000);
    expect(sdk.every((s) => s.name.startsWith('temporal_'))).toBe(true);

    const own = await waitFor('the worker metrics endpoint', () => scrapeOrNull(port), 30_000);
    expect(own.some((s) => s.name === 'agentark_cache_hits_total')).toBe(true);
    expect(own.some((s) => s.name === 'process_resident_memory_bytes' || s.name === 'nodejs_heap_size_used_bytes')).toBe(true);
    expect(own.some((s) => s.name.startsWith('temporal_'))).toBe(false);

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    worker = null;
  }, 150_000);

  it('refuses a port that is no port, naming the variable', async () => {
    const { child, stderr } = spawnLlmWorker({ AGENTARK_METRICS_PORT: 'ninety' });
    worker = child;
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    expect(code).not.toBe(0);
    expect(stderr()).toContain('AGENTARK_METRICS_PORT must be a TCP port');
    worker = null;
  }, 60_000);
});
