import * as path from 'node:path';
import { Connection } from '@temporalio/client';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { searchAttributeRegistrations } from '../../core/search-attributes';
import { readPid, ServiceSpec, startService, StartResult, stopService } from './background-process';
import { repoRoot, stateDir, venvBin } from './paths';

/**
 * The embedded-default services of one machine: the Temporal dev server (SQLite file, Web UI),
 * SeaweedFS's S3 API and the local teacher LLM. Ports are overridable through the environment.
 */
export const devPorts = {
  temporal: Number(process.env.AGENTARK_TEMPORAL_PORT ?? 7233),
  temporalUi: Number(process.env.AGENTARK_TEMPORAL_UI_PORT ?? 8233),
  s3: Number(process.env.AGENTARK_S3_PORT ?? 8333),
  llm: Number(process.env.AGENTARK_LLM_PORT ?? 8400),
};
export const devBucket = process.env.AGENTARK_S3_BUCKET ?? 'agentark';
const host = '127.0.0.1';

/** The environment a client of the dev services needs (workers, CLI, tests). */
export function devEnv(): Record<string, string> {
  return {
    TEMPORAL_ADDRESS: `${host}:${devPorts.temporal}`,
    TEMPORAL_NAMESPACE: 'default',
    AWS_ENDPOINT_URL_S3: `http://${host}:${devPorts.s3}`,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'agentark',
    AWS_SECRET_ACCESS_KEY: 'agentark',
    AGENTARK_STORE: `s3://${devBucket}`,
    OPENAI_BASE_URL: `http://${host}:${devPorts.llm}/v1`,
    OPENAI_API_KEY: 'local',
  };
}

async function httpOk(url: string, accept: (status: number) => boolean): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return accept(res.status);
  } catch {
    return false;
  }
}

async function temporalHealthy(address: string): Promise<boolean> {
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({ address, connectTimeout: 1000 });
    await connection.healthService.check({});
    return true;
  } catch {
    return false;
  } finally {
    await connection?.close().catch(() => undefined);
  }
}

/** The Temporal dev server; tests that restart Temporal run a private one on other ports. */
export function temporalSpec(opts: { name?: string; port?: number; uiPort?: number; dbFile?: string } = {}): ServiceSpec {
  const port = opts.port ?? devPorts.temporal;
  return {
    name: opts.name ?? 'temporal',
    command: venvBin('temporal'),
    args: [
      'server', 'start-dev',
      '--ip', host,
      '--port', String(port),
      '--ui-port', String(opts.uiPort ?? devPorts.temporalUi),
      '--db-filename', opts.dbFile ?? path.join(stateDir, 'temporal.sqlite'),
      // WAL with synchronous=NORMAL: a crash of any process loses nothing committed; only a power cut
      // can drop the last transactions. It halves the fsyncs that bound the dev server's throughput.
      '--sqlite-pragma', 'journal_mode=WAL',
      '--sqlite-pragma', 'synchronous=NORMAL',
      '--log-level', 'warn',
      // One partition per task queue. With the default four, a task queue whose worker polls only when
      // a slot is free (a gpu worker with one slot) leaves each new task in a partition its next poll
      // may miss for a whole long-poll: measured here, 100 s between one trainer job and the next.
      '--dynamic-config-value', 'matching.numTaskqueueReadPartitions=1',
      '--dynamic-config-value', 'matching.numTaskqueueWritePartitions=1',
      ...Object.entries(searchAttributeRegistrations).flatMap(([k, t]) => ['--search-attribute', `${k}=${t}`]),
    ],
    healthy: () => temporalHealthy(`${host}:${port}`),
    startTimeoutMs: 60_000,
  };
}

export const s3Spec = (): ServiceSpec => {
  const p = devPorts.s3;
  const dataDir = path.join(stateDir, 's3');
  return {
    name: 's3',
    dirs: [dataDir],
    command: venvBin('weed'),
    // `weed server` rather than `weed mini`: mini binds every component to 0.0.0.0.
    args: [
      'server', `-dir=${dataDir}`, `-ip=${host}`, `-ip.bind=${host}`,
      '-s3', `-s3.port=${p}`, `-master.port=${p + 1000}`, `-volume.port=${p + 47}`, `-filer.port=${p + 55}`,
      '-master.volumeSizeLimitMB=256', '-volume.max=0',
    ],
    healthy: () => httpOk(`http://${host}:${p}/`, (s) => s < 500),
    startTimeoutMs: 60_000,
  };
};

export const llmSpec = (): ServiceSpec => ({
  name: 'llm',
  command: process.execPath,
  args: [
    '--import', path.join(repoRoot, 'node_modules/tsx/dist/loader.mjs'),
    path.join(repoRoot, 'infra/llm-server/main.ts'),
    '--host', host, '--port', String(devPorts.llm),
  ],
  env: { NODE_LLAMA_CPP_SKIP_DOWNLOAD: 'true' },
  healthy: () => httpOk(`http://${host}:${devPorts.llm}/health`, (s) => s === 200),
  startTimeoutMs: 120_000,
});

async function ensureBucket(): Promise<void> {
  const env = devEnv();
  const s3 = new S3Client({
    endpoint: env.AWS_ENDPOINT_URL_S3,
    region: env.AWS_REGION,
    forcePathStyle: true,
    credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY },
  });
  try {
    // The filer may need a moment after the gateway answers; retry briefly.
    for (let attempt = 0; ; attempt++) {
      try {
        await s3.send(new CreateBucketCommand({ Bucket: devBucket }));
        return;
      } catch (err) {
        const name = (err as Error).name;
        if (name === 'BucketAlreadyOwnedByYou' || name === 'BucketAlreadyExists') return;
        if (attempt >= 50) throw err;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  } finally {
    s3.destroy();
  }
}

export type ServiceName = 'temporal' | 's3' | 'llm';
export const allServices: ServiceName[] = ['temporal', 's3', 'llm'];
const specs: Record<ServiceName, () => ServiceSpec> = { temporal: () => temporalSpec(), s3: s3Spec, llm: llmSpec };

/** Start (or find running) the given services, in parallel; idempotent. */
export async function devUp(names: ServiceName[] = allServices): Promise<StartResult[]> {
  return Promise.all(
    names.map(async (n) => {
      const result = await startService(specs[n]());
      if (n === 's3') await ensureBucket();
      return result;
    }),
  );
}

export async function devDown(names: ServiceName[] = allServices): Promise<ServiceName[]> {
  const stopped = await Promise.all(names.map(async (n) => ((await stopService(n)) ? n : undefined)));
  return stopped.filter((n): n is ServiceName => n !== undefined);
}

export interface ServiceStatus {
  name: ServiceName;
  healthy: boolean;
  pid?: number;
  url: string;
}

export async function devStatus(): Promise<ServiceStatus[]> {
  const urls: Record<ServiceName, string> = {
    temporal: `${host}:${devPorts.temporal} (Web UI http://${host}:${devPorts.temporalUi})`,
    s3: `http://${host}:${devPorts.s3} (bucket ${devBucket})`,
    llm: `http://${host}:${devPorts.llm}/v1`,
  };
  return Promise.all(
    allServices.map(async (name) => ({
      name,
      healthy: await specs[name]().healthy(),
      pid: readPid(name),
      url: urls[name],
    })),
  );
}
