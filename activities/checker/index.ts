/**
 * The answer checker for every TypeScript caller: the debate's verify, evaluation scoring and
 * `agentark verify` all reach the one implementation, trainer/agentark_trainer/checker.py (math by
 * math-verify; numeric, choice and text by the project's rules), the same code the GRPO reward calls.
 *
 *   checkAnswers(items: {task, completion, gold, options?}[]): Promise<Verdict[]>
 *       one verdict per item, in order: {extracted, correct, checker, version, reason?}
 *   equivalent(task, a, b, options?): Promise<boolean | null>
 *       whether answer a is the same answer as b (b read as the reference); null where no rule decides
 *   equivalences(pairs: {task, a, b, options?}[]): Promise<(boolean | null)[]>   the same, for many
 *   closeChecker(): stops the checker processes (a CLI calls it when done; a worker never needs to)
 *
 * Calls made in the same turn of the event loop are batched together, whoever makes them. The
 * checks run in a pool of `python -m agentark_trainer check --serve` processes (AGENTARK_CHECKER_PROCESSES,
 * default min(cpus, 4)), started on first use, once per worker process. A check that runs past
 * AGENTARK_CHECK_TIMEOUT_MS (default 5000) is undecided (`correct: null`, `reason` says so), and a
 * process stuck on it is killed and replaced. When no checker process can start (no trainer Python, or
 * it lacks math-verify), every call rejects with a CheckerUnavailable error saying what to install.
 * The Python is found as the trainer's is (AGENTARK_TRAINER_PYTHON, else .venv, else python3).
 */
import type { TaskKind } from '../../core/problem';
import type { Comparison, Verdict } from '../../core/verdict';
import { CheckerPool, poolOptionsFromEnv } from './pool';
import type { Answer } from './protocol';

import { answerChecked } from '../metrics';
export type { Comparison, Verdict } from '../../core/verdict';
export { CheckerUnavailable } from './process';
export { CheckerPool, poolOptionsFromEnv, type PoolOptions, type PoolStats } from './pool';

export interface CheckItem {
  task: TaskKind;
  completion: string;
  gold: string;
  /** Option texts in letter order, for `choice` answers given as text. */
  options?: readonly string[];
}

let shared: CheckerPool | undefined;

/** This process's pool, made on first use from the environment. */
export function checkerPool(): CheckerPool {
  shared ??= new CheckerPool(poolOptionsFromEnv());
  return shared;
}

export async function checkAnswers(items: readonly CheckItem[], pool: CheckerPool = checkerPool()): Promise<Verdict[]> {
  const answers = await pool.submit(items.map(({ task, completion, gold, options }) => ({ op: 'check' as const, task, completion, gold, ...(options ? { options } : {}) })));
  const verdicts = answers.map(toVerdict);
  verdicts.forEach((v, i) => answerChecked(items[i].task, v.checker, v.correct));
  return verdicts;
}

export async function equivalences(pairs: readonly Comparison[], pool: CheckerPool = checkerPool()): Promise<(boolean | null)[]> {
  const answers = await pool.submit(pairs.map(({ task, a, b, options }) => ({ op: 'equivalent' as const, task, a, b, ...(options ? { options } : {}) })));
  return answers.map((answer) => {
    if (!('equivalent' in answer)) throw new Error(`the checker answered an equivalence with ${JSON.stringify(answer)}`);
    return answer.equivalent;
  });
}

export async function equivalent(task: TaskKind, a: string, b: string, options?: readonly string[]): Promise<boolean | null> {
  const [same] = await equivalences([{ task, a, b, ...(options ? { options: [...options] } : {}) }]);
  return same;
}

export function closeChecker(): void {
  shared?.close();
  shared = undefined;
}

function toVerdict(answer: Answer): Verdict {
  if (!('correct' in answer)) throw new Error(`the checker answered a check with ${JSON.stringify(answer)}`);
  const { extracted, correct, checker, version, reason } = answer;
  return reason === undefined ? { extracted, correct, checker, version } : { extracted, correct, checker, version, reason };
}
