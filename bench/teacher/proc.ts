import * as fs from 'node:fs';

/**
 * What the kernel says a process has cost (Linux /proc): CPU seconds, peak and current resident
 * memory. Read from outside, so the figures include everything a process does, not what it reports.
 */

/** USER_HZ: the unit of utime and stime in /proc/<pid>/stat, 100 on every Linux this runs on. */
const CLOCK_TICKS = 100;

export interface ProcSample {
  cpuSeconds: number;
  rssBytes: number;
  peakRssBytes: number;
}

/** null once the process is gone (or on a system without /proc). */
export function sampleProc(pid: number): ProcSample | null {
  try {
    // Fields after the command name, which is in parentheses and may itself hold spaces.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS; // utime, stime
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (key: string): number => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024;
    return { cpuSeconds, rssBytes: kib('VmRSS'), peakRssBytes: kib('VmHWM') };
  } catch {
    return null;
  }
}

/**
 * Starts a new peak-RSS window for a process of ours (Linux ≥ 4.0), so a worker reused across
 * figures reports each figure's own peak. False where the kernel refuses.
 */
export function resetPeakRss(pid: number): boolean {
  try {
    fs.writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** CPU seconds between two samples, and the later peak. */
export interface ProcUsage {
  pid: number;
  cpuSeconds: number;
  /** cpuSeconds per second of wall time: 1.0 is one core busy throughout. */
  cores: number;
  peakRssBytes: number;
}

export function usageBetween(pid: number, before: ProcSample | null, after: ProcSample | null, wallSeconds: number): ProcUsage | null {
  if (!before || !after) return null;
  const cpuSeconds = after.cpuSeconds - before.cpuSeconds;
  return { pid, cpuSeconds, cores: wallSeconds > 0 ? cpuSeconds / wallSeconds : 0, peakRssBytes: after.peakRssBytes };
}
