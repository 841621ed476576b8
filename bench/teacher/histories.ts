import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';

/**
 * How big a run's workflow histories grew: every execution on the run's task queue (whatever
 * workflow types the code of the day starts), its event count and size as the server accounts
 * them, and the largest single event and payload, read from the histories themselves.
 */

export interface HistoryFigures {
  executions: number;
  byType: Record<string, number>;
  largestEvents: { workflowId: string; type: string; events: number };
  largestBytes: { workflowId: string; type: string; bytes: number };
  /** Largest single payload (an activity's input or result, a signal, a workflow input) in the histories read. */
  largestPayload: { workflowId: string; bytes: number; eventType: string };
  largestEventBytes: number;
  /** Histories read for the payload figures: all of them, or the largest ones when there are many. */
  historiesRead: number;
}

interface Execution {
  workflowId: string;
  runId: string;
  type: string;
  events: number;
  bytes: number;
}

/** Lists the executions a visibility query matches (the bench's own task queue since a run began). */
export async function listExecutions(client: Client, query: string): Promise<Execution[]> {
  const out: Execution[] = [];
  for await (const info of client.workflow.list({ query })) {
    out.push({ workflowId: info.workflowId, runId: info.runId, type: info.type, events: info.historyLength, bytes: info.historySize ?? 0 });
  }
  return out;
}

function isPayload(value: unknown): value is temporal.api.common.v1.IPayload {
  return typeof value === 'object' && value !== null && (value as { data?: unknown }).data instanceof Uint8Array && 'metadata' in value;
}

/** Every payload object anywhere inside an event's attributes. */
function* payloads(value: unknown, depth = 0): Generator<temporal.api.common.v1.IPayload> {
  if (depth > 30 || typeof value !== 'object' || value === null || value instanceof Uint8Array) return;
  if (isPayload(value)) {
    yield value;
    return;
  }
  for (const v of Array.isArray(value) ? value : Object.values(value)) yield* payloads(v, depth + 1);
}

const eventTypeName = (e: temporal.api.history.v1.IHistoryEvent): string =>
  temporal.api.enums.v1.EventType[e.eventType ?? 0] ?? String(e.eventType);

export async function measureHistories(client: Client, query: string, opts: { readAtMost?: number } = {}): Promise<HistoryFigures> {
  const all = await listExecutions(client, query);
  if (all.length === 0) throw new Error(`no workflow executions match ${query}`);
  const byType: Record<string, number> = {};
  for (const e of all) byType[e.type] = (byType[e.type] ?? 0) + 1;
  const most = (key: 'events' | 'bytes'): Execution => all.reduce((a, b) => (b[key] > a[key] ? b : a));

  // Payloads are in the histories themselves: read them all when few, else the largest of each type.
  const readAtMost = opts.readAtMost ?? 400;
  let toRead = all;
  if (all.length > readAtMost) {
    const types = Object.keys(byType);
    const perType = Math.max(1, Math.floor(readAtMost / types.length));
    toRead = types.flatMap((t) => all.filter((e) => e.type === t).sort((a, b) => b.bytes - a.bytes).slice(0, perType));
  }
  let largestPayload = { workflowId: '', bytes: 0, eventType: '' };
  let largestEventBytes = 0;
  const queue = [...toRead];
  const readOne = async (): Promise<void> => {
    for (let e = queue.pop(); e; e = queue.pop()) {
      const history = await client.workflow.getHandle(e.workflowId, e.runId).fetchHistory();
      for (const event of history.events ?? []) {
        largestEventBytes = Math.max(largestEventBytes, temporal.api.history.v1.HistoryEvent.encode(event).finish().length);
        for (const p of payloads(event)) {
          const bytes = temporal.api.common.v1.Payload.encode(p).finish().length;
          if (bytes > largestPayload.bytes) largestPayload = { workflowId: e.workflowId, bytes, eventType: eventTypeName(event) };
        }
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, readOne));

  const ev = most('events');
  const by = most('bytes');
  return {
    executions: all.length,
    byType,
    largestEvents: { workflowId: ev.workflowId, type: ev.type, events: ev.events },
    largestBytes: { workflowId: by.workflowId, type: by.type, bytes: by.bytes },
    largestPayload,
    largestEventBytes,
    historiesRead: toRead.length,
  };
}
