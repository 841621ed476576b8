import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from '../../infra/dev/paths';

/**
 * The main and llm workers as a user runs them (`bin/agentark worker main|llm`), each its own
 * process on the bench's own task queues, so its CPU and memory can be read apart and it can be
 * killed like a crashed pod.
 */

export interface WorkerSetup {
  /** The teacher's base URL (…/v1): the llm worker's default profile. */
  teacherUrl: string;
  taskQueue: string;
  llmQueue: string;
  logDir: string;
}

export type WorkerKind = 'main' | 'llm';

export class WorkerProcess {
  private exited = false;
  readonly ready: Promise<void>;

  private constructor(readonly kind: WorkerKind, readonly child: ChildProcess, readonly logFile: string) {
    child.once('exit', () => (this.exited = true));
    this.ready = this.waitReady();
  }

  /** bin/agentark execs node, so the child's pid is the worker's own process. */
  get pid(): number {
    return this.child.pid!;
  }

  get alive(): boolean {
    return !this.exited;
  }

  static start(kind: WorkerKind, setup: WorkerSetup, env: Record<string, string>, serial: number): WorkerProcess {
    fs.mkdirSync(setup.logDir, { recursive: true });
    const logFile = path.join(setup.logDir, `worker-${kind}-${serial}.log`);
    const log = fs.openSync(logFile, 'a');
    const child = spawn(path.join(repoRoot, 'bin/agentark'), ['worker', kind], {
      env: {
        ...process.env,
        AGENTARK_TASK_QUEUE: setup.taskQueue,
        AGENTARK_LLM_QUEUE: setup.llmQueue,
        OPENAI_BASE_URL: setup.teacherUrl,
        OPENAI_API_KEY: 'fake',
        AGENTARK_TEACHER_MODEL: 'fake-teacher',
        ...env,
      },
      // Its own process group, so a kill reaches nothing of the bench's.
      detached: true,
      stdio: ['ignore', log, log],
    });
    fs.closeSync(log);
    if (child.pid === undefined) throw new Error(`could not start the ${kind} worker`);
    return new WorkerProcess(kind, child, logFile);
  }

  /** The worker says it polls once its workflow bundle is built and it is connected. */
  private async waitReady(timeoutMs = 180_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const text = fs.existsSync(this.logFile) ? fs.readFileSync(this.logFile, 'utf8') : '';
      if (/worker polling task queue/.test(text)) return;
      if (this.exited) throw new Error(`the ${this.kind} worker exited during start-up; see ${this.logFile}:\n${text.split('\n').slice(-15).join('\n')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`the ${this.kind} worker did not start within ${timeoutMs / 1000} s; see ${this.logFile}`);
  }

  /** Sends the signal and waits for the exit; SIGTERM turns into SIGKILL after `graceMs`. */
  async stop(signal: 'SIGTERM' | 'SIGKILL', graceMs = 20_000): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    try {
      process.kill(-this.pid, signal);
    } catch {
      return; // already gone
    }
    const timer = signal === 'SIGTERM' ? setTimeout(() => this.alive && process.kill(-this.pid, 'SIGKILL'), graceMs) : undefined;
    await gone;
    if (timer) clearTimeout(timer);
  }
}

/** One main and one llm worker; the llm worker is restarted when a figure needs another concurrency. */
export class WorkerPair {
  main?: WorkerProcess;
  llm?: WorkerProcess;
  private llmConcurrency?: number;
  private serial = 0;

  constructor(private readonly setup: WorkerSetup) {}

  async ensure(llmConcurrency: number): Promise<void> {
    if (this.llm && (!this.llm.alive || this.llmConcurrency !== llmConcurrency)) {
      await this.llm.stop('SIGTERM');
      this.llm = undefined;
    }
    if (this.main && !this.main.alive) this.main = undefined;
    const n = ++this.serial;
    this.main ??= WorkerProcess.start('main', this.setup, {}, n);
    if (!this.llm) {
      this.llm = WorkerProcess.start('llm', this.setup, { AGENTARK_LLM_CONCURRENCY: String(llmConcurrency) }, n);
      this.llmConcurrency = llmConcurrency;
    }
    await Promise.all([this.main.ready, this.llm.ready]);
  }

  /** Both at once, as a node lost with both on it. */
  async kill(): Promise<void> {
    await Promise.all([this.main?.stop('SIGKILL'), this.llm?.stop('SIGKILL')]);
    this.main = undefined;
    this.llm = undefined;
  }

  async stop(): Promise<void> {
    await Promise.all([this.main?.stop('SIGTERM'), this.llm?.stop('SIGTERM')]);
    this.main = undefined;
    this.llm = undefined;
  }
}
