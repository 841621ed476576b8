import {
  ApplicationFailure, defineQuery, executeChild, isCancellation, log, patched, proxyActivities, setCurrentDetails, setHandler,
  upsertSearchAttributes, workflowInfo,
} from '@temporalio/workflow';
import type * as mainActivities from '../activities/main';
import { evalWorkflowId } from '../core/evaluation';
import { generateWorkflowId } from '../core/ids';
import { masRunId, parsePipelineInput, pipelineWorkflowId } from '../core/pipeline';
import { PROGRESS, RUN_ID, STAGE } from '../core/search-attributes';
import { trainWorkflowId } from '../core/training';
import { evaluateStudent } from './evaluate-student';
import { rootMessage } from './failures';
import { generateDebates } from './generate-debates';
import { trainStudent } from './train-student';

export { pipelineWorkflowId } from '../core/pipeline';

const { recordPipeline, stageFinished } = proxyActivities<typeof mainActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { maximumAttempts: 10 },
});
const { buildReport } = proxyActivities<typeof mainActivities>({
  startToCloseTimeout: '30 minutes',
  retry: { maximumAttempts: 5 },
});

export type StageName = 'debate' | 'train' | 'evaluate' | 'report';

export interface PipelineStage {
  name: StageName;
  state: 'pending' | 'running' | 'skipped' | 'done' | 'failed' | 'cancelled';
  /** The child workflows of this stage (query them for live progress). */
  workflowIds: string[];
  error: string | null;
}

export interface PipelineStatus {
  runId: string;
  stage: StageName | 'done' | 'failed' | 'cancelled';
  stages: PipelineStage[];
  reportKey: string | null;
}

export interface PipelineResult extends PipelineStatus {
  table: string;
  reportKeys: { report: string; markdown: string; html: string; charts: Record<string, string> };
}

export const pipelineStatusQuery = defineQuery<PipelineStatus>('pipelineStatus');

/**
 * distillPipeline — what users start from the Web UI with one JSON input: the dataset's debates
 * (generateDebates), the students (trainStudent), their evaluation against the base model and the
 * teacher (evaluateStudent), and the report, each stage a child workflow whose id is derived from
 * the run id. Started again with the same run id it redoes only what is missing: a stage whose
 * manifest exists is skipped, and inside a stage every finished problem, job and generation is.
 */
export async function distillPipeline(rawInput: unknown): Promise<PipelineResult> {
  const parsed = parsePipelineInput(rawInput);
  if (!parsed.ok) throw ApplicationFailure.nonRetryable(`distillPipeline: invalid input: ${parsed.issues.join('; ')}`, 'InvalidWorkflowInput');
  const { plan } = parsed;
  const { runId } = plan;
  const expected = pipelineWorkflowId(runId);
  const actual = workflowInfo().workflowId;
  if (actual !== expected) {
    throw ApplicationFailure.nonRetryable(
      `distillPipeline: the workflow id must be '${expected}' for run '${runId}' (got '${actual}'): the id is derived from the run id so that two pipelines never share one run`,
      'WrongWorkflowId',
    );
  }
  const storeArg = plan.store ? { store: plan.store } : {};
  const stages: PipelineStage[] = (['debate', 'train', 'evaluate', 'report'] as const).map((name) => ({ name, state: 'pending', workflowIds: [], error: null }));
  let current: PipelineStatus['stage'] = 'debate';
  let reportKey: string | null = null;
  const status = (): PipelineStatus => ({ runId, stage: current, stages, reportKey });
  setHandler(pipelineStatusQuery, status);
  const show = (): void => {
    const finished = stages.filter((s) => s.state === 'done' || s.state === 'skipped').length;
    setCurrentDetails(`distillPipeline ${runId} — ${current}\n${stages.map((s) => `${s.name}: ${s.state}${s.error ? ` (${s.error.slice(0, 300)})` : ''}`).join('\n')}`);
    upsertSearchAttributes([{ key: STAGE, value: current }, { key: PROGRESS, value: finished / stages.length }]);
  };
  upsertSearchAttributes([{ key: RUN_ID, value: runId }]);
  await recordPipeline({ runId, input: rawInput, ...storeArg });

  const run = async <T>(name: StageName, body: (s: PipelineStage) => Promise<T>): Promise<T> => {
    const s = stages.find((x) => x.name === name)!;
    current = name;
    s.state = 'running';
    show();
    try {
      const out = await body(s);
      if (s.state === 'running') s.state = 'done';
      show();
      return out;
    } catch (err) {
      if (!isCancellation(err)) {
        Object.assign(s, { state: 'failed', error: rootMessage(err) });
        current = 'failed';
        show();
        throw ApplicationFailure.nonRetryable(
          `${name} failed: ${s.error}. Resume with \`agentark resume ${runId}\` (or start ${expected} again with the same input): finished work is not redone.`,
          'PipelineStageFailed',
        );
      }
      // Cancelled: the child it waited on is cancelled with it (and that child's own children). The status
      // says which stage stopped and what was kept: the stages done or skipped, whose artifacts a start
      // of the same run id reuses.
      if (patched('pipeline-cancelled-state')) {
        s.state = 'cancelled';
        current = 'cancelled';
        show();
        const kept = stages.filter((x) => x.state === 'done' || x.state === 'skipped').map((x) => x.name);
        log.info(`distillPipeline ${runId} cancelled in ${name}; kept: ${kept.length ? kept.join(', ') : 'nothing finished'}`);
      }
      throw err;
    }
  };

  await run('debate', async (s) => {
    s.workflowIds.push(generateWorkflowId(runId));
    if (await stageFinished({ stage: `runs/${runId}/datasets`, ...storeArg })) s.state = 'skipped';
    else await executeChild(generateDebates, { workflowId: generateWorkflowId(runId), args: [plan.debates] });
  });
  await run('train', async (s) => {
    s.workflowIds.push(trainWorkflowId(runId));
    const trained = await executeChild(trainStudent, { workflowId: trainWorkflowId(runId), args: [plan.train] });
    if (trained.results.every((r) => r.skipped)) s.state = 'skipped';
  });
  await run('evaluate', async (s) => {
    const mas: Record<string, string> = {};
    if (plan.masDebate) {
      // The teacher's own debate over each test set: the paper's "vanilla MAS" line.
      await Promise.all(plan.evaluate.testSets.map(async (t) => {
        const id = masRunId(runId, t.name);
        mas[t.name] = id;
        s.workflowIds.push(generateWorkflowId(id));
        if (await stageFinished({ stage: `runs/${id}/datasets`, ...storeArg })) return;
        await executeChild(generateDebates, { workflowId: generateWorkflowId(id), args: [{ ...plan.debates, runId: id, dataset: t.dataset }] });
      }));
    }
    s.workflowIds.push(evalWorkflowId(runId));
    await executeChild(evaluateStudent, { workflowId: evalWorkflowId(runId), args: [{ ...plan.evaluate, mas }] });
  });
  const built = await run('report', () => buildReport({ runId, ...storeArg }));
  reportKey = built.reportKey;
  current = 'done';
  show();
  return {
    ...status(),
    table: built.table,
    reportKeys: { report: built.reportKey, markdown: built.markdownKey, html: built.htmlKey, charts: built.charts },
  };
}
