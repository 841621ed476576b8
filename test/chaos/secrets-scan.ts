import * as fs from 'node:fs';
import type { Client } from '@temporalio/client';
import { openStore } from '../../activities/store/store';

/**
 * Where a run could leak its teacher's API key: every workflow history on the server (payloads
 * decoded), every object under the run's store prefix, the worker logs. Counts the places that hold
 * the key, as it is or base64-encoded (payload bytes travel base64 in history JSON).
 */
export interface SecretsFound {
  histories: number;
  artifacts: number;
  logs: number;
  /** Places that hold the key. */
  found: string[];
}

const forms = (secret: string): string[] => [secret, Buffer.from(secret).toString('base64')];

const holds = (text: string, secret: string): boolean => forms(secret).some((f) => text.includes(f));

/** A history's text with every byte array (a payload's data) as UTF-8 too. */
function historyText(history: unknown): string {
  const parts: string[] = [];
  const walk = (v: unknown): void => {
    if (v instanceof Uint8Array) parts.push(Buffer.from(v).toString('utf8'));
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === 'object') Object.values(v).forEach(walk);
    else if (typeof v === 'string') parts.push(v);
  };
  walk(history);
  return parts.join('\n');
}

export async function scanForSecret(secret: string, where: { client: Client; store: string; logs: string[] }): Promise<SecretsFound> {
  const out: SecretsFound = { histories: 0, artifacts: 0, logs: 0, found: [] };
  for await (const wf of where.client.workflow.list()) {
    const history = await where.client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
    out.histories++;
    if (holds(historyText(history), secret)) out.found.push(`history ${wf.workflowId}/${wf.runId}`);
  }
  const store = openStore(where.store);
  for await (const key of store.list('')) {
    out.artifacts++;
    if (holds((await store.get(key)).toString('utf8'), secret)) out.found.push(`artifact ${store.urlOf(key)}`);
  }
  for (const file of where.logs) {
    out.logs++;
    if (holds(fs.readFileSync(file, 'utf8'), secret)) out.found.push(`log ${file}`);
  }
  return out;
}
