import { createReadStream } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ApplicationFailure, CancelledFailure, Context, log } from '@temporalio/activity';
import { generationsKey, GenerateJobInput, partialGenerationsKey, type GenerateJobResult } from '../../core/evaluation';
import { safeItem } from '../../core/ids';
import { repoRoot } from '../../infra/dev/paths';
import { storeFor } from '../artifacts';
import { hashConfig } from '../store/config-hash';
import { findManifest, writeManifest } from '../store/manifest';
import type { ArtifactStore } from '../store/store';
import { folderFingerprint, pathExists } from './folders';
import { startHeartbeat } from './heartbeat';
import { claimPrefix } from './job-record';
import type { TrainerDeps } from './train-job';
import { failureMessage, trainerFailure } from './trainer-failure';
import { TrainerProcess, type TrainerEvent } from './trainer-process';

/**
 * generateJob: one model answering one test set's prompts with the trainer's `generate` job, on the
 * GPU queue. The lines written so far go to the store every `partialEveryMs` and whenever the
 * trainer stops, so a retry on any worker carries on after the last stored prompt; the finished
 * file and a manifest keyed by the job's identity (prompts, model, sampling) make a second run free.
 */

export interface GenerateHooks {
  /** The worker's bookkeeping of running trainer processes (drain on shutdown). */
  track(proc: TrainerProcess): () => void;
  draining(): boolean;
  onLaunch(): void;
}

const PARTIAL_EVERY_MS = 30_000;

export async function runGenerateJob(raw: GenerateJobInput, deps: TrainerDeps, hooks: GenerateHooks): Promise<GenerateJobResult> {
  const parsed = GenerateJobInput.safeParse(raw);
  if (!parsed.success) throw ApplicationFailure.nonRetryable(`generateJob: invalid input: ${parsed.error.message}`, 'InvalidGenerateJobInput');
  const input = parsed.data;
  const ctx = Context.current();
  const store = storeFor(input.store);
  const started = Date.now();
  const outKey = generationsKey(input.prefix);
  const partialKey = partialGenerationsKey(input.prefix);
  let progress = { state: 'staging', step: 0, total: 0, tokensPerS: null as number | null };
  const beat = (): void => ctx.heartbeat(progress);
  const stopHeartbeat = startHeartbeat(beat);
  try {
    const identity = await generateIdentity(store, input);
    const manifest = await findManifest(store, input.prefix);
    if (manifest?.configHash === identity && (await store.exists(outKey))) {
      return { generationsKey: outKey, completions: manifest.counts.completions ?? 0, seconds: 0, skipped: true };
    }
    // The lines of another identity (other model weights, prompts or sampling) are not this job's.
    await claimPrefix(store, input.prefix, identity, async () => {
      await store.delete(partialKey);
      await store.delete(outKey);
    });
    if (hooks.draining()) throw ApplicationFailure.retryable('the gpu worker is shutting down', 'WorkerShutdown');

    const workDir = join(deps.workRoot, safeItem(input.runId), `generate-${identity.slice(7, 23)}`);
    await mkdir(workDir, { recursive: true });
    const prompts = await deps.cache.file(store, input.prompts);
    const { key, ...modelSpec } = input.model;
    const model = key ? { ...modelSpec, path: await deps.cache.folder(store, key) } : modelSpec;
    const output = join(workDir, 'generations.jsonl');
    const partial = `${output}.partial`;
    if (await store.exists(partialKey)) await writeFile(partial, await store.get(partialKey));
    const s = input.sampling;
    const configPath = join(workDir, 'config.json');
    await writeFile(configPath, JSON.stringify({
      model, input: prompts, output, num_samples: s.samples, temperature: s.temperature, top_p: s.topP,
      max_new_tokens: s.maxNewTokens, batch_size: s.batchSize, seed: s.seed,
    }, null, 2));
    if (ctx.cancellationSignal.aborted) throw new CancelledFailure('cancelled before generation started');

    let uploading: Promise<void> = Promise.resolve();
    let lastUpload = Date.now();
    const savePartial = (): Promise<void> => {
      lastUpload = Date.now();
      uploading = uploading.then(async () => {
        if (await pathExists(partial)) await store.put(partialKey, await readFile(partial));
      }).catch((error: unknown) => log.warn('cannot upload partial generations', { error: String(error) }));
      return uploading;
    };
    let doneEvent: TrainerEvent | null = null;
    let errorEvent: TrainerEvent | null = null;
    const { launch, release } = deps.slots.acquire();
    let exit;
    try {
      const proc = new TrainerProcess({
        command: launch.command,
        args: [...launch.prefix, 'generate', '--config', configPath, '--resume', 'auto'],
        cwd: join(repoRoot, 'trainer'),
        env: { ...process.env, ...launch.env, HF_HUB_OFFLINE: '1', AGENTARK_PARENT_DEATH_SIGNAL: 'SIGTERM' },
        hangMs: input.hangTimeoutMinutes * 60_000,
        killAfterMs: deps.stopGraceMs,
        onEvent: (e) => {
          const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
          if (e.event === 'start' || e.event === 'progress') {
            progress = { state: 'running', step: num(e.step) ?? progress.step, total: num(e.total) ?? progress.total, tokensPerS: num(e.tokens_per_s) };
            beat();
            if (Date.now() - lastUpload >= PARTIAL_EVERY_MS) void savePartial();
          }
          if (e.event === 'done') doneEvent = e;
          if (e.event === 'error') errorEvent = e;
        },
      });
      hooks.onLaunch();
      const untrack = hooks.track(proc);
      const onAbort = (): void => proc.stop(hooks.draining() ? 'shutdown' : 'cancelled');
      ctx.cancellationSignal.addEventListener('abort', onAbort);
      try {
        exit = await proc.exited;
      } finally {
        ctx.cancellationSignal.removeEventListener('abort', onAbort);
        untrack();
      }
    } finally {
      release();
    }
    progress = { ...progress, state: 'uploading' };
    if (exit.code === 0 && doneEvent && (await pathExists(output))) {
      await uploading;
      await store.writeStream(outKey, createReadStream(output));
      const completions = (await readFile(output, 'utf8')).split('\n').filter((l) => l.trim()).length;
      await writeManifest(store, input.prefix, {
        inputs: { prompts: input.prompts, model: input.model, sampling: input.sampling }, configHash: identity, counts: { completions },
      });
      await store.delete(partialKey);
      await rm(workDir, { recursive: true, force: true }).catch(() => undefined);
      return { generationsKey: outKey, completions, seconds: (Date.now() - started) / 1000, skipped: false };
    }
    await savePartial();
    const done = (await pathExists(partial)) ? (await readFile(partial, 'utf8')).split('\n').filter((l) => l.trim()).length : 0;
    const resumable = done ? ` (resumes after ${done} stored completions)` : '';
    throw trainerFailure('generate', exit, errorEvent, failureMessage(exit, errorEvent), resumable, input.hangTimeoutMinutes);
  } finally {
    stopHeartbeat();
  }
}

async function generateIdentity(store: ArtifactStore, input: ReturnType<typeof GenerateJobInput.parse>): Promise<string> {
  const { model } = input;
  return hashConfig({
    job: 'generate',
    prompts: { key: input.prompts, etag: (await store.stat(input.prompts)).etag },
    model: model.key ? { ...model, fingerprint: await folderFingerprint(store, model.key) } : model,
    sampling: input.sampling,
  });
}
