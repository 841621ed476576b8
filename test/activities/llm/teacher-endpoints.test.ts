import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createLlmActivities } from '../../../activities/llm';
import { loadTeacherEndpoints, TeacherEndpointsError } from '../../../activities/llm/endpoints';
import type { ChatRequest, ChatResult } from '../../../core/chat';
import { RunConfig } from '../../../core/config';
import { startRecordingServer, type RecordingServer } from '../../fixtures/recording-teacher';

/**
 * The llm worker decides where requests go and which key they carry; a run config only names a
 * profile or an allowed URL. Each server here records every request it receives, so "no request"
 * and "whose key" are what the servers saw, not what the code meant to do.
 */

const ENV_VARS = ['OPENAI_BASE_URL', 'OPENAI_API_KEY', 'AGENTARK_TEACHER_MODEL', 'AGENTARK_TEACHERS', 'AGENTARK_TEACHER_ALLOWLIST', 'TEST_KEY_A', 'TEST_KEY_B'];
const KEY_DEFAULT = 'sk-default-worker-key';
const KEY_A = 'sk-profile-a-key';
const KEY_B = 'sk-profile-b-key';

// Refusals are what these tests are about: the activity's failure log line would only repeat them.
const quiet = new DefaultLogger('ERROR', () => undefined);

const { chatCompletion } = createLlmActivities({ concurrency: 4 });

const ask = (req: Pick<ChatRequest, 'profile' | 'baseUrl' | 'model'>): Promise<ChatResult> => {
  const request: ChatRequest = {
    messages: [{ role: 'user', content: 'What is 6 times 7?' }],
    sampling: { temperature: 0, maxTokens: 8, seed: 0 },
    cache: false,
    ...req,
  };
  return new MockActivityEnvironment(undefined, { logger: quiet }).run(chatCompletion, request);
};

/** The activity's failure, or a test failure when it did not fail. */
async function failureOf(p: Promise<unknown>): Promise<ApplicationFailure> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ApplicationFailure) return err;
    throw err;
  }
  throw new Error('expected the call to be refused');
}

