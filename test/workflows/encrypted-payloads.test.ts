import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { METADATA_ENCODING_KEY, type Payload } from '@temporalio/common';
import { decode as utf8Decode } from '@temporalio/common/lib/encoding';
import type { probeTeacher } from '../../workflows';
import { ENCRYPTED_ENCODING } from '../../workers/codec';
import { temporalEnv } from '../../workers/temporal-env';
import { startHarness, uniqueRunId, type Harness } from './harness';

/**
 * Payload encryption on the real services (Temporal dev server, SmolLM2 teacher, S3): a probe run by workers
 * and a client with the codec on leaves only ciphertext in the server's history, and its result still decodes.
 */

/** Every Payload in a history, with where it lies; search attributes apart (the server indexes them, so they stay plain). */
function payloadsOf(value: unknown, where = ''): { where: string; payload: Payload }[] {
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return [];
  const o = value as Record<string, unknown>;
  if (o.metadata && typeof o.metadata === 'object' && 'encoding' in o.metadata) return [{ where, payload: o as Payload }];
  return Object.entries(o)
    .filter(([k]) => k !== 'searchAttributes')
    .flatMap(([k, v]) => payloadsOf(v, `${where}.${k}`));
}

const bytesText = (p: Payload): string =>
  [p.data, ...Object.values(p.metadata ?? {})].map((b) => Buffer.from(b ?? []).toString('latin1')).join(' ');

describe('encrypted payloads (AGENTARK_CODEC_KEYS) on real Temporal + SmolLM2 + S3', () => {
  let harness: Harness;
  let plainConnection: Connection;
  const saved = { keys: process.env.AGENTARK_CODEC_KEYS, id: process.env.AGENTARK_CODEC_KEY_ID };
  beforeAll(async () => {
    process.env.AGENTARK_CODEC_KEYS = `test-${randomBytes(2).toString('hex')}:${randomBytes(32).toString('base64')}`;
    process.env.AGENTARK_CODEC_KEY_ID = process.env.AGENTARK_CODEC_KEYS.split(':')[0];
    harness = await startHarness({ llmConcurrency: 2 });
    plainConnection = await Connection.connect(temporalEnv().connection);
  });
  afterAll(async () => {
    await harness?.close();
    await plainConnection?.close();
    process.env.AGENTARK_CODEC_KEYS = saved.keys;
    process.env.AGENTARK_CODEC_KEY_ID = saved.id;
    if (saved.keys === undefined) delete process.env.AGENTARK_CODEC_KEYS;
    if (saved.id === undefined) delete process.env.AGENTARK_CODEC_KEY_ID;
  });

  it('stores no plaintext of the input in the history, and the result decodes with the codec', async () => {
    const runId = uniqueRunId('encrypted-probe');
    const marker = `marker-${randomBytes(6).toString('hex')}`;
    const workflowId = `test-${runId}`;
    const result = await harness.client.workflow.execute<typeof probeTeacher>('probeTeacher', {
      taskQueue: harness.taskQueue,
      workflowId,
      args: [{ runId, question: `What is 2 + 3? Reply with one number. (${marker})`, maxTokens: 16, llmQueue: harness.llmQueue, store: harness.store }],
    });
    expect(result.key).toBe(`runs/${runId}/probe/reply.json`);
    expect(result.completionTokens).toBeGreaterThan(0);

    // What anyone with access to the server reads: the history through a client without the codec.
    const plainClient = new Client({ connection: plainConnection, namespace: temporalEnv().namespace });
    const history = await plainClient.workflow.getHandle(workflowId).fetchHistory();
    const found = payloadsOf(history.events);
    const wheres = found.map((f) => f.where);
    expect(wheres.some((w) => w.includes('workflowExecutionStartedEventAttributes.input'))).toBe(true);
    expect(wheres.some((w) => w.includes('activityTaskScheduledEventAttributes.input'))).toBe(true);
    expect(wheres.some((w) => w.includes('workflowExecutionCompletedEventAttributes.result'))).toBe(true);
    for (const { where, payload } of found) {
      expect({ where, encoding: utf8Decode(payload.metadata![METADATA_ENCODING_KEY]) }).toEqual({ where, encoding: ENCRYPTED_ENCODING });
      const text = bytesText(payload);
      for (const secret of [marker, runId, harness.store, 'json/plain']) expect({ where, leaks: text.includes(secret) }).toEqual({ where, leaks: false });
    }

    // A client without the codec cannot read the result.
    await expect(plainClient.workflow.getHandle(workflowId).result()).rejects.toThrow(`Unknown encoding: ${ENCRYPTED_ENCODING}`);
  });
});
