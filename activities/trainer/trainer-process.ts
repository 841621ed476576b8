import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

/**
 * One trainer process (`python -m agentark_trainer …`, or torchrun) in its own process group, its
 * stdout read as the event protocol of trainer/README.md. Signals go to the whole group, so torchrun's
 * ranks get them too.
 */

export interface TrainerEvent {
  event: string;
  time: number;
  [field: string]: unknown;
}

export interface TrainerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Why we stopped it, when we did. */
  stopReason: StopReason | null;
  /** The last lines it wrote to stderr (its logs), for failure messages. */
  stderrTail: string;
}

export type StopReason = 'cancelled' | 'shutdown' | 'hung';

export interface TrainerProcessOptions {
  command: string;
  args: string[];
  cwd?: string;
  env: NodeJS.ProcessEnv;
  onEvent: (event: TrainerEvent) => void;
  /** No event for this long: stop it (SIGTERM, then SIGKILL after `killAfterMs`). */
  hangMs: number;
  /** How long a stopped trainer may take to write its checkpoint before it is killed. */
  killAfterMs: number;
  /** A hung trainer is not writing a checkpoint: it gets a short grace before SIGKILL. */
  hungKillAfterMs?: number;
}

const STDERR_TAIL_LINES = 40;

export class TrainerProcess {
  readonly exited: Promise<TrainerExit>;
  private readonly child: ChildProcess;
  private stopReason: StopReason | null = null;
  private lastEventAt = Date.now();
  private killTimer: NodeJS.Timeout | undefined;
  private readonly watchdog: NodeJS.Timeout;
  private readonly stderrLines: string[] = [];
  private closed = false;

  constructor(private readonly opts: TrainerProcessOptions) {
    this.child = spawn(opts.command, opts.args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    createInterface({ input: this.child.stdout! }).on('line', (line) => this.onLine(line));
    createInterface({ input: this.child.stderr! }).on('line', (line) => {
      this.stderrLines.push(line);
      if (this.stderrLines.length > STDERR_TAIL_LINES) this.stderrLines.shift();
    });
    this.watchdog = setInterval(() => {
      if (Date.now() - this.lastEventAt > opts.hangMs) this.stop('hung');
    }, Math.min(5000, Math.max(250, opts.hangMs / 4)));
    this.exited = new Promise<TrainerExit>((resolve) => {
      const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
        this.closed = true;
        clearInterval(this.watchdog);
        clearTimeout(this.killTimer);
        resolve({ code, signal, stopReason: this.stopReason, stderrTail: this.stderrLines.join('\n') });
      };
      this.child.on('error', (err) => {
        this.stderrLines.push(`cannot start ${opts.command}: ${err.message}`);
        finish(null, null);
      });
      // A group member that outlives the leader (a stuck rank holding stdout) would keep 'close' from ever firing.
      this.child.on('exit', () => this.signal('SIGKILL', true));
      this.child.on('close', finish);
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** SIGTERM to the group (the trainer checkpoints at its next step and exits 75), SIGKILL if it outlives the grace. */
  stop(reason: StopReason): void {
    if (this.stopReason !== null) return;
    this.stopReason = reason;
    this.signal('SIGTERM');
    const grace = reason === 'hung' ? (this.opts.hungKillAfterMs ?? 30_000) : this.opts.killAfterMs;
    this.killTimer = setTimeout(() => this.signal('SIGKILL'), grace);
  }

  private signal(sig: NodeJS.Signals, afterExit = false): void {
    if (this.child.pid === undefined || (!afterExit && this.closed)) return;
    try {
      process.kill(-this.child.pid, sig);
    } catch {
      // the group is already gone
    }
  }

  private onLine(line: string): void {
    this.lastEventAt = Date.now();
    let event: unknown;
    try {
      event = JSON.parse(line);
    } catch {
      this.stderrLines.push(`(stdout, not an event) ${line}`);
      return;
    }
    if (event && typeof event === 'object' && typeof (event as TrainerEvent).event === 'string') this.opts.onEvent(event as TrainerEvent);
  }
}
