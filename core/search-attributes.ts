import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Typed search attributes every agentark workflow sets, so runs can be found and followed in the
 * Web UI (e.g. `AgentarkRunId = "gsm8k-nightly"`). They must be registered on the server:
 * `agentark dev up` does it for the local dev server; on a cluster run
 * `temporal operator search-attribute create --name <name> --type <type>` for each.
 */
export const RUN_ID = defineSearchAttributeKey('AgentarkRunId', SearchAttributeType.KEYWORD);
export const STAGE = defineSearchAttributeKey('AgentarkStage', SearchAttributeType.KEYWORD);
export const PROGRESS = defineSearchAttributeKey('AgentarkProgress', SearchAttributeType.DOUBLE);

/** Name → Temporal CLI type name, for registration. */
export const searchAttributeRegistrations: Record<string, 'Keyword' | 'Double'> = {
  [RUN_ID.name]: 'Keyword',
  [STAGE.name]: 'Keyword',
  [PROGRESS.name]: 'Double',
};
