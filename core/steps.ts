/**
 * The one rule that splits a solution into the steps the PRM labels and scores (DATA.md, prm.jsonl).
 * The trainer never re-splits: whatever this returns is what a step means everywhere.
 *
 * 1. Line endings are normalised; the text is split on blank lines (lines holding nothing but spaces, tabs, form feeds, vertical tabs or no-break spaces).
 * 2. When that leaves a single block, it is split instead before each numbered-step line —
 *    `1.`, `1)`, `Step 1:` at a line start (optionally after `#` headings or `**`) — provided there
 *    are at least two of them; text before the first one is a step of its own. `1.` needs a space
 *    after it, so a decimal such as `3.5` at a line start is not a step marker.
 * 3. Pieces are trimmed and empty ones dropped.
 * 4. A last piece made only of final-answer lines (`#### 18`, `Answer: B`, `The answer is …`, a line
 *    with `\boxed{…}`) is appended to the step before it: the answer is the conclusion of the last
 *    reasoning step, and a lone "#### 18" step would teach the PRM to score a bare number.
 * 5. At most MAX_STEPS steps: the tail beyond is merged into the last one, so a degenerate output
 *    (thousands of one-line pieces) cannot blow up the PRM's step count.
 */

export const MAX_STEPS = 64;

const BLANK_LINE = /\n[ \t\f\v\u00a0]*\n/;
const NUMBERED_STEP = /^[ \t]*(?:#{1,6}[ \t]*)?(?:\*\*)?(?:step[ \t]*\d+[ \t]*[:.)]|\d+[.)](?=[ \t]))/i;
const FINAL_ANSWER_LINE = [
  /^\s*####/,
  /^\s*(?:\*\*)?(?:final[ \t]+)?answer(?:\*\*)?[ \t]*[:：]/i,
  /^\s*(?:(?:so|thus|therefore|hence)[ \t]*,?[ \t]+)?(?:the[ \t]+)?(?:final[ \t]+)?answer[ \t]+is\b/i,
  /\\boxed\{/,
];

export function splitSteps(text: string): string[] {
  const normalised = text.replace(/\r\n?/g, '\n');
  let pieces = clean(normalised.split(BLANK_LINE));
  if (pieces.length === 1) pieces = clean(splitNumbered(pieces[0]));
  return capSteps(attachFinalAnswer(pieces));
}

function clean(pieces: string[]): string[] {
  return pieces.map((p) => p.trim()).filter((p) => p !== '');
}

function splitNumbered(block: string): string[] {
  const lines = block.split('\n');
  const starts = lines.flatMap((line, i) => (NUMBERED_STEP.test(line) ? [i] : []));
  if (starts.length < 2) return [block];
  const bounds = starts[0] === 0 ? starts : [0, ...starts];
  return bounds.map((start, i) => lines.slice(start, bounds[i + 1] ?? lines.length).join('\n'));
}

const isFinalAnswerLine = (line: string): boolean => FINAL_ANSWER_LINE.some((re) => re.test(line));

function attachFinalAnswer(steps: string[]): string[] {
  if (steps.length < 2) return steps;
  const last = steps[steps.length - 1];
  if (!last.split('\n').every(isFinalAnswerLine)) return steps;
  return [...steps.slice(0, -2), `${steps[steps.length - 2]}\n${last}`];
}

function capSteps(steps: string[]): string[] {
  if (steps.length <= MAX_STEPS) return steps;
  return [...steps.slice(0, MAX_STEPS - 1), steps.slice(MAX_STEPS - 1).join('\n\n')];
}
