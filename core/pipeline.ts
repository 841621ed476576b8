import { z } from 'zod';
import { RunConfig, type RunConfigInput } from './config';
import { EvaluateStudentInput, Sampling, TestSet } from './evaluation';
import { TrainStudentInput } from './training';

/**
 * distillPipeline's input: one JSON object, what users paste into the Web UI's Start Workflow form.
 * The debate fields are generateDebates's own (runId, dataset, teacher, debate, verifier, judge, …);
 * `student`, `methods`, `training`, `evaluation` and `gpuQueue` configure the stages after it. Each
 * stage's own schema checks its part, so one rule is written once; every bad field is named with
 * its path in this object.
 */

export const PipelineTraining = z.looseObject({}).describe(
  'trainStudent fields other than runId, datasets, student, methods, gpuQueue and store: settings, hangTimeoutMinutes, jobTimeoutHours, heartbeatTimeoutSeconds, maxAttempts',
);

export const PipelineEvaluation = z.strictObject({
  testSets: z.array(TestSet).min(1),
  sampling: Sampling.optional(),
  /** Also debate each test set with the teacher (the paper's "vanilla MAS" line; costs teacher calls). */
  masDebate: z.boolean().default(false),
  hangTimeoutMinutes: z.number().positive().optional(),
});

const PIPELINE_KEYS = ['student', 'methods', 'training', 'evaluation', 'gpuQueue'] as const;

export interface PipelinePlan {
  runId: string;
  store?: string;
  debates: RunConfigInput;
  train: z.input<typeof TrainStudentInput>;
  evaluate: z.input<typeof EvaluateStudentInput>;
  masDebate: boolean;
}

export type ParsedPipeline = { ok: true; plan: PipelinePlan } | { ok: false; issues: string[] };

export const pipelineWorkflowId = (runId: string): string => `distill-${runId}`;
/** The run id of the debate over a test set (its MAS line). */
export const masRunId = (runId: string, testSet: string): string => `${runId}-mas-${testSet.replace(/[^A-Za-z0-9._-]/g, '-')}`;

export function parsePipelineInput(raw: unknown): ParsedPipeline {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return { ok: false, issues: ['(input): expected one JSON object'] };
  const input = raw as Record<string, unknown>;
  const debates = Object.fromEntries(Object.entries(input).filter(([k]) => !(PIPELINE_KEYS as readonly string[]).includes(k)));
  const issues = new Set<string>();
  const collect = (error: z.ZodError, where: (path: PropertyKey[]) => string): void => {
    for (const i of error.issues) issues.add(`${where(i.path) || '(input)'}: ${i.message}`);
  };
  const join = (path: PropertyKey[]): string => path.map(String).join('.');

  const debateCheck = RunConfig.safeParse(debates);
  if (!debateCheck.success) collect(debateCheck.error, join);

  const runId = typeof input.runId === 'string' ? input.runId : '';
  const store = typeof input.store === 'string' ? { store: input.store } : {};
  const gpuQueue = input.gpuQueue === undefined ? {} : { gpuQueue: input.gpuQueue };
  const training = (input.training ?? {}) as Record<string, unknown>;
  if (typeof training !== 'object' || Array.isArray(training)) issues.add('training: expected an object');
  const train = {
    ...training, runId, datasets: { runId }, student: input.student, ...(input.methods === undefined ? {} : { methods: input.methods }),
    ...gpuQueue, ...store,
  };
  const trainCheck = TrainStudentInput.safeParse(train);
  const OWN = ['student', 'methods', 'gpuQueue', 'runId', 'store'];
  if (!trainCheck.success) collect(trainCheck.error, (p) => (OWN.includes(String(p[0])) ? join(p) : join(['training', ...p])));

  const evalCheck = PipelineEvaluation.safeParse(input.evaluation);
  if (!evalCheck.success) collect(evalCheck.error, (p) => join(['evaluation', ...p]));
  const methods = trainCheck.success ? trainCheck.data.methods : [];
  const e = evalCheck.success ? evalCheck.data : null;
  const evaluate = e ? {
    runId, base: input.student, training: { runId, methods }, testSets: e.testSets, ...(e.sampling ? { sampling: e.sampling } : {}),
    ...(e.hangTimeoutMinutes ? { hangTimeoutMinutes: e.hangTimeoutMinutes } : {}), ...gpuQueue, ...store,
  } : null;
  if (evaluate && trainCheck.success) {
    const check = EvaluateStudentInput.safeParse(evaluate);
    if (!check.success) collect(check.error, (p) => (p[0] === 'base' ? join(['student', ...p.slice(1)]) : join(['evaluation', ...p])));
  }
  if (issues.size || !evaluate) return { ok: false, issues: [...issues] };
  return {
    ok: true,
    plan: { runId, ...store, debates: debates as RunConfigInput, train: train as z.input<typeof TrainStudentInput>, evaluate: evaluate as z.input<typeof EvaluateStudentInput>, masDebate: e!.masDebate },
  };
}
