import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { CheckItem } from '../../activities/checker';
import { mulberry32, type Random } from '../../core/prng';

/**
 * What the checker bench checks: MATH-style completions (worked steps with inline LaTeX, then a
 * boxed answer or a "Final Answer" sentence), half of them integers as in MATH and the rest over
 * every other kind of answer, each right or wrong by construction; and GSM8K's own solutions (the shared test set) against their gold or a gold off by one.
 * Numbers are drawn afresh for each completion, so no cache inside the checker serves a repeat.
 */

export interface Labelled extends CheckItem {
  /** Right or wrong by construction. */
  label: boolean;
}

type Rand = Random;

const int = (r: Rand, lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));

/** [gold, a right answer written differently, a wrong answer] for numbers n < m. */
const ANSWERS: ((n: number, m: number) => [string, string, string])[] = [
  (n) => [String(n), `${n}`, String(n + 1)],
  (n, m) => [`\\frac{${n}}{${m}}`, `\\dfrac{${2 * n}}{${2 * m}}`, `\\frac{${m}}{${n}}`],
  (n) => [`${n}.5`, `\\frac{${2 * n + 1}}{2}`, `${n}.25`],
  (n) => [`${n}\\sqrt{2}`, `\\sqrt{${2 * n * n}}`, `${n}\\sqrt{3}`],
  (n) => [`[${n}, \\infty)`, `\\left[ ${n}, \\infty \\right)`, `(${n}, \\infty)`],
  (n, m) => [`${n}, ${m}`, `${m}, ${n}`, `${n}, ${m + 1}`],
  (n, m) => [`(${n}, ${m})`, `\\left( ${n}, ${m} \\right)`, `(${m}, ${n})`],
  (n, m) => [`${n}x + ${m}`, `${m} + ${n}x`, `${m}x + ${n}`],
  (n, m) => [`y = ${n}x + ${m}`, `y = ${m} + ${n}x`, `y = ${n}x - ${m}`],
  (n) => [`${n}\\%`, `${n}`, `${n + 10}\\%`],
  (n) => [`x \\geq ${n}`, `${n} \\le x`, `x > ${n}`],
  (n) => [`${n}^\\circ`, `${n}`, `${n + 90}^\\circ`],
  () => ['\\text{(C)}', '\\text{C}', '\\text{(D)}'],
];

function mathCompletion(r: Rand, answer: string): string {
  const a = int(r, 2, 40);
  const b = int(r, 2, 40);
  const steps = [
    `We first note that $a = ${a}$ and $b = ${b}$, so $a + b = ${a + b}$ and $ab = ${a * b}$.`,
    `Substituting, $\\frac{a}{b} = \\frac{${a}}{${b}}$, and the expression becomes $${a}t^2 + ${b}t$.`,
    `Completing the square gives $(t + \\frac{${b}}{${2 * a}})^2 - \\frac{${b * b}}{${4 * a * a}}$.`,
  ];
  const close = r() < 0.8 ? `Therefore the answer is $\\boxed{${answer}}$.` : `Final Answer: The final answer is $${answer}$. I hope it is correct.`;
  return `${steps.slice(0, int(r, 1, 3)).join('\n')}\n${close}`;
}

export function mathCompletions(count: number, seed = 1): Labelled[] {
  const r = mulberry32(seed); // seeded, so every run checks the same completions
  return Array.from({ length: count }, (_, i) => {
    const n = int(r, 2, 97);
    // About half of MATH's answers are integers; the rest spread over every other kind.
    const kind = r() < 0.5 ? 0 : 1 + (i % (ANSWERS.length - 1));
    const [gold, right, wrong] = ANSWERS[kind](n, n + int(r, 1, 50));
    const label = r() < 0.5;
    return { task: 'math' as const, completion: mathCompletion(r, label ? right : wrong), gold, label };
  });
}

export const GSM8K_TEST = path.resolve(__dirname, '../../../shared/datasets/gsm8k/test.jsonl');

/** GSM8K's worked solutions, each against its own gold (right) or the gold plus one (wrong), repeated to `count`. */
export function numericCompletions(count: number, file = GSM8K_TEST): Labelled[] {
  if (!existsSync(file)) throw new Error(`the numeric figures check GSM8K's solutions: ${file} not found`);
  const rows = readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as { answer: string });
  return Array.from({ length: count }, (_, i) => {
    const { answer } = rows[i % rows.length];
    const gold = answer.slice(answer.lastIndexOf('####') + 4).trim().replace(/,/g, '');
    const label = Math.floor(i / rows.length) % 2 === 0 ? i % 2 === 0 : i % 2 === 1;
    return { task: 'numeric' as const, completion: answer, gold: label ? gold : String(Number(gold) + 1), label };
  });
}
