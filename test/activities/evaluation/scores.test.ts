import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { storeFor } from '../../../activities/artifacts';
import { closeChecker } from '../../../activities/checker';
import { scoreGenerations } from '../../../activities/evaluation/scores';
import type { ModelScore } from '../../../core/evaluation';
import type { Problem } from '../../../core/problem';
import type { GenerateOutput } from '../../../core/records';
import { wilson } from '../../../core/scoring';

/** The scoring activity judges through the shared checker (real checker processes) and writes scores.json. */

const dir = mkdtempSync(path.join(tmpdir(), 'agentark-scores-'));
const storeUrl = pathToFileURL(dir).href;
afterAll(() => {
  closeChecker();
  rmSync(dir, { recursive: true, force: true });
});
const quiet = new DefaultLogger('ERROR', () => undefined);

const problems: Problem[] = [
  { id: 'half', task: 'math', question: 'What is 1 divided by 2?', gold: '\\frac{1}{2}' },
  { id: 'unit', task: 'math', question: 'Which interval holds 0 but not 1?', gold: '[0,1)' },
];
const line = (id: string, sample: number, completion: string): GenerateOutput => ({ id, sample, completion, finishReason: 'stop' });

async function score(name: string, generations: GenerateOutput[], samples: number): Promise<ModelScore> {
  const store = storeFor(storeUrl);
  await store.writeJsonl(`${name}/problems.jsonl`, problems);
  await store.writeJsonl(`${name}/generations.jsonl`, generations);
  const input = { model: 'rsft', testSet: 'math', problemsKey: `${name}/problems.jsonl`, generationsKey: `${name}/generations.jsonl`, scoresKey: `${name}/scores.json`, samples, store: storeUrl };
  return new MockActivityEnvironment(undefined, { logger: quiet }).run(scoreGenerations, input);
}

it('scores math answers by math-verify: accuracy on first samples, maj@k over equivalent answers, the checker named', async () => {
  const generations = [
    // half: 0.5 and 2/4 are one answer (2 of 3), the first is right
    line('half', 0, 'So the answer is $\\boxed{0.5}$.'),
    line('half', 1, 'That is $\\boxed{\\frac{2}{4}}$.'),
    line('half', 2, 'I get \\boxed{3}.'),
    // unit: the open interval first (wrong), then [0,1) written two ways (the majority, right)
    line('unit', 0, 'The interval is $(0,1)$.'),
    line('unit', 1, '\\boxed{[0,1)}'),
    line('unit', 2, '\\boxed{[0, 1)}'),
  ];
  const s = await score('maj', generations, 3);
  expect(s.accuracy).toEqual(wilson(1, 2));
  expect(s.majAtK).toEqual(wilson(2, 2));
  expect(s.passAtK).toBe(1);
  expect(s.checker).toEqual({ name: 'agentark-answer', version: expect.stringMatching(/^2\+math-verify-/) });
  expect(await storeFor(storeUrl).getJson('maj/scores.json')).toEqual(s);
});

it('rejects generations of a problem the test set does not have, without retrying', async () => {
  const failure = (await score('bad', [line('half', 0, '\\boxed{1}'), line('unit', 0, '\\boxed{1}'), line('other', 0, '1')], 1).catch((e: unknown) => e)) as ApplicationFailure;
  expect(failure.type).toBe('BadGenerations');
  expect(failure.nonRetryable).toBe(true);
  expect(failure.message).toMatch(/problem other: has a generation/);
});
