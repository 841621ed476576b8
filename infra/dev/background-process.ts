import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { stateDir } from './paths';

/**
 * A long-running local service started by the project: detached from the caller (it outlives
 * `agentark dev up`), tracked by a pid file, logging to a file under the state folder.
 */
export interface ServiceSpec {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  /** Folders the service needs before it starts. */
  dirs?: string[];
  /** Resolves true when the service answers; must not throw. */
  healthy: () => Promise<boolean>;
  startTimeoutMs: number;
}

export const pidFile = (name: string): string => path.join(stateDir, 'run', `${name}.pid`);
export const logFile = (name: string): string => path.join(stateDir, 'logs', `${name}.log`);

/**
 * The pid of the service's process, if that process still runs it. The pid file also names the
 * command, so a pid reused by an unrelated process after a reboot is not taken for the service.
 */
export function readPid(name: string): number | undefined {
  try {
    const [pidText, command] = fs.readFileSync(pidFile(name), 'utf8').split('\n');
    const pid = Number(pidText.trim());
    if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return undefined;
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return command && !cmdline.includes(path.basename(command)) ? undefined : pid;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export interface StartResult {
  name: string;
  /** 'started' by this call, 'running' already (by us or anyone else answering on its port). */
  state: 'started' | 'running';
  ms: number;
}

export async function startService(spec: ServiceSpec): Promise<StartResult> {
  const t0 = Date.now();
  if (await spec.healthy()) return { name: spec.name, state: 'running', ms: 0 };
  if (readPid(spec.name) === undefined) {
    fs.mkdirSync(path.dirname(pidFile(spec.name)), { recursive: true });
    fs.mkdirSync(path.dirname(logFile(spec.name)), { recursive: true });
    for (const dir of spec.dirs ?? []) fs.mkdirSync(dir, { recursive: true });
    if (!fs.existsSync(spec.command) && spec.command.includes('/')) {
      throw new Error(`${spec.name}: ${spec.command} not found; run \`make setup\` first`);
    }
    const log = fs.openSync(logFile(spec.name), 'a');
    const child = spawn(spec.command, spec.args, {
      detached: true,
      stdio: ['ignore', log, log],
      env: { ...process.env, ...spec.env },
    });
    fs.closeSync(log);
    if (child.pid === undefined) throw new Error(`${spec.name}: could not start ${spec.command}`);
    fs.writeFileSync(pidFile(spec.name), `${child.pid}\n${spec.command}`);
    child.unref();
  }
  const deadline = t0 + spec.startTimeoutMs;
  while (Date.now() < deadline) {
    if (await spec.healthy()) return { name: spec.name, state: 'started', ms: Date.now() - t0 };
    if (readPid(spec.name) === undefined) {
      throw new Error(`${spec.name} exited during start-up; see ${logFile(spec.name)}:\n${tail(logFile(spec.name))}`);
    }
    await sleep(100);
  }
  throw new Error(`${spec.name} did not become healthy within ${spec.startTimeoutMs} ms; see ${logFile(spec.name)}`);
}

/** SIGTERM the service's process group, then SIGKILL what is left after the grace period. */
export async function stopService(name: string, graceMs = 10_000): Promise<boolean> {
  const pid = readPid(name);
  if (pid === undefined) return false;
  signalGroup(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && isAlive(pid)) await sleep(100);
  if (isAlive(pid)) signalGroup(pid, 'SIGKILL');
  fs.rmSync(pidFile(name), { force: true });
  return true;
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

function tail(file: string, lines = 15): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
