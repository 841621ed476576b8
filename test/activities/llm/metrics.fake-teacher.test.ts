import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { serveMetrics, type MetricsServer } from '../../../activities/metrics';
import { CallLimiter } from '../../../activities/llm/limiter';
import { callTeacher, type TeacherCall } from '../../../activities/llm/teacher';
import { startFakeLlmServer, type FakeLlmServer } from '../../fixtures/fake-llm';
import { countTokens } from '../../fixtures/fake-llm/openai-shapes';
import { errorRates, problemMap, seed } from '../../fixtures/fake-llm-sample';
import { scrape, total } from '../../fixtures/prometheus';

/**
 * The llm worker's metrics as a scraper reads them from /metrics, after teacher calls to the SCRIPTED
 * FAKE teacher: what is counted is calls, cache hits, failures and the tokens the server reported.
 */

const ENV_VARS = ['OPENAI_BASE_URL', 'OPENAI_API_KEY', 'AGENTARK_TEACHER_MODEL', 'AGENTARK_TEACHERS', 'AGENTARK_TEACHER_ALLOWLIST', 'AGENTARK_STORE'];

describe('teacher metrics on /metrics (scripted fake teacher, metrics server on a free port)', () => {
  const saved = new Map(ENV_VARS.map((k) => [k, process.env[k]]));
  const store = `file://${mkdtempSync(path.join(tmpdir(), 'agentark-metrics-'))}`;
  let fake: FakeLlmServer;
  let metrics: MetricsServer;

  beforeAll(async () => {
    fake = await startFakeLlmServer({ problems: problemMap, errorRates, seed, reasoningTokens: 7 });
    for (const k of ENV_VARS) delete process.env[k];
    process.env.OPENAI_BASE_URL = fake.url;
    process.env.AGENTARK_STORE = store; // the reply cache of this test alone
    metrics = await serveMetrics(0, '127.0.0.1');
  });
  afterAll(async () => {
    await metrics?.close();
    await fake?.close();
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  const limiter = new CallLimiter(4);
  const ask = (i: number): Promise<TeacherCall> =>
    callTeacher({
      model: 'fake-teacher',
      messages: [{ role: 'user', content: `What is ${i} plus ${i}?` }],
      sampling: { temperature: 0, topP: 1, maxTokens: 32, n: 1, json: false, seed: 0 },
      cache: true,
    }, { limiter });

  it('counts N answered calls with their tokens and latency, repeats as cache hits, and a 429 as an error', async () => {
    const answered = await Promise.all([0, 1, 2, 3, 4].map(ask));
    const repeated = await Promise.all([1, 3].map(ask));
    expect(answered.map((c) => c.result.cached)).toEqual([false, false, false, false, false]);
    expect(repeated.map((c) => c.result.cached)).toEqual([true, true]);
    fake.setFaults({ rate429: 1 });
    await expect(ask(9)).rejects.toMatchObject({ type: 'LlmRateLimited' });
    fake.setFaults({});

    const samples = await scrape(metrics.port);
    const labels = { endpoint: new URL(fake.url).host, model: 'fake-teacher' };
    expect(total(samples, 'agentark_teacher_calls_total')).toBe(8);
    expect(total(samples, 'agentark_teacher_calls_total', { ...labels, outcome: 'ok' })).toBe(5);
    expect(total(samples, 'agentark_teacher_calls_total', { ...labels, outcome: 'cached' })).toBe(2);
    expect(total(samples, 'agentark_teacher_calls_total', { ...labels, outcome: 'LlmRateLimited' })).toBe(1);
    expect(total(samples, 'agentark_cache_hits_total')).toBe(2);
    expect(total(samples, 'agentark_teacher_errors_total')).toBe(1);
    expect(total(samples, 'agentark_teacher_errors_total', { type: 'LlmRateLimited' })).toBe(1);
    // Every request the fake received was timed: the answered ones and the refused one, no cache hit.
    expect(fake.log).toHaveLength(6);
    expect(total(samples, 'agentark_teacher_latency_seconds_count', labels)).toBe(fake.log.length);

    const paid = (f: (c: TeacherCall) => number): number => answered.reduce((sum, c) => sum + f(c), 0);
    expect(total(samples, 'agentark_teacher_tokens_total', { ...labels, kind: 'prompt' })).toBe(paid((c) => c.result.usage.promptTokens));
    expect(total(samples, 'agentark_teacher_tokens_total', { ...labels, kind: 'completion' })).toBe(paid((c) => c.result.usage.completionTokens));
    const reasoning = paid((c) => countTokens(c.result.choices[0].reasoning ?? ''));
    expect(reasoning).toBeGreaterThan(0);
    expect(total(samples, 'agentark_teacher_tokens_total', { ...labels, kind: 'reasoning' })).toBe(reasoning);
  });

  it('serves nothing but GET /metrics', async () => {
    expect((await fetch(`http://127.0.0.1:${metrics.port}/`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${metrics.port}/metrics`, { method: 'POST' })).status).toBe(404);
  });
});
