import { ApplicationFailure, Context } from '@temporalio/activity';
import { z } from 'zod';
import { RunId } from '../../core/config';
import { DebateRecord, type Turn } from '../../core/debate-record';
import { firstRoundMessage } from '../../core/prompts';
import { withReasoning } from '../../core/reasoning';
import { DaRecord, DatasetStats, GrpoRecord, PrmRecord, RsftRecord, type ContrastiveGroup, type PrmTrace } from '../../core/records';
import { splitSteps } from '../../core/steps';
import { storeFor } from '../artifacts';
import { codeVersion } from '../store/code-version';
import { hashConfig } from '../store/config-hash';
import { findManifest, manifestKey, writeManifest } from '../store/manifest';
import { JsonlParseError, type ArtifactStore } from '../store/store';
import { StatsTally } from './dataset-stats';

/**
 * buildDatasets: streams a run's debate artifacts (`runs/<runId>/debates/*.json`) into the
 * distillation datasets of DATA.md — rsft, da, prm, grpo — plus stats.json, then the stage manifest.
 * One artifact is in memory at a time (a few read ahead); the four files are written in one pass.
 */

export const BuildDatasetsInput = z.object({
  runId: RunId,
  store: z.string().min(1).optional(),
  /** Traces carry the teacher's reasoning as a leading `<think>` block (datasets.includeReasoning). */
  includeReasoning: z.boolean().default(true),
});
export type BuildDatasetsInput = z.input<typeof BuildDatasetsInput>;

const DATASETS = ['rsft', 'da', 'prm', 'grpo'] as const;
type Dataset = (typeof DATASETS)[number];
export type DatasetCounts = Record<'problems' | Dataset, number>;

export interface BuildDatasetsResult {
  counts: DatasetCounts;
  keys: Record<Dataset | 'stats' | 'manifest', string>;
  stats: DatasetStats;
  /** True when a finished build was found and returned without rebuilding. */
  resumed: boolean;
}

/** PRM contrastive groups kept per problem, lowest step positions first. */
export const MAX_GROUPS_PER_PROBLEM = 32;
const READ_AHEAD = 8;
const PIPE_CAPACITY = 256;

export async function buildDatasets(input: BuildDatasetsInput): Promise<BuildDatasetsResult> {
  const beats = heartbeats();
  try {
    return await build(input, beats.beat);
  } finally {
    beats.stop();
  }
}

async function build(input: BuildDatasetsInput, heartbeat: (progress: number) => void): Promise<BuildDatasetsResult> {
  const parsed = BuildDatasetsInput.safeParse(input);
  if (!parsed.success) throw ApplicationFailure.nonRetryable(`buildDatasets: ${z.prettifyError(parsed.error)}`, 'InvalidBuildDatasetsInput');
  const { runId, includeReasoning } = parsed.data;
  const store = storeFor(parsed.data.store);
  const stage = `runs/${runId}/datasets`;
  const keys = {
    rsft: `${stage}/rsft.jsonl`, da: `${stage}/da.jsonl`, prm: `${stage}/prm.jsonl`, grpo: `${stage}/grpo.jsonl`,
    stats: `${stage}/stats.json`, manifest: manifestKey(stage),
  };
  const debates = `runs/${runId}/debates/`;
  // includeReasoning joins the hash only when off, so builds recorded before it existed still stand.
  const configHash = hashConfig(includeReasoning ? { runId } : { runId, includeReasoning });

  let artifacts = 0;
  for await (const _ of debateKeys(store, debates)) heartbeat(++artifacts);
  if (artifacts === 0) {
    throw ApplicationFailure.nonRetryable(`no debate artifacts under ${store.urlOf(debates.slice(0, -1))}/: run the debates of run '${runId}' first`, 'NoDebates');
  }
  const manifest = await findManifest(store, stage);
  // Same debates and same build code: the recorded result stands. New code rebuilds (it is cheap).
  if (manifest && manifest.inputs.debates === artifacts && manifest.configHash === configHash && manifest.codeVersion === (await codeVersion())) {
    const stats = DatasetStats.safeParse(await store.getJson(keys.stats).catch(() => null));
    const counts = Object.fromEntries(['problems', ...DATASETS].map((name) => [name, manifest.counts[name] ?? 0])) as DatasetCounts;
    // stats.json is written before the manifest, so it is missing only if someone removed it: rebuild.
    if (stats.success) return { counts, keys, stats: stats.data, resumed: true };
  }
  // A stale manifest would vouch for files this build is about to replace.
  if (manifest) await store.delete(keys.manifest);

  const pipes = Object.fromEntries(DATASETS.map((name) => [name, new Pipe<unknown>(PIPE_CAPACITY)])) as Record<Dataset, Pipe<unknown>>;
  const writes = DATASETS.map((name) =>
    store.writeJsonl(keys[name], pipes[name]).catch((error: unknown) => {
      pipes[name].end(error);
      throw error;
    }),
  );
  // A write that fails mid-read is surfaced through push(); this keeps its promise from being "unhandled".
  for (const write of writes) write.catch(() => undefined);
  const tally = new StatsTally(runId);
  try {
    for await (const { key, record } of readDebates(store, debates)) {
      await emit(pipes, store.urlOf(key), record, tally, includeReasoning);
      heartbeat(tally.problems);
    }
  } catch (error) {
    for (const pipe of Object.values(pipes)) pipe.end(error);
    await Promise.allSettled(writes);
    throw error;
  }
  for (const pipe of Object.values(pipes)) pipe.end();
  const written = await Promise.all(writes);

  const counts = { problems: tally.problems, ...Object.fromEntries(DATASETS.map((name, i) => [name, written[i].records])) } as DatasetCounts;
  const stats = DatasetStats.parse(tally.finish(counts.da));
  await store.putJson(keys.stats, stats);
  await writeManifest(store, stage, { inputs: { debates: tally.problems, debatesPrefix: debates }, configHash, counts });
  return { counts, keys, stats, resumed: false };
}

