import {
  ApplicationFailure, allHandlersFinished, CancellationScope, condition, getExternalWorkflowHandle, isCancellation,
  log, makeContinueAsNewFunc, ParentClosePolicy, patched, proxyActivities, setCurrentDetails, setHandler, sleep, startChild, upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { z } from 'zod';
import type * as debateActivities from '../activities/debate';
import type * as datasetActivities from '../activities/datasets/build-datasets';
import type * as mainActivities from '../activities/main';
import { RunConfig } from '../core/config';
import type { Problem } from '../core/problem';
import { PROGRESS, RUN_ID, STAGE } from '../core/search-attributes';
import { debateWorkflowId } from '../core/ids';
import { debateTimeoutMs } from '../core/run-timeouts';
import { breakerFailure, recordOutcome } from './breaker';
import { debateProblem } from './debate-problem';
import { parseInput } from './parse-input';
import { GenerateProgress, problemDone, ProblemOutcome, ProblemOutcomeSignal, progressQuery, TuneRun, tuneUpdate } from './signals';
import { ChainState, Counters } from './generate-state';
import { waitForWorkers } from './wait-for-workers';

// Ids derived from the run id, so a re-run with the same id finds its own earlier work.
export { debateWorkflowId, generateWorkflowId } from '../core/ids';

const { prepareProblems } = proxyActivities<typeof debateActivities>({
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '1 minute',
  retry: { maximumAttempts: 10 },
});
const { problemsPage, settleInFlight } = proxyActivities<typeof debateActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { maximumAttempts: 10 },
});
const { freezeRunConfig } = proxyActivities<typeof mainActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { maximumAttempts: 10 },
});
// It heartbeats on every record it reads (and every 10 s), so a worker killed mid-build costs at most this minute.
const { buildDatasets } = proxyActivities<typeof datasetActivities>({
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '1 minute',
  retry: { maximumAttempts: 10 },
});

/** The next run of the chain starts on the deployment's current build (../workers/deployment.ts). */
const continueOnCurrentBuild = (input: GenerateDebatesInput): Promise<never> =>
  makeContinueAsNewFunc<typeof generateDebates>({ initialVersioningBehavior: 'AUTO_UPGRADE' })(input);

/**
 * One settle timer re-armed only when it fires, and the progress attribute upserted only when it
 * moves by a percent, instead of a timer and an upsert on every pass of the loop (each pass is one
 * workflow task, so those were two to three history events per finished problem).
 */
const QUIET_LOOP = 'quiet-loop';
/**
 * The run's config frozen at its first start and carried parsed over continue-as-new, a check for llm
 * workers, debate children with a timeout, the failure-rate breaker, and cancel reaching the children.
 */
const RUN_INTEGRITY = 'run-integrity';

export type GenerateDebatesInput = z.input<typeof RunConfig> & { chain?: ChainState };

/**
 * One dataset's debates (paper §3.2): a sliding window of debateProblem children, each signalling
 * its outcome back; continue-as-new when Temporal suggests it; then buildDatasets. Started again
 * with the same run id, it skips every problem whose debate is already stored.
 */
