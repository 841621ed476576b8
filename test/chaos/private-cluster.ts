import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { Client, Connection } from '@temporalio/client';
import { startService, stopService, type ServiceSpec } from '../../infra/dev/background-process';
import { temporalSpec } from '../../infra/dev/services';
import { repoRoot } from '../../infra/dev/paths';
import { s3ClientFromEnv } from '../../activities/store/s3-client';

/**
 * A Temporal dev server, a SeaweedFS and worker processes of the chaos suite alone, on their own
 * ports and files: stopping any of them disturbs no other test (the shared dev services stay up).
 * Workers run as a user starts them (`bin/agentark worker main|llm`), logging to files the suite reads.
 */
const host = '127.0.0.1';

export interface ClusterOptions {
  dir: string;
  temporalPort: number;
  s3Port: number;
  suffix: string;
  /** The llm worker's environment: its default teacher profile (OPENAI_BASE_URL, OPENAI_API_KEY). */
  teacher: { baseUrl: string; apiKey: string };
  llmConcurrency: number;
}

export type WorkerKind = 'main' | 'llm';

/** SeaweedFS's S3 API on ports of its own (the dev one's layout: master +1000, volume +47, filer +55). */
function s3Spec(name: string, port: number, dataDir: string): ServiceSpec {
  return {
    name,
    dirs: [dataDir],
    command: path.join(repoRoot, '.venv/bin/weed'),
    args: [
      'server', `-dir=${dataDir}`, `-ip=${host}`, `-ip.bind=${host}`,
      '-s3', `-s3.port=${port}`, `-master.port=${port + 1000}`, `-volume.port=${port + 47}`, `-filer.port=${port + 55}`,
      '-s3.port.iceberg=0', '-s3.port.lance=0', '-master.volumeSizeLimitMB=64', '-volume.max=0',
    ],
    healthy: async () => {
      try {
        const res = await fetch(`http://${host}:${port}/`, { signal: AbortSignal.timeout(1000) });
        await res.arrayBuffer();
        return res.status < 500;
      } catch {
        return false;
      }
    },
    startTimeoutMs: 60_000,
  };
}

export class PrivateCluster {
  readonly temporal: ServiceSpec;
  readonly s3: ServiceSpec;
  readonly taskQueue: string;
  readonly llmQueue: string;
  readonly store: string;
  /** The environment of this cluster's clients (the test process, the workers). */
  readonly env: Record<string, string>;
  readonly workers: Record<WorkerKind, ChildProcess | undefined> = { main: undefined, llm: undefined };

  constructor(readonly options: ClusterOptions) {
    const { dir, temporalPort, s3Port, suffix } = options;
    this.temporal = temporalSpec({ name: `temporal-chaos-${suffix}`, port: temporalPort, uiPort: temporalPort + 1000, dbFile: path.join(dir, 'temporal.sqlite') });
    this.s3 = s3Spec(`s3-chaos-${suffix}`, s3Port, path.join(dir, 's3'));
    this.taskQueue = `chaos-main-${suffix}`;
    this.llmQueue = `chaos-llm-${suffix}`;
    this.store = `s3://chaos/runs-${suffix}`;
    this.env = {
      TEMPORAL_ADDRESS: `${host}:${temporalPort}`,
      AWS_ENDPOINT_URL_S3: `http://${host}:${s3Port}`,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'agentark',
      AWS_SECRET_ACCESS_KEY: 'agentark',
      AGENTARK_STORE: this.store,
    };
  }

  logFile = (kind: WorkerKind): string => path.join(this.options.dir, `worker-${kind}.log`);

  async start(): Promise<void> {
    await Promise.all([startService(this.temporal), startService(this.s3)]);
    await this.createBucket();
    this.startWorker('main');
    this.startWorker('llm');
  }

  private async createBucket(): Promise<void> {
    const s3 = s3ClientFromEnv({ ...process.env, ...this.env });
    try {
      // The filer may need a moment after the gateway answers.
      for (let attempt = 0; ; attempt++) {
        try {
          await s3.send(new CreateBucketCommand({ Bucket: 'chaos' }));
          return;
        } catch (err) {
          if (['BucketAlreadyOwnedByYou', 'BucketAlreadyExists'].includes((err as Error).name)) return;
          if (attempt >= 100) throw err;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    } finally {
      s3.destroy();
    }
  }

  startWorker(kind: WorkerKind): ChildProcess {
    const { teacher, llmConcurrency } = this.options;
    const env = {
      ...process.env,
      ...this.env,
      AGENTARK_TASK_QUEUE: this.taskQueue,
      AGENTARK_LLM_QUEUE: this.llmQueue,
      AGENTARK_LLM_CONCURRENCY: String(llmConcurrency),
      OPENAI_BASE_URL: teacher.baseUrl,
      OPENAI_API_KEY: teacher.apiKey,
    };
    const log = fs.openSync(this.logFile(kind), 'a');
    const child = spawn(path.join(repoRoot, 'bin/agentark'), ['worker', kind], { env, detached: true, stdio: ['ignore', log, log] });
    fs.closeSync(log);
    this.workers[kind] = child;
    return child;
  }

  /** Signals a worker's process group and resolves once it has exited. */
  stopWorker(kind: WorkerKind, signal: NodeJS.Signals): Promise<void> {
    const w = this.workers[kind];
    return new Promise<void>((resolve) => {
      if (!w || w.exitCode !== null || w.signalCode !== null) return resolve();
      w.once('exit', () => resolve());
      process.kill(-w.pid!, signal);
    });
  }

  async connect(): Promise<{ client: Client; connection: Connection }> {
    const connection = await Connection.connect({ address: this.env.TEMPORAL_ADDRESS });
    return { client: new Client({ connection }), connection };
  }

  async stop(): Promise<void> {
    await Promise.all([this.stopWorker('main', 'SIGTERM'), this.stopWorker('llm', 'SIGTERM')]);
    await Promise.all([stopService(this.temporal.name), stopService(this.s3.name)]);
  }
}
