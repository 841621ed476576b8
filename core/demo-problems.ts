import type { Problem } from './problem';
import { mulberry32, pick, randomInt, type Random } from './prng';

/**
 * Arithmetic word problems for the demo and for tests: the pipeline needs problems with a known,
 * checkable answer and no third-party data. Each template builds its numbers so that every
 * intermediate result is a whole number, and writes a GSM8K-style worked solution ending in `#### N`.
 */

interface Worked {
  question: string;
  steps: string[];
  answer: number;
}

type Template = (random: Random) => Worked;

const NAMES = ['Ava', 'Ben', 'Chloe', 'Daniel', 'Emma', 'Farid', 'Grace', 'Hiro', 'Isla', 'Jonas', 'Kemi', 'Luca'];
const FRUITS = ['apples', 'oranges', 'pears', 'peaches', 'lemons', 'plums'];
const ITEMS = ['notebooks', 'pencils', 'stickers', 'marbles', 'cookies', 'cards'];

const shopping: Template = (random) => {
  const name = pick(random, NAMES);
  const fruit = pick(random, FRUITS);
  const count = randomInt(random, 2, 12);
  const price = randomInt(random, 1, 9);
  const extra = randomInt(random, 2, 15);
  const cost = count * price;
  const total = cost + extra;
  return {
    question: `${name} buys ${count} ${fruit} at $${price} each and a basket for $${extra}. How many dollars does ${name} spend in total?`,
    steps: [`The ${fruit} cost ${count} * ${price} = $${cost}.`, `With the basket, ${name} spends ${cost} + ${extra} = $${total}.`],
    answer: total,
  };
};

const sharing: Template = (random) => {
  const name = pick(random, NAMES);
  const item = pick(random, ITEMS);
  const friends = randomInt(random, 2, 8);
  const each = randomInt(random, 2, 12);
  const kept = randomInt(random, 1, 9);
  const shared = friends * each;
  const total = shared + kept;
  return {
    question: `${name} has ${total} ${item}. ${name} keeps ${kept} and shares the rest equally among ${friends} friends. How many ${item} does each friend get?`,
    steps: [`${name} shares ${total} - ${kept} = ${shared} ${item}.`, `Each friend gets ${shared} / ${friends} = ${each} ${item}.`],
    answer: each,
  };
};

const rates: Template = (random) => {
  const name = pick(random, NAMES);
  const speed = randomInt(random, 3, 60);
  const hours = randomInt(random, 2, 9);
  const back = randomInt(random, 1, hours - 1);
  const there = speed * hours;
  const returned = speed * back;
  const left = there - returned;
  return {
    question: `${name} drives at ${speed} km per hour for ${hours} hours, then turns around and drives back at the same speed for ${back} hours. How many km is ${name} from the start?`,
    steps: [
      `Going out, ${name} covers ${speed} * ${hours} = ${there} km.`,
      `Coming back, ${name} covers ${speed} * ${back} = ${returned} km.`,
      `${name} is ${there} - ${returned} = ${left} km from the start.`,
    ],
    answer: left,
  };
};

const ages: Template = (random) => {
  const older = pick(random, NAMES);
  const younger = pick(random, NAMES.filter((n) => n !== older));
  const child = randomInt(random, 3, 15);
  const factor = randomInt(random, 2, 4);
  const years = randomInt(random, 2, 10);
  const parent = child * factor;
  const later = parent + years + child + years;
  return {
    question: `${younger} is ${child} years old. ${older} is ${factor} times as old as ${younger}. What will the sum of their ages be in ${years} years?`,
    steps: [
      `${older} is ${child} * ${factor} = ${parent} years old.`,
      `In ${years} years they will be ${child} + ${years} = ${child + years} and ${parent} + ${years} = ${parent + years}.`,
      `The sum is ${child + years} + ${parent + years} = ${later}.`,
    ],
    answer: later,
  };
};

const savings: Template = (random) => {
  const name = pick(random, NAMES);
  const start = randomInt(random, 10, 200);
  const weekly = randomInt(random, 5, 40);
  const weeks = randomInt(random, 2, 12);
  const spent = randomInt(random, 1, start);
  const saved = weekly * weeks;
  const total = start + saved - spent;
  return {
    question: `${name} has $${start} in a piggy bank and adds $${weekly} every week for ${weeks} weeks. Then ${name} spends $${spent} on a game. How many dollars are left?`,
    steps: [
      `${name} adds ${weekly} * ${weeks} = $${saved}.`,
      `Before the game there is ${start} + ${saved} = $${start + saved}.`,
      `After the game ${start + saved} - ${spent} = $${total} are left.`,
    ],
    answer: total,
  };
};

const recipe: Template = (random) => {
  const name = pick(random, NAMES);
  const perBatch = randomInt(random, 2, 6);
  const cookies = randomInt(random, 6, 24);
  const batches = randomInt(random, 2, 7);
  const eggs = perBatch * batches;
  const made = cookies * batches;
  return {
    question: `One batch of cookies needs ${perBatch} eggs and makes ${cookies} cookies. ${name} bakes ${batches} batches. How many eggs and cookies is that together?`,
    steps: [
      `${name} uses ${perBatch} * ${batches} = ${eggs} eggs.`,
      `${name} makes ${cookies} * ${batches} = ${made} cookies.`,
      `Together that is ${eggs} + ${made} = ${eggs + made}.`,
    ],
    answer: eggs + made,
  };
};

const TEMPLATES: readonly Template[] = [shopping, sharing, rates, ages, savings, recipe];

/** One addition of small numbers: what a 135M-parameter teacher gets right a fair share of the time (about 40% per agent). */
const oneStep: Template = (random) => {
  const a = randomInt(random, 1, 5);
  const b = randomInt(random, 1, 4);
  return { question: `What is ${a} + ${b}?`, steps: [`${a} + ${b} = ${a + b}.`], answer: a + b };
};

export const DemoLevel = ['multi-step', 'one-step'] as const;
export type DemoLevel = (typeof DemoLevel)[number];

export interface DemoProblemOptions {
  seed: number;
  count: number;
  /** multi-step (default): GSM8K-like word problems of 2–3 steps; one-step: a single small addition. */
  level?: DemoLevel;
}

/** Deterministic for a seed: the same {seed, count} always gives the same problems and ids. */
export function generateDemoProblems({ seed, count, level = 'multi-step' }: DemoProblemOptions): Problem[] {
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`demo problems: count must be a whole number ≥ 0, got ${count}`);
  if (!Number.isInteger(seed)) throw new RangeError(`demo problems: seed must be an integer, got ${seed}`);
  const random = mulberry32(seed);
  const problems: Problem[] = [];
  for (let i = 0; i < count; i++) {
    const worked = level === 'one-step' ? oneStep(random) : pick(random, TEMPLATES)(random);
    const gold = String(worked.answer);
    problems.push({
      id: level === 'one-step' ? `demo-1step-${seed}-${i + 1}` : `demo-${seed}-${i + 1}`,
      task: 'numeric',
      question: worked.question,
      gold,
      solution: [...worked.steps, `#### ${gold}`].join('\n'),
    });
  }
  return problems;
}
