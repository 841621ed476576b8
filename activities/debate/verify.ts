import type { Problem } from '../../core/problem';
import type { Verdict } from '../../core/debate-record';
import { checkAnswers, equivalences } from '../checker';

/**
 * The debate's verify and its early-stop test, by the one answer checker (activities/checker): run
 * in the debate's activities, never in workflow code, so the checker can be fixed or upgraded
 * without breaking the replay of runs in flight. Each verdict names the checker and its version.
 */

export async function ruleVerdicts(problem: Problem, completions: string[]): Promise<Verdict[]> {
  const verdicts = await checkAnswers(completions.map((completion) => ({
    task: problem.task, completion, gold: problem.gold, ...(problem.options ? { options: problem.options } : {}),
  })));
  return verdicts.map((v) => ({
    extracted: v.extracted, correct: v.correct, verifiedBy: v.correct === null ? 'none' : 'rule', checker: `${v.checker} ${v.version}`,
  }));
}

/** True when every agent gave an answer and all are equivalent to the first one (by the checker, else as text). */
export async function unanimous(problem: Problem, answers: (string | null)[]): Promise<boolean> {
  const [first, ...rest] = answers;
  if (first === null || first === undefined || rest.some((a) => a === null)) return false;
  const same = await equivalences(rest.map((a) => ({ task: problem.task, a: a!, b: first, ...(problem.options ? { options: [...problem.options] } : {}) })));
  return same.every((s, i) => (s === null ? normalise(rest[i]!) === normalise(first) : s));
}

const normalise = (s: string): string => s.trim().toLowerCase().replace(/\s+/g, ' ');