async function* debateKeys(store: ArtifactStore, prefix: string): AsyncGenerator<string> {
  for await (const key of store.list(prefix)) {
    if (key.endsWith('.json') && !key.slice(prefix.length).includes('/')) yield key;
  }
}

/** Debate artifacts in list order, validated; up to READ_AHEAD reads in flight to hide S3 latency. */
async function* readDebates(store: ArtifactStore, prefix: string): AsyncGenerator<{ key: string; record: DebateRecord }> {
  const pending: { key: string; value: Promise<unknown> }[] = [];
  const take = async (): Promise<{ key: string; record: DebateRecord }> => {
    const { key, value } = pending.shift()!;
    return { key, record: parseDebate(store, key, await value) };
  };
  for await (const key of debateKeys(store, prefix)) {
    const value = store.getJson(key).catch((error: unknown) => {
      if (error instanceof JsonlParseError) throw invalidArtifact(store, key, 'not valid JSON');
      throw error;
    });
    // Rejections are handled when taken; this keeps one that lands early from being "unhandled".
    value.catch(() => undefined);
    pending.push({ key, value });
    if (pending.length >= READ_AHEAD) yield await take();
  }
  while (pending.length > 0) yield await take();
}

function parseDebate(store: ArtifactStore, key: string, value: unknown): DebateRecord {
  const parsed = DebateRecord.safeParse(value);
  if (!parsed.success) throw invalidArtifact(store, key, z.prettifyError(parsed.error));
  parsed.data.rounds.forEach((round, i) => {
    if (round.round !== i + 1) throw invalidArtifact(store, key, `rounds must be numbered 1, 2, … in order; entry ${i} is round ${round.round}`);
  });
  return parsed.data;
}

function invalidArtifact(store: ArtifactStore, key: string, reason: string): ApplicationFailure {
  return invalidArtifactAt(store.urlOf(key), reason);
}

const invalidArtifactAt = (url: string, reason: string): ApplicationFailure =>
  ApplicationFailure.nonRetryable(`${url}: invalid debate artifact: ${reason}`, 'InvalidDebateArtifact');

/** Every dataset record of one debate, each checked against its schema before it is queued for writing. */
async function emit(pipes: Record<Dataset, Pipe<unknown>>, url: string, debate: DebateRecord, tally: StatsTally, includeReasoning: boolean): Promise<void> {
  const trace = (reply: { content: string; reasoning?: string }): string => withReasoning(reply, includeReasoning);
  const { problem, summarizer, extraction } = debate;
  const base = { id: problem.id, task: problem.task, prompt: firstRoundMessage(problem).content };
  const finalRound = debate.rounds[debate.rounds.length - 1];
  const check = <T>(schema: z.ZodType<T>, dataset: Dataset, record: unknown): T => {
    const result = schema.safeParse(record);
    if (result.success) return result.data;
    throw ApplicationFailure.nonRetryable(`${dataset}.jsonl record from ${url} fails its schema: ${z.prettifyError(result.error)}`, 'InvalidDatasetRecord');
  };

  if (summarizer.correct === true) {
    await pipes.rsft.push(check(RsftRecord, 'rsft', { ...base, completion: trace(summarizer), answer: summarizer.extracted ?? problem.gold }));
  }
  if (extraction.correctAgents.length >= 2) {
    for (const [i, agent] of extraction.diverseAgents.entries()) {
      const turn = finalRound.turns.find((t) => t.agent === agent);
      if (turn?.correct !== true) throw invalidArtifactAt(url, `diverse agent ${agent} has no verified-correct turn in round ${finalRound.round}`);
      await pipes.da.push(check(DaRecord, 'da', { ...base, completion: trace(turn), answer: turn.extracted ?? problem.gold, agent, round: finalRound.round, rank: i + 1 }));
    }
  }
  const traces = prmTraces(finalRound.turns, trace);
  if (traces.length > 0) await pipes.prm.push(check(PrmRecord, 'prm', { ...base, traces, groups: contrastiveGroups(traces) }));
  await pipes.grpo.push(check(GrpoRecord, 'grpo', { ...base, gold: problem.gold, ...(problem.options ? { options: problem.options } : {}) }));
  tally.add(debate);
}

