import { executeChild, proxyActivities, setCurrentDetails, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type * as mainActivities from '../activities/main';
import { evalWorkflowId } from '../core/evaluation';
import { NightlyEvaluationInput, nightlyRunId } from '../core/nightly';
import type { Regression } from '../core/report';
import { RUN_ID, STAGE } from '../core/search-attributes';
import { evaluateStudent } from './evaluate-student';
import { parseInput } from './parse-input';

const { nightlyModels, previousNight, recordNight } = proxyActivities<typeof mainActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { maximumAttempts: 10, nonRetryableErrorTypes: ['NoTrainedModel', 'DuplicateModelName'] },
});
const { buildReport } = proxyActivities<typeof mainActivities>({
  startToCloseTimeout: '30 minutes',
  retry: { maximumAttempts: 5 },
});

export interface NightlyResult {
  runId: string;
  previousRunId: string | null;
  /** The models evaluated: `base` and `<run>.<method>` for each finished method. */
  models: string[];
  /** Runs that had no trained model yet (skipped this night). */
  emptyRuns: string[];
  regressionCount: number;
  regressions: Regression[];
  reportKey: string;
  htmlKey: string;
}

/**
 * nightlyEvaluation — what the nightly Schedule starts: the newest final models of the given runs
 * (plus the base student) on the test sets, as evaluation run `nightly-<scheduleId>-<UTC start>`,
 * then its report with regressions against the schedule's previous finished night. A run with no
 * trained model is skipped; with no trained model at all the night evaluates `base` alone when it is
 * given, and fails otherwise.
 */
export async function nightlyEvaluation(rawInput: NightlyEvaluationInput): Promise<NightlyResult> {
  const config = parseInput(NightlyEvaluationInput, rawInput, 'nightlyEvaluation');
  const { scheduleId, store } = config;
  const storeArg = store ? { store } : {};
  const runId = nightlyRunId(scheduleId, workflowInfo().startTime.toISOString());
  const show = (stage: string, line: string): void => {
    setCurrentDetails(`nightlyEvaluation ${runId} — ${stage}: ${line}`);
    upsertSearchAttributes([{ key: STAGE, value: stage }]);
  };
  upsertSearchAttributes([{ key: RUN_ID, value: runId }]);

  show('models', `finding trained models in ${config.runs.join(', ')}`);
  const { models, emptyRuns } = await nightlyModels({ runs: config.runs, methods: config.methods, base: config.base, ...storeArg });
  const names = [...(config.base ? ['base'] : []), ...Object.keys(models)];
  show('evaluate', `${names.join(', ')} on ${config.testSets.map((t) => t.name).join(', ')}${emptyRuns.length ? ` (no trained model yet: ${emptyRuns.join(', ')})` : ''}`);
  await executeChild(evaluateStudent, {
    workflowId: evalWorkflowId(runId),
    args: [{
      runId, base: config.base, models, testSets: config.testSets, ...storeArg,
      ...(config.sampling ? { sampling: config.sampling } : {}), ...(config.gpuQueue ? { gpuQueue: config.gpuQueue } : {}),
    }],
  });

  const previousRunId = await previousNight({ scheduleId, before: runId, ...storeArg });
  show('report', previousRunId ? `comparing with ${previousRunId}` : 'first night: nothing to compare with');
  const built = await buildReport({ runId, ...storeArg, ...(previousRunId ? { previousRunId } : {}) });
  const regressions = await recordNight({ scheduleId, runId, previousRunId, reportKey: built.reportKey, ...storeArg });
  show('done', `${regressions.length} regression(s)${previousRunId ? ` against ${previousRunId}` : ''}; ${regressions.map((r) => `; ${r.model} on ${r.testSet} ${(100 * r.previous.accuracy).toFixed(1)}% → ${(100 * r.current.accuracy).toFixed(1)}%`).join('')}; ${built.htmlKey}`);
  return { runId, previousRunId, models: names, emptyRuns, regressionCount: regressions.length, regressions, reportKey: built.reportKey, htmlKey: built.htmlKey };
}
