import { cpus } from 'node:os';
import path from 'node:path';
import { repoRoot } from '../../infra/dev/paths';
import { trainerPython } from '../trainer/gpu-slots';
import { BatchStopped, CheckerProcess, type Job, type Launch } from './process';
import type { Answer, CheckRequest } from './protocol';

/**
 * A pool of checker processes shared by every caller in this process. Requests queue here; whatever
 * has queued by the next turn of the event loop goes out in batches, one batch at a time per
 * process, up to `processes` processes, started only when there is work for them. A process that
 * dies or runs past the per-check timeout is killed and, while work remains, replaced; the check it
 * was on gets an undecided verdict saying why, the rest of its batch goes back to the front of the queue.
 */

export interface PoolOptions {
  processes: number;
  /** Per check, measured in the pool: past it the process is killed (and started afresh). */
  checkTimeoutMs: number;
  /** The server's own deadline per check (its verdict then says so and the process lives on); 0 = none. */
  serverTimeoutMs: number;
  batchSize: number;
  startTimeoutMs: number;
  python: string;
  /** Extra environment for the checker processes. */
  env?: Record<string, string>;
}

export interface PoolStats {
  started: number;
  /** Processes killed for a timeout or found dead (not counting close()). */
  lost: number;
  batches: number;
  /** Answers given by checker processes (not counting those the pool gave for a timeout). */
  checks: number;
  timeouts: number;
  /** Checks answered by each process, by pid, over the pool's life. */
  byProcess: Record<number, number>;
}

export function poolOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): PoolOptions {
  const checkTimeoutMs = positiveInt(env, 'AGENTARK_CHECK_TIMEOUT_MS', 5000);
  return {
    processes: positiveInt(env, 'AGENTARK_CHECKER_PROCESSES', Math.min(cpus().length, 4)),
    checkTimeoutMs,
    // A little under the pool's, so that the server's own deadline answers first while it can.
    serverTimeoutMs: Math.max(1, Math.floor(checkTimeoutMs * 0.8)),
    batchSize: 32,
    startTimeoutMs: 120_000,
    python: trainerPython(env),
  };
}