export async function generateDebates(rawInput: GenerateDebatesInput) {
  const integrity = patched(RUN_INTEGRITY);
  const { chain: rawChain, ...rawConfig } = (rawInput ?? {}) as GenerateDebatesInput;
  const parsed = RunConfig.safeParse(rawConfig);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(input)'}: ${i.message}`).join('; ');
    throw ApplicationFailure.nonRetryable(`generateDebates: invalid input: ${problems}`, 'InvalidWorkflowInput');
  }
  const config = parsed.data;
  const { allowConfigChange, ...frozenConfig } = config;
  const storeArg = config.store ? { store: config.store } : {};
  let stage: GenerateProgress['stage'] = 'prepare';
  upsertSearchAttributes([{ key: RUN_ID, value: config.runId }, { key: STAGE, value: stage }]);

  let state: ChainState;
  if (rawChain) {
    state = parseInput(ChainState, rawChain, 'generateDebates (chain)');
  } else {
    // Problems first: a refused dataset leaves nothing in the store (and a restart's prepare only reads).
    const prepared = await prepareProblems({ runId: config.runId, dataset: config.dataset, ...storeArg });
    // Refused before any debate when a field other than those listed in allowConfigChange differs from the first start.
    if (integrity) await freezeRunConfig({ runId: config.runId, config: frozenConfig, ...(allowConfigChange ? { allowConfigChange } : {}), ...storeArg });
    state = { total: prepared.total, parts: prepared.parts, nextPart: 0, nextFrom: 0, countedParts: 0, inFlight: [], counters: Counters.parse({}), recent: [] };
  }
  const c = state.counters;
  const inFlight = new Set(state.inFlight);

  let waiting: string | null = null;
  const progress = (): GenerateProgress => ({
    runId: config.runId,
    stage,
    waiting,
    total: state.total,
    done: c.done,
    failed: c.failed,
    alreadyDone: c.alreadyDone,
    inFlight: inFlight.size,
    calls: c.calls,
    promptTokens: c.promptTokens,
    completionTokens: c.completionTokens,
    accuracyByRound: c.turnsByRound.map((t, i) => (t ? c.correctByRound[i] / t : 0)),
    consensusAccuracy: c.consensusDecided ? c.consensusCorrect / c.consensusDecided : null,
    callsSaved: c.callsSaved,
    failures: c.failures,
  });
  setHandler(progressQuery, progress);
  let tripped: ApplicationFailure | null = null;
  const outcome = (failure: string | null): void => {
    if (!integrity) return;
    recordOutcome(state.recent, failure, config.breaker.window);
    tripped ??= breakerFailure(state.recent, config.breaker);
  };
  const recordFailure = (problemId: string, error: string): void => {
    c.failed++;
    if (c.failures.length < 20) c.failures.push({ problemId, error: error.slice(0, 500) });
    outcome(error);
  };
  let lastHeard = Date.now(); // workflow time: deterministic on replay
  // Validated before it is accepted: a bad update is rejected to its sender and leaves no trace in the history.
  setHandler(tuneUpdate, (raw) => {
    const t = TuneRun.parse(raw);
    if (t.window !== undefined) config.window = frozenConfig.window = t.window;
    Object.assign(config.breaker, t.breaker);
    return { window: config.window, breaker: { ...config.breaker } };
  }, { validator: (raw) => void parseInput(TuneRun, raw, 'tune') });
  setHandler(problemDone, (raw: ProblemOutcome) => {
    // A malformed signal is dropped with a warning: it must never fail the workflow task (on every replay).
    const parsed = ProblemOutcomeSignal.safeParse(raw);
    if (!parsed.success) return log.warn('problemDone: malformed signal dropped', { issues: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') });
    const o = parsed.data;
    lastHeard = Date.now();
    if (!inFlight.delete(o.problemId)) return; // a duplicate, or from a problem this chain did not start
    if (!o.ok) return recordFailure(o.problemId, o.error ?? 'unknown error');
    c.done++;
    outcome(null);
    c.calls += o.usage.calls;
    c.promptTokens += o.usage.promptTokens;
    c.completionTokens += o.usage.completionTokens;
    o.turnsByRound.forEach((n, i) => (c.turnsByRound[i] = (c.turnsByRound[i] ?? 0) + n));
    o.correctByRound.forEach((n, i) => (c.correctByRound[i] = (c.correctByRound[i] ?? 0) + n));
    if (o.consensusCorrect !== null) {
      c.consensusDecided++;
      if (o.consensusCorrect) c.consensusCorrect++;
    }
    c.callsSaved += o.callsSaved;
  });

  if (integrity && !rawChain) {
    await waitForWorkers({
      taskQueue: config.llmQueue, role: 'llm', timeoutMinutes: config.noWorkerTimeoutMinutes,
      show: (line) => {
        if (line === waiting) return;
        waiting = line;
        stage = line ? 'waiting' : 'prepare';
        upsertSearchAttributes([{ key: STAGE, value: stage }]);
        setCurrentDetails(line ?? '');
      },
    });
  }
  stage = 'debate';
  upsertSearchAttributes([{ key: STAGE, value: stage }]);
  const parentWorkflowId = workflowInfo().workflowId;
  let buffer: { position: number; problem: Problem }[] = [];
  let bufferPart = state.nextPart;
  let started = 0;

  // A child that closed without its signal (terminated from outside, or one whose signal reached an
  // earlier execution before this one knew of it): settle it from its artifact and its status.
  const settle = async (): Promise<void> => {
    const settled = await settleInFlight({ runId: config.runId, problemIds: [...inFlight], ...storeArg });
    for (const id of settled.done) {
      if (!inFlight.delete(id)) continue;
      c.done++;
      outcome(null);
    }
    for (const f of settled.failed) if (inFlight.delete(f.problemId)) recordFailure(f.problemId, f.error);
  };

  const debateTimeout = config.debateTimeoutMinutes !== undefined
    ? config.debateTimeoutMinutes * 60_000
    : debateTimeoutMs({ ...config.debate, maxTokens: config.teacher.maxTokens });
  const start = async (problem: Problem): Promise<void> => {
    inFlight.add(problem.id);
    started++;
    try {
      await startChild(debateProblem, {
        workflowId: debateWorkflowId(config.runId, problem.id),
        // Abandoned, so that continue-as-new leaves it running; a cancel of the run cancels it (stopInFlight).
        parentClosePolicy: ParentClosePolicy.ABANDON,
        ...(integrity ? { workflowExecutionTimeout: debateTimeout } : {}),
        args: [{
          runId: config.runId, problem, teacher: config.teacher, debate: config.debate, verifier: config.verifier,
          judge: config.judge, seed: config.seed, llmQueue: config.llmQueue, ...storeArg, parentWorkflowId,
        }],
      });
    } catch (err) {
      // Still running from an earlier attempt of this run: it will signal this workflow id when done.
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
  };

  // A cancelled or broken run cancels the children it abandoned to continue-as-new, and says what it kept.
  const stopInFlight = (end: 'cancelled' | 'failed'): Promise<void> => CancellationScope.nonCancellable(async () => {
    const ids = [...inFlight];
    await Promise.all(ids.map((id) => getExternalWorkflowHandle(debateWorkflowId(config.runId, id)).cancel().catch(() => undefined)));
    stage = end;
    upsertSearchAttributes([{ key: STAGE, value: end }]);
    const kept = `${end}: ${c.done + c.alreadyDone} of ${state.total} problems debated, kept in the store (runs/${config.runId}/debates); `
      + `${c.failed} failed; ${ids.length} in flight cancelled. Start run ${config.runId} again to go on.`;
    setCurrentDetails(kept);
    log.info(kept);
  });

  const settleMs = config.settleAfterSeconds * 1000;
  const progressShare = (): number => (state.total ? (c.done + c.alreadyDone) / state.total : 1);
  const quiet = patched(QUIET_LOOP);
  let settleDue = false;
  let upserted = -1;
  // A cancelled run rejects the timer: caught, as an unhandled rejection would fail every workflow task of the cancel.
  const armSettle = (ms: number): void => void sleep(Math.max(1000, ms)).then(() => (settleDue = true), () => undefined);
  if (quiet) armSettle(settleMs);

  let built: Awaited<ReturnType<typeof buildDatasets>>;
  try {
    for (;;) {
      if (buffer.length === 0 && state.nextPart < state.parts) {
        bufferPart = state.nextPart;
        const page = await problemsPage({ runId: config.runId, part: state.nextPart, from: state.nextFrom, ...storeArg });
        if (state.nextPart >= state.countedParts) {
          c.alreadyDone += page.alreadyDone;
          state.countedParts = state.nextPart + 1;
        }
        state.nextPart++;
        state.nextFrom = 0;
        buffer = page.todo.filter((t) => !inFlight.has(t.problem.id));
        continue;
      }
      const batch: Problem[] = [];
      while (buffer.length && inFlight.size + batch.length < config.window && started + batch.length < config.childrenPerExecution) {
        batch.push(buffer.shift()!.problem);
      }
      await Promise.all(batch.map(start));

      const finished = () => buffer.length === 0 && state.nextPart >= state.parts && inFlight.size === 0;
      // Also when a new build was made current (Worker Versioning): this run is pinned to its build, the next
      // one starts on the new build (false on unversioned workers, and in every history recorded before).
      const mustRollOver = () => started >= config.childrenPerExecution || workflowInfo().continueAsNewSuggested
        || workflowInfo().targetWorkerDeploymentVersionChanged;
      const canStart = () => inFlight.size < config.window && (buffer.length > 0 || state.nextPart < state.parts);
      if (quiet) {
        await condition(() => finished() || mustRollOver() || canStart() || settleDue || tripped !== null);
        if (settleDue) {
          settleDue = false;
          // With children in flight and no signal for this long, ask Temporal which of them have closed.
          const silent = Date.now() - lastHeard;
          if (silent >= settleMs && inFlight.size > 0) {
            await settle();
            lastHeard = Date.now();
          }
          armSettle(silent >= settleMs ? settleMs : settleMs - silent);
        }
        const percent = Math.floor(100 * progressShare());
        if (percent !== upserted) {
          upserted = percent;
          upsertSearchAttributes([{ key: PROGRESS, value: progressShare() }]);
        }
      } else {
        const moved = await condition(() => finished() || mustRollOver() || canStart(), settleMs);
        if (!moved && inFlight.size > 0) await settle();
        upsertSearchAttributes([{ key: PROGRESS, value: progressShare() }]);
      }
      if (tripped) throw tripped;
      if (finished()) break;
      if (mustRollOver()) {
        await condition(allHandlersFinished);
        // Continue inside the part the buffer came from, after the problems this chain already started.
        const next: ChainState = buffer.length
          ? { ...state, nextPart: bufferPart, nextFrom: buffer[0].position, inFlight: [...inFlight], counters: c }
          : { ...state, inFlight: [...inFlight], counters: c };
        // The parsed config, so that a default changed by a deploy never applies in the middle of a run.
        await continueOnCurrentBuild({ ...(integrity ? frozenConfig : rawConfig), chain: next } as GenerateDebatesInput);
      }
    }

    stage = 'build';
    upsertSearchAttributes([{ key: STAGE, value: stage }]);
    built = await buildDatasets({ runId: config.runId, includeReasoning: config.datasets.includeReasoning, ...storeArg });
  } catch (err) {
    if (integrity && (isCancellation(err) || err === tripped)) await stopInFlight(isCancellation(err) ? 'cancelled' : 'failed');
    throw err;
  }
  stage = 'done';
  upsertSearchAttributes([{ key: STAGE, value: stage }, { key: PROGRESS, value: 1 }]);
  await condition(allHandlersFinished);
  return { ...progress(), datasets: built };
}
