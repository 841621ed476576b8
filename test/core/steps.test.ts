import { MAX_STEPS, splitSteps } from '../../core/steps';
import vectorsJson from '../../core/steps-vectors.json';

interface Vector {
  name: string;
  text: string;
  steps: string[];
}

const vectors = vectorsJson as Vector[];

describe('shared step-splitting vectors (core/steps-vectors.json)', () => {
  it('are many, uniquely named, and reach the step cap', () => {
    expect(vectors.length).toBeGreaterThanOrEqual(25);
    expect(new Set(vectors.map((v) => v.name)).size).toBe(vectors.length);
    expect(vectors.some((v) => v.steps.length === MAX_STEPS)).toBe(true);
  });

  it.each(vectors.map((v) => [v.name, v] as const))('%s', (_name, v) => {
    expect(splitSteps(v.text)).toEqual(v.steps);
  });
});

describe('splitSteps', () => {
  it('splits on blank lines, trims, and drops empty pieces', () => {
    const text = '  First, find the cost.\nIt is 3 * 4 = 12.  \n\n\n   \nThen add 5: 12 + 5 = 17.\n\n';
    expect(splitSteps(text)).toEqual(['First, find the cost.\nIt is 3 * 4 = 12.', 'Then add 5: 12 + 5 = 17.']);
  });

  it('treats CRLF text like LF text', () => {
    expect(splitSteps('a b c\r\n\r\nd e f')).toEqual(['a b c', 'd e f']);
  });

  it('splits one block at numbered steps "1." and keeps a preamble as its own step', () => {
    const text = "Let's solve it.\n1. Tom has 3 apples.\n2. He buys 2 more, 3 + 2 = 5.\n#### 5";
    expect(splitSteps(text)).toEqual(["Let's solve it.", '1. Tom has 3 apples.', '2. He buys 2 more, 3 + 2 = 5.\n#### 5']);
  });

  it('recognises "1)" and "Step 1:" markers, also under markdown emphasis or headings', () => {
    expect(splitSteps('1) x = 2\n2) y = 3')).toEqual(['1) x = 2', '2) y = 3']);
    expect(splitSteps('Step 1: add.\nmore of step one\nstep 2: multiply.')).toEqual(['Step 1: add.\nmore of step one', 'step 2: multiply.']);
    expect(splitSteps('**Step 1:** add.\n### Step 2: multiply.')).toEqual(['**Step 1:** add.', '### Step 2: multiply.']);
  });

  it('does not split a block at a decimal number or at a single numbered line', () => {
    expect(splitSteps('The price is\n3.5 dollars each.\n2.25 more for tax.')).toEqual(['The price is\n3.5 dollars each.\n2.25 more for tax.']);
    expect(splitSteps('Intro line\n1. the only item')).toEqual(['Intro line\n1. the only item']);
  });

  it('does not look for numbered steps when blank lines already split the text', () => {
    const text = '1. first\n2. second\n\nthen a paragraph';
    expect(splitSteps(text)).toEqual(['1. first\n2. second', 'then a paragraph']);
  });

  it.each([
    ['#### 17', '#### 17'],
    ['Answer: B', 'Answer: B'],
    ['**Final Answer:** 42', '**Final Answer:** 42'],
    ['The answer is 9.', 'The answer is 9.'],
    ['So the final answer is $\\boxed{\\frac{1}{2}}$.', 'So the final answer is $\\boxed{\\frac{1}{2}}$.'],
    ['The answer is 9.\n#### 9', 'The answer is 9.\n#### 9'],
  ])('attaches a lone final-answer piece %j to the last step', (answer, attached) => {
    expect(splitSteps(`Compute 4 + 5.\n\nThat makes 9.\n\n${answer}`)).toEqual(['Compute 4 + 5.', `That makes 9.\n${attached}`]);
  });

  it('does not detach or move an answer line that ends a step with other reasoning in it', () => {
    expect(splitSteps('Compute 4 + 5.\n\nAdding gives 9, checked twice.\n#### 9')).toEqual(['Compute 4 + 5.', 'Adding gives 9, checked twice.\n#### 9']);
    expect(splitSteps('Compute 4 + 5.\n\nWe double-check.\nAnswer: 9')).toEqual(['Compute 4 + 5.', 'We double-check.\nAnswer: 9']);
  });

  it('keeps a text that is only a final answer as one step', () => {
    expect(splitSteps('#### 5')).toEqual(['#### 5']);
  });

  it('returns no step for empty or whitespace-only text', () => {
    expect(splitSteps('')).toEqual([]);
    expect(splitSteps(' \n\n \t\n')).toEqual([]);
  });

  it(`caps at ${MAX_STEPS} steps by merging the tail into the last one`, () => {
    const pieces = Array.from({ length: 100 }, (_, i) => `line ${i}`);
    const steps = splitSteps(pieces.join('\n\n'));
    expect(steps).toHaveLength(MAX_STEPS);
    expect(steps.slice(0, MAX_STEPS - 1)).toEqual(pieces.slice(0, MAX_STEPS - 1));
    expect(steps[MAX_STEPS - 1]).toBe(pieces.slice(MAX_STEPS - 1).join('\n\n'));
  });

  it('leaves exactly MAX_STEPS steps untouched', () => {
    const pieces = Array.from({ length: MAX_STEPS }, (_, i) => `line ${i}`);
    expect(splitSteps(pieces.join('\n\n'))).toEqual(pieces);
  });
});