function positiveInt(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got ${JSON.stringify(raw)}`);
  return n;
}

interface Submission {
  failed: boolean;
  reject(err: Error): void;
}

type QueuedJob = Job & { submission: Submission };

export class CheckerPool {
  private readonly queue: QueuedJob[] = [];
  private readonly idle: CheckerProcess[] = [];
  private readonly live = new Set<CheckerProcess>();
  private starting = 0;
  private pumpScheduled = false;
  private closed = false;
  private identity = { checker: 'agentark-answer', version: 'unknown' };
  private readonly counts = { started: 0, lost: 0, batches: 0, timeouts: 0 };
  private readonly answeredByGone: Record<number, number> = {};

  constructor(readonly options: PoolOptions) {}

  /** Answers in request order; rejects (CheckerUnavailable) when no checker process can start. */
  submit(requests: readonly CheckRequest[]): Promise<Answer[]> {
    if (this.closed) return Promise.reject(new Error('the checker pool is closed'));
    if (requests.length === 0) return Promise.resolve([]);
    return new Promise<Answer[]>((resolve, reject) => {
      const answers = new Array<Answer>(requests.length);
      let left = requests.length;
      const submission: Submission = { failed: false, reject };
      for (const [i, request] of requests.entries()) {
        this.queue.push({
          request,
          crashes: 0,
          submission,
          settle: (answer) => {
            if ('error' in answer) return this.fail(submission, new Error(`the checker rejected a request: ${answer.error}`));
            answers[i] = answer;
            if (--left === 0) resolve(answers);
          },
        });
      }
      this.schedulePump();
    });
  }

  stats(): PoolStats {
    const byProcess = { ...this.answeredByGone };
    for (const p of this.live) if (p.pid !== undefined) byProcess[p.pid] = p.answered;
    const checks = Object.values(byProcess).reduce((a, b) => a + b, 0);
    return { ...this.counts, checks, byProcess };
  }

  /** Stops every process; requests still waiting fail. */
  close(): void {
    this.closed = true;
    for (const p of this.live) p.kill();
    for (const job of this.queue.splice(0)) this.fail(job.submission, new Error('the checker pool was closed'));
  }

  private schedulePump(): void {
    if (this.pumpScheduled || this.closed) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    if (this.closed) return;
    this.dropFailed();
    while (this.queue.length > 0 && this.idle.length > 0) {
      // Small loads are spread over every process rather than given to one.
      const size = Math.min(this.options.batchSize, Math.ceil(this.queue.length / this.options.processes));
      this.runBatch(this.idle.pop()!, this.queue.splice(0, size));
      this.dropFailed();
    }
    const wanted = Math.min(this.options.processes - this.live.size, Math.ceil(this.queue.length / this.options.batchSize) - this.starting);
    for (let i = 0; i < wanted; i++) this.start();
  }

  private dropFailed(): void {
    for (let i = this.queue.length - 1; i >= 0; i--) if (this.queue[i].submission.failed) this.queue.splice(i, 1);
  }

  private start(): void {
    const proc = new CheckerProcess(this.launch(), this.options.checkTimeoutMs, this.options.startTimeoutMs);
    this.counts.started++;
    this.live.add(proc);
    this.starting++;
    proc.whenGone(() => this.forget(proc));
    proc.ready.then(
      (ready) => {
        this.starting--;
        this.identity = { checker: ready.checker, version: ready.version };
        if (this.closed) return proc.kill();
        if (!proc.alive) return;
        this.idle.push(proc);
        this.pump();
      },
      (err: Error) => {
        this.starting--;
        proc.kill();
        this.forget(proc);
        // No process could start: every waiting request fails with the reason (no python, a module missing).
        if (this.live.size === 0) for (const job of this.queue.splice(0)) this.fail(job.submission, err);
      },
    );
  }

  private forget(proc: CheckerProcess): void {
    if (!this.live.delete(proc)) return;
    if (proc.pid !== undefined) this.answeredByGone[proc.pid] = proc.answered;
    const at = this.idle.indexOf(proc);
    if (at >= 0) this.idle.splice(at, 1);
    if (!this.closed) this.counts.lost++;
    if (this.queue.length > 0) this.schedulePump();
  }

  private runBatch(proc: CheckerProcess, jobs: QueuedJob[]): void {
    this.counts.batches++;
    proc.run(jobs).then(
      () => {
        if (this.closed || !proc.alive) return;
        this.idle.push(proc);
        this.pump();
      },
      (err: unknown) => {
        proc.kill();
        const left = (err instanceof BatchStopped ? err.left : jobs) as QueuedJob[];
        if (this.closed) {
          for (const job of left) this.fail(job.submission, new Error('the checker pool was closed'));
          return;
        }
        const [stuck, ...rest] = left;
        if (stuck && err instanceof BatchStopped) {
          if (err.why === 'timeout') {
            this.counts.timeouts++;
            stuck.settle(this.undecided(stuck, err.message));
          } else if (++stuck.crashes >= 2) {
            stuck.settle(this.undecided(stuck, `${err.message}, twice on this check`));
          } else rest.unshift(stuck);
        }
        this.queue.unshift(...rest);
        this.schedulePump();
      },
    );
  }

  private undecided(job: Job, reason: string): Answer {
    if (job.request.op === 'equivalent') return { equivalent: null };
    return { extracted: null, correct: null, ...this.identity, reason };
  }

  private fail(submission: Submission, err: Error): void {
    if (submission.failed) return;
    submission.failed = true;
    submission.reject(err);
  }

  private launch(): Launch {
    const trainer = path.join(repoRoot, 'trainer');
    const env: NodeJS.ProcessEnv = { ...process.env, ...this.options.env };
    return {
      python: this.options.python,
      args: ['-m', 'agentark_trainer', 'check', '--serve', '--timeout-ms', String(this.options.serverTimeoutMs)],
      cwd: trainer,
      env: {
        ...env,
        // The trainer's package even where it is not installed into this Python; the server ends with this process.
        PYTHONPATH: [trainer, env.PYTHONPATH].filter(Boolean).join(path.delimiter),
        AGENTARK_PARENT_DEATH_SIGNAL: 'SIGTERM',
      },
    };
  }
}
