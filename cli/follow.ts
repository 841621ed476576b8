import { SingleBar } from 'cli-progress';
import type { GenerateProgress } from '../workflows/signals';
import { progressLine } from './progress';

/**
 * A live progress bar from the progress query until the workflow's result arrives. Without a
 * terminal (CI, logs) the bar prints a line every 10 s instead of redrawing.
 */
export async function follow<R extends GenerateProgress>(query: () => Promise<GenerateProgress>, result: () => Promise<R>): Promise<R> {
  const bar = new SingleBar({ format: '{bar} {percentage}% | {line}', hideCursor: true, noTTYOutput: true, notTTYSchedule: 10_000 });
  let started = false;
  const poll = setInterval(() => {
    query()
      .then((p) => {
        const value = p.done + p.alreadyDone + p.failed;
        if (!started) {
          bar.start(Math.max(p.total, 1), value, { line: progressLine(p) });
          started = true;
        } else bar.update(value, { line: progressLine(p) });
      })
      .catch(() => undefined); // the workflow may be between executions (continue-as-new) or not started yet
  }, 1000);
  try {
    return await result();
  } finally {
    clearInterval(poll);
    if (started) bar.stop();
  }
}
