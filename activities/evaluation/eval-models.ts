import { ApplicationFailure } from '@temporalio/activity';
import { METHOD_OUTPUT, trainJobPrefix, type Method, type ModelRef } from '../../core/training';
import { storeFor } from '../artifacts';
import { findManifest } from '../store/manifest';

export interface EvalModelsInput {
  base?: ModelRef;
  training?: { runId: string; methods: Method[] };
  models: Record<string, ModelRef>;
  store?: string;
}

/**
 * Every model to evaluate, by name: `base`, each trained method's final model (checked to be in the
 * store: its job's manifest is written after it), then the user's own. A trained model inherits the
 * base's dtype and attention settings, as in trainStudent.
 */
export async function resolveEvalModels(input: EvalModelsInput): Promise<Record<string, ModelRef>> {
  const store = storeFor(input.store);
  const out: Record<string, ModelRef> = {};
  if (input.base) out.base = input.base;
  for (const method of input.training?.methods ?? []) {
    const prefix = trainJobPrefix(input.training!.runId, METHOD_OUTPUT[method]);
    if (!(await findManifest(store, prefix))) {
      throw ApplicationFailure.nonRetryable(
        `no trained model for method '${method}' of run '${input.training!.runId}' (${store.urlOf(prefix)}/manifest.json is missing): train it first`,
        'NoTrainedModel',
      );
    }
    const inherit = input.base ? { ...(input.base.dtype ? { dtype: input.base.dtype } : {}), ...(input.base.attn_implementation ? { attn_implementation: input.base.attn_implementation } : {}) } : {};
    out[method] = { key: `${prefix}/final`, ...inherit };
  }
  return { ...out, ...input.models };
}