/** Decided final-round turns in agent order; a turn with no text has no step to label and is left out. */
function prmTraces(turns: Turn[], trace: (t: Turn) => string): PrmTrace[] {
  return [...turns]
    .sort((a, b) => a.agent - b.agent)
    .flatMap((turn) => {
      if (turn.correct === null) return [];
      const steps = splitSteps(trace(turn));
      if (steps.length === 0) return [];
      const label = turn.correct ? 1 : 0;
      return [{ agent: turn.agent, correct: turn.correct, steps, labels: steps.map(() => label) }];
    });
}

/** Position by position, each correct trace reaching it against every incorrect trace reaching it. */
function contrastiveGroups(traces: PrmTrace[]): ContrastiveGroup[] {
  const groups: ContrastiveGroup[] = [];
  const longest = Math.max(...traces.map((t) => t.steps.length));
  for (let position = 0; position < longest; position++) {
    const reaching = traces.flatMap((t, i) => (t.steps.length > position ? [i] : []));
    const negatives = reaching.filter((i) => !traces[i].correct);
    if (negatives.length === 0) continue;
    for (const positive of reaching.filter((i) => traces[i].correct)) {
      if (groups.length === MAX_GROUPS_PER_PROBLEM) return groups;
      groups.push({ position, positive, negatives });
    }
  }
  return groups;
}

/**
 * Called on every artifact listed and every record read: the SDK sends at most one heartbeat per 80% of
 * the heartbeat timeout, so a worker killed mid-build is noticed within that timeout, whatever the
 * size of the run.
 */
function heartbeat(progress: number): void {
  let context: Context;
  try {
    context = Context.current();
  } catch {
    return; // outside an activity (unit tests, CLI)
  }
  context.heartbeat(progress);
}

/**
 * A beat on every record moved, and every 10 s besides with the last progress: the last parts of four
 * multipart uploads, stats and manifest may take longer than the heartbeat timeout with no record moving.
 */
function heartbeats(): { beat: (progress: number) => void; stop: () => void } {
  let last = 0;
  const timer = setInterval(() => heartbeat(last), 10_000);
  return { beat: (progress) => heartbeat((last = progress)), stop: () => clearInterval(timer) };
}

/**
 * A bounded queue from the one reader to one dataset's writer, so the four files are written in a
 * single pass over the debates without buffering a whole dataset. `end(error)` fails both sides: a
 * failed read leaves no half-written file (writeJsonl discards it), a failed write stops the reader.
 */
class Pipe<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private ended = false;
  private failure: { error: unknown } | null = null;
  private wakeConsumer: (() => void) | null = null;
  private wakeProducer: (() => void) | null = null;

  constructor(private readonly capacity: number) {}

  async push(item: T): Promise<void> {
    while (this.items.length >= this.capacity && this.failure === null) await new Promise<void>((wake) => (this.wakeProducer = wake));
    if (this.failure !== null) throw this.failure.error;
    this.items.push(item);
    this.notify();
  }

  end(error?: unknown): void {
    if (error !== undefined) this.failure ??= { error };
    this.ended = true;
    this.notify();
  }

  private notify(): void {
    this.wakeConsumer?.();
    this.wakeProducer?.();
    this.wakeConsumer = this.wakeProducer = null;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    for (;;) {
      if (this.failure !== null) throw this.failure.error;
      if (this.items.length > 0) {
        const item = this.items.shift() as T;
        this.notify();
        yield item;
      } else if (this.ended) return;
      else await new Promise<void>((wake) => (this.wakeConsumer = wake));
    }
  }
}
