import { ApplicationFailure } from '@temporalio/activity';
import { z } from 'zod';
import { describeChanges, diffConfig, refusedChanges, type ConfigChange } from '../core/config-diff';
import { storeFor } from './artifacts';
import { codeVersion } from './store/code-version';

/**
 * A run's frozen config: `runs/<runId>/config.json`, written at the run's first start with the parsed
 * config (defaults applied) and the code version. A later start of the same run id is compared with it
 * field by field, so a restart never silently debates half a dataset under other settings.
 */
export const runConfigKey = (runId: string): string => `runs/${runId}/config.json`;

export const FrozenRunConfig = z.object({
  runId: z.string().min(1),
  config: z.record(z.string(), z.unknown()),
  codeVersion: z.string().min(1),
  createdAt: z.string().min(1),
  /** Allowed changes of later starts, oldest first. */
  changes: z.array(z.object({ at: z.string(), codeVersion: z.string(), fields: z.array(z.string()) })).default([]),
});
export type FrozenRunConfig = z.infer<typeof FrozenRunConfig>;

export interface FreezeRunConfigInput {
  runId: string;
  /** The parsed config without `allowConfigChange`. */
  config: Record<string, unknown>;
  allowConfigChange?: string[];
  store?: string;
}

export interface FreezeRunConfigResult {
  /** 'written': the first start; 'same': nothing differs; 'changed': only allowed fields differ. */
  state: 'written' | 'same' | 'changed';
  changed: string[];
  /** The code version of the run's first start, and of this start. */
  firstCodeVersion: string;
  codeVersion: string;
}

export async function freezeRunConfig(input: FreezeRunConfigInput): Promise<FreezeRunConfigResult> {
  const store = storeFor(input.store);
  const key = runConfigKey(input.runId);
  const version = await codeVersion();
  const now = new Date().toISOString();
  if (!(await store.exists(key))) {
    const frozen: FrozenRunConfig = { runId: input.runId, config: input.config, codeVersion: version, createdAt: now, changes: [] };
    await store.putJson(key, frozen);
    return { state: 'written', changed: [], firstCodeVersion: version, codeVersion: version };
  }
  const parsed = FrozenRunConfig.safeParse(await store.getJson(key));
  if (!parsed.success) {
    throw ApplicationFailure.nonRetryable(`${store.urlOf(key)}: not a frozen run config (${z.prettifyError(parsed.error)})`, 'InvalidRunConfigFile');
  }
  const frozen = parsed.data;
  const changes = diffConfig(frozen.config, input.config);
  if (changes.length === 0) return { state: 'same', changed: [], firstCodeVersion: frozen.codeVersion, codeVersion: version };
  const refused = refusedChanges(changes, input.allowConfigChange ?? []);
  if (refused.length) throw refusal(input.runId, refused);
  const fields = changes.map((c) => c.path);
  await store.putJson(key, { ...frozen, config: input.config, changes: [...frozen.changes, { at: now, codeVersion: version, fields }] });
  return { state: 'changed', changed: fields, firstCodeVersion: frozen.codeVersion, codeVersion: version };
}

function refusal(runId: string, refused: ConfigChange[]): ApplicationFailure {
  return ApplicationFailure.nonRetryable(
    `run ${runId} was started with another config: ${describeChanges(refused)}. Start it with its first config, `
      + "list fields that are safe to change in 'allowConfigChange', or use a new run id",
    'RunConfigChanged',
  );
}