describe('chatCompletion: teacher endpoints by profile or allowlist (recording local servers)', () => {
  const saved = new Map(ENV_VARS.map((k) => [k, process.env[k]]));
  let def: RecordingServer;
  let a: RecordingServer;
  let b: RecordingServer;
  let open: RecordingServer;
  let stranger: RecordingServer;
  const all = (): RecordingServer[] => [def, a, b, open, stranger];

  beforeAll(async () => {
    [def, a, b, open, stranger] = await Promise.all(['model-default', 'model-a', 'model-b', 'model-open', 'model-stranger'].map(startRecordingServer));
  });
  afterAll(async () => {
    await Promise.all(all().map((s) => s.close()));
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
  beforeEach(() => {
    for (const s of all()) {
      s.seen = [];
      delete s.redirectTo;
    }
    for (const k of ENV_VARS) delete process.env[k];
    Object.assign(process.env, {
      OPENAI_BASE_URL: def.url,
      OPENAI_API_KEY: KEY_DEFAULT,
      TEST_KEY_A: KEY_A,
      TEST_KEY_B: KEY_B,
      AGENTARK_TEACHERS: JSON.stringify({
        a: { baseUrl: a.url, apiKeyEnv: 'TEST_KEY_A', model: 'model-a-pinned' },
        b: { baseUrl: b.url, apiKeyEnv: 'TEST_KEY_B' },
      }),
      AGENTARK_TEACHER_ALLOWLIST: open.url,
    });
  });

  it('refuses a base URL off the list before sending anything, and says how to allow it', async () => {
    const failure = await failureOf(ask({ baseUrl: stranger.url }));
    expect(failure.nonRetryable).toBe(true);
    expect(failure.type).toBe('TeacherEndpointNotAllowed');
    expect(failure.message).toContain(stranger.url);
    expect(failure.message).toContain('AGENTARK_TEACHER_ALLOWLIST');
    expect(failure.message).toContain('teacher.profile');
    // Not even a model listing: the stranger's server saw nothing, and no key went anywhere else.
    for (const s of all()) expect(s.seen).toEqual([]);
  });

  it('refuses the same host on another port or path', async () => {
    const offPath = open.url.replace(/\/v1$/, '/v2');
    for (const url of [offPath, a.url.replace(/:(\d+)\//, (_, p: string) => `:${Number(p) + 1}/`)]) {
      const failure = await failureOf(ask({ baseUrl: url }));
      expect(failure.type).toBe('TeacherEndpointNotAllowed');
    }
    for (const s of all()) expect(s.seen).toEqual([]);
  });

  it("sends each profile's key to its own server only, with the profile's model", async () => {
    await ask({ profile: 'a' });
    await ask({ profile: 'b' });
    await ask({}); // no profile, no URL: the worker's default profile
    expect(a.seen.map((r) => r.authorization)).toEqual([`Bearer ${KEY_A}`]);
    expect(a.seen[0].model).toBe('model-a-pinned');
    // Profile b names no model: the server's first model, asked with b's key too.
    expect(b.seen.map((r) => [r.path, r.authorization])).toEqual([
      ['/v1/models', `Bearer ${KEY_B}`],
      ['/v1/chat/completions', `Bearer ${KEY_B}`],
    ]);
    expect(b.seen[1].model).toBe('model-b');
    expect(def.seen.map((r) => r.authorization)).toEqual([`Bearer ${KEY_DEFAULT}`, `Bearer ${KEY_DEFAULT}`]);
    expect(open.seen).toEqual([]);
    expect(stranger.seen).toEqual([]);
  });

  it("gives a profile's baseUrl named by URL that profile's key, normalised", async () => {
    await ask({ baseUrl: `${a.url}/` });
    expect(a.seen.map((r) => r.authorization)).toEqual([`Bearer ${KEY_A}`]);
    for (const s of [def, b, open, stranger]) expect(s.seen).toEqual([]);
  });

  it('calls an allowlisted URL that is no profile without any key', async () => {
    const result = await ask({ baseUrl: open.url });
    expect(result.choices[0].content).toBe('reply from model-open');
    expect(open.seen.length).toBe(2); // model listing + the call
    for (const r of open.seen) expect(r.authorization).toBeUndefined();
    for (const s of [def, a, b, stranger]) expect(s.seen).toEqual([]);
  });

  it('allows every base URL of an allowlisted origin', async () => {
    process.env.AGENTARK_TEACHER_ALLOWLIST = new URL(stranger.url).origin;
    await ask({ baseUrl: stranger.url, model: 'm' });
    expect(stranger.seen.map((r) => r.authorization)).toEqual([undefined]);
  });

  it('refuses an unknown profile, and both a profile and a URL, without a request', async () => {
    const unknown = await failureOf(ask({ profile: 'nope' }));
    expect(unknown.type).toBe('UnknownTeacherProfile');
    expect(unknown.nonRetryable).toBe(true);
    expect(unknown.message).toContain("'nope'");
    expect(unknown.message).toContain('default, a, b');
    const both = await failureOf(ask({ profile: 'a', baseUrl: stranger.url }));
    expect(both.type).toBe('TeacherEndpointNotAllowed');
    for (const s of all()) expect(s.seen).toEqual([]);
  });

  it("does not follow a profile's redirect, so its key never reaches the host it points to", async () => {
    a.redirectTo = stranger.url;
    const failure = await failureOf(ask({ profile: 'a' }));
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toContain('307');
    expect(a.seen.length).toBe(1);
    expect(stranger.seen).toEqual([]);
  });

  it('fails a call on a misconfigured worker without sending anything', async () => {
    process.env.AGENTARK_TEACHERS = '{"a": {"baseUrl": "not a url"}}';
    const failure = await failureOf(ask({}));
    expect(failure.type).toBe('TeacherEndpointsMisconfigured');
    expect(failure.nonRetryable).toBe(true);
    for (const s of all()) expect(s.seen).toEqual([]);
  });
});

describe("the llm worker's teacher environment", () => {
  const load = (env: Record<string, string>) => () => loadTeacherEndpoints(env);

  it('names what is wrong in a bad environment', () => {
    expect(load({ AGENTARK_TEACHERS: '{"a": ' })).toThrow(/AGENTARK_TEACHERS: not valid JSON/);
    expect(load({ AGENTARK_TEACHERS: '{"a": {"baseUrl": "https://x.example/v1", "key": "sk-1"}}' })).toThrow(TeacherEndpointsError);
    expect(load({ AGENTARK_TEACHERS: '{"a": {"baseUrl": "https://x.example/v1", "apiKeyEnv": "UNSET_KEY"}}' })).toThrow(
      /AGENTARK_TEACHERS\.a: apiKeyEnv UNSET_KEY is not set/,
    );
    expect(load({ AGENTARK_TEACHERS: '{"default": {"baseUrl": "https://x.example/v1"}}' })).toThrow(/'default' is the worker's OPENAI_BASE_URL/);
    expect(load({ AGENTARK_TEACHERS: '{"a": {"baseUrl": "https://user:pw@x.example/v1"}}' })).toThrow(/AGENTARK_TEACHERS\.a: .* not an http\(s\) base URL/);
    expect(load({ AGENTARK_TEACHER_ALLOWLIST: 'https://ok.example, ftp://x.example' })).toThrow(/AGENTARK_TEACHER_ALLOWLIST: 'ftp:\/\/x.example'/);
    expect(load({ AGENTARK_TEACHERS: '/no/such/teachers.json' })).toThrow(/AGENTARK_TEACHERS: neither JSON nor a readable file/);
    expect(
      load({ OPENAI_BASE_URL: 'https://x.example/v1', K: 'k', AGENTARK_TEACHERS: '{"a": {"baseUrl": "https://x.example/v1/", "apiKeyEnv": "K"}}' }),
    ).toThrow(/profiles 'default' and 'a' share the base URL https:\/\/x.example\/v1 with different keys/);
  });

  it('reads profiles from a JSON file, the worker default first', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'agentark-teachers-')), 'teachers.json');
    fs.writeFileSync(file, JSON.stringify({ vllm: { baseUrl: 'http://vllm.internal:8000/v1', model: 'Qwen/Qwen3-8B' } }));
    const endpoints = loadTeacherEndpoints({ OPENAI_BASE_URL: 'http://127.0.0.1:8400/v1', AGENTARK_TEACHERS: file });
    expect([...endpoints.profiles.entries()]).toEqual([
      ['default', { profile: 'default', baseUrl: 'http://127.0.0.1:8400/v1' }],
      ['vllm', { profile: 'vllm', baseUrl: 'http://vllm.internal:8000/v1', model: 'Qwen/Qwen3-8B' }],
    ]);
  });

  it('refuses a run config naming both a profile and a base URL', () => {
    const parsed = RunConfig.safeParse({ runId: 'r', dataset: { format: 'demo' }, teacher: { profile: 'a', baseUrl: 'https://x.example/v1' } });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((i) => i.message)).toContain('name either teacher.profile or teacher.baseUrl, not both');
  });
});
