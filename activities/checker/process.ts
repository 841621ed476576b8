import { type ChildProcess, spawn } from 'node:child_process';
import type { Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { type Answer, type CheckRequest, Ready, Reply } from './protocol';

/**
 * One checker process (`python -m agentark_trainer check --serve`) and the batch it is working on.
 * Its checks run one at a time in its main thread; each must answer within `checkTimeoutMs` of the
 * one before (or of the batch's start), else the process is killed: a check stuck where the
 * server's own deadline cannot reach it (sympy inside C code) costs one restart, not a hung worker.
 */

export interface Launch {
  python: string;
  args: readonly string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
}

/** A check waiting for, or on, a process; `settle` takes its answer. */
export interface Job {
  request: CheckRequest;
  settle(answer: Answer): void;
  /** Processes that died while working on it. */
  crashes: number;
}

/** Why a batch stopped before every job had its answer: the jobs left, first the one it stopped on. */
export class BatchStopped extends Error {
  constructor(readonly why: 'timeout' | 'exit', message: string, readonly left: Job[]) {
    super(message);
  }
}

export class CheckerUnavailable extends Error {
  override readonly name = 'CheckerUnavailable';
}

const STDERR_TAIL = 4000;

export class CheckerProcess {
  readonly ready: Promise<Ready>;
  private readonly child: ChildProcess;
  private stderr = '';
  private exited: string | null = null;
  private batch: { jobs: Job[]; next: number; id0: number; stop: (e: BatchStopped) => void; done: () => void } | null = null;
  private timer: NodeJS.Timeout | undefined;
  private nextId = 0;
  /** Checks this process has answered. */
  answered = 0;
  private onExit: (why: string) => void = () => undefined;

  constructor(private readonly launch: Launch, private readonly checkTimeoutMs: number, startTimeoutMs: number) {
    this.child = spawn(launch.python, [...launch.args], { cwd: launch.cwd, env: launch.env, stdio: ['pipe', 'pipe', 'pipe'] });
    // Never what keeps a worker or a CLI alive: a batch in flight holds a timer, and that is enough.
    this.child.unref();
    for (const s of [this.child.stdin, this.child.stdout, this.child.stderr]) (s as unknown as Socket | null)?.unref?.();
    this.child.stdin!.on('error', () => undefined); // EPIPE after a crash: the exit handler reports it
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-STDERR_TAIL);
    });
    let lines: ((line: string) => void) | null = null;
    this.ready = new Promise<Ready>((resolve, reject) => {
      const startTimer = setTimeout(() => {
        reject(new CheckerUnavailable(`the checker (${this.commandLine()}) did not say it was ready within ${startTimeoutMs / 1000} s${this.stderrNote()}`));
        this.kill();
      }, startTimeoutMs);
      lines = (line) => {
        const ready = Ready.safeParse(safeJson(line));
        clearTimeout(startTimer);
        if (ready.success) resolve(ready.data);
        else {
          reject(new CheckerUnavailable(`the checker (${this.commandLine()}) began with ${JSON.stringify(line.slice(0, 200))}, not its ready line`));
          this.kill();
        }
        lines = (l) => this.onLine(l);
      };
      this.onExit = (why) => {
        clearTimeout(startTimer);
        reject(this.startFailure(why));
      };
    });
    this.ready.catch(() => undefined); // the pool awaits it; a failure is never left unobserved
    createInterface({ input: this.child.stdout! }).on('line', (line) => lines?.(line));
    this.child.on('error', (err: NodeJS.ErrnoException) => this.exit(err.code === 'ENOENT' ? 'ENOENT' : err.message));
    this.child.on('exit', (code, signal) => this.exit(signal ? `killed by ${signal}` : `exit code ${code}`));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get alive(): boolean {
    return this.exited === null;
  }

  /** Runs a batch; resolves once every job is settled, or rejects with BatchStopped. */
  run(jobs: Job[]): Promise<void> {
    if (this.batch) throw new Error('a checker process runs one batch at a time');
    if (!this.alive) return Promise.reject(new BatchStopped('exit', `the checker process had already stopped (${this.exited})`, jobs));
    const id0 = this.nextId;
    this.nextId += jobs.length;
    return new Promise<void>((done, stop) => {
      this.batch = { jobs, next: 0, id0, done, stop };
      this.arm();
      this.child.stdin!.write(JSON.stringify(jobs.map((j, i) => ({ id: id0 + i, ...j.request }))) + '\n');
    });
  }

  kill(): void {
    if (this.alive) this.child.kill('SIGKILL');
  }

  /** Called once when the process has gone, by any cause. */
  whenGone(fn: (why: string) => void): void {
    const before = this.onExit;
    this.onExit = (why) => {
      before(why);
      fn(why);
    };
    if (!this.alive) fn(this.exited!);
  }

  private onLine(line: string): void {
    const b = this.batch;
    const reply = Reply.safeParse(safeJson(line));
    if (!b || !reply.success || reply.data.id !== b.id0 + b.next) {
      this.stopBatch('exit', `the checker wrote an unexpected line: ${JSON.stringify(line.slice(0, 200))}`);
      this.kill();
      return;
    }
    const { id: _id, ...answer } = reply.data;
    const job = b.jobs[b.next++];
    this.answered++;
    if (b.next === b.jobs.length) {
      this.batch = null;
      clearTimeout(this.timer);
      job.settle(answer);
      b.done();
      return;
    }
    this.arm();
    job.settle(answer);
  }

  private arm(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.stopBatch('timeout', `the check took longer than ${this.checkTimeoutMs} ms`);
      this.kill();
    }, this.checkTimeoutMs);
  }

  private stopBatch(why: 'timeout' | 'exit', message: string): void {
    clearTimeout(this.timer);
    const b = this.batch;
    if (!b) return;
    this.batch = null;
    b.stop(new BatchStopped(why, message, b.jobs.slice(b.next)));
  }

  private exit(why: string): void {
    if (this.exited !== null) return;
    this.exited = why;
    this.stopBatch('exit', `the checker process stopped (${why})${this.stderrNote()}`);
    this.onExit(why);
  }

  private startFailure(why: string): CheckerUnavailable {
    const { python } = this.launch;
    const fix = 'Run `make setup` (it installs requirements.txt and the trainer into .venv), or set AGENTARK_TRAINER_PYTHON to a Python that has them.';
    if (why === 'ENOENT') return new CheckerUnavailable(`the checker needs the trainer's Python, and ${python} was not found. ${fix}`);
    const missing = /No module named '([^']+)'/.exec(this.stderr);
    if (missing) return new CheckerUnavailable(`the checker needs the trainer's Python with ${missing[1]} installed: ${python} has no module '${missing[1]}'. ${fix}`);
    return new CheckerUnavailable(`the checker (${this.commandLine()}) stopped before it was ready (${why})${this.stderrNote()}`);
  }

  private commandLine(): string {
    return [this.launch.python, ...this.launch.args].join(' ');
  }

  private stderrNote(): string {
    const tail = this.stderr.trim().split('\n').slice(-5).join('\n');
    return tail ? `; its stderr ends:\n${tail}` : '';
  }
}

function safeJson(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}
