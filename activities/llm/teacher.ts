import OpenAI from 'openai';
import { ApplicationFailure } from '@temporalio/activity';
import { ChatChoice, ChatResult, type ChatMessage, type SamplingParams } from '../../core/chat';
import { splitThink } from '../../core/reasoning';
import { teacherCallTimeoutMs } from '../../core/teacher-timeouts';
import { teacherCacheHit, teacherCallStarted } from '../metrics';
import { cacheKey, readCached, writeCached } from './cache';
import { DEFAULT_PROFILE, teacherEndpointFor, type TeacherEndpoint } from './endpoints';
import type { CallLimiter } from './limiter';
import { rememberReply } from './replies';

/**
 * One call to an OpenAI-compatible teacher, cached: the reply (content, reasoning, finish reason,
 * usage, model) is written once to the store under a hash of everything that determines it, and
 * that key is what travels through workflow history. The SDK's own retries are off: Temporal retries
 * the activity, so every retry is visible and honours the server's Retry-After. The endpoint and its
 * key only ever come from this worker's environment (./endpoints.ts).
 */

export interface TeacherRequest {
  profile?: string;
  baseUrl?: string;
  model?: string;
  messages: ChatMessage[];
  sampling: SamplingParams;
  tag?: string;
  cache: boolean;
  store?: string;
  /** Replaces the endpoint's host as the cache namespace (teacher.cacheNamespace). */
  cacheNamespace?: string;
}

export interface TeacherCall {
  /** Where the reply is stored (its cache entry): the small thing the workflow keeps. */
  key: string;
  result: ChatResult;
}

export interface TeacherContext {
  limiter: CallLimiter;
  signal?: AbortSignal;
  /** Called after each call the teacher answered (not for cache hits). */
  onCall?: () => void;
}

/** The endpoint and model a request resolves to, before anything is sent. */
export async function resolveModel(req: Pick<TeacherRequest, 'profile' | 'baseUrl' | 'model'>): Promise<{ endpoint: TeacherEndpoint; client: OpenAI; model: string }> {
  // Before the cache and before any request: a refused endpoint must not even be asked for its models.
  const endpoint = teacherEndpointFor(req);
  const client = clientFor(endpoint);
  const model = req.model ?? endpoint.model ?? (await firstModel(client));
  return { endpoint, client, model };
}

export async function callTeacher(req: TeacherRequest, ctx: TeacherContext): Promise<TeacherCall> {
  const { endpoint, client, model } = await resolveModel(req);
  const s = req.sampling;
  const key = cacheKey(req.cacheNamespace ?? namespaceOf(endpoint.baseUrl), model, req.messages, s);
  if (req.cache) {
    const hit = await readCached(req.store, key, req.tag);
    if (hit) {
      teacherCacheHit(endpoint.baseUrl, model);
      return { key, result: hit };
    }
  }
  const result = await ctx.limiter.run(endpoint.baseUrl, async () => {
    const metrics = teacherCallStarted(endpoint.baseUrl, model);
    try {
      const res = await client.chat.completions.create(
        {
          model,
          messages: req.messages,
          temperature: s.temperature,
          top_p: s.topP,
          max_tokens: s.maxTokens,
          n: s.n,
          ...(s.seed !== undefined ? { seed: s.seed } : {}),
          ...(s.stop ? { stop: s.stop } : {}),
          ...(s.json ? { response_format: { type: 'json_object' as const } } : {}),
          ...(req.tag ? { user: req.tag } : {}),
        },
        { signal: ctx.signal, timeout: Number(process.env.AGENTARK_LLM_TIMEOUT_MS ?? teacherCallTimeoutMs(s.maxTokens)) },
      );
      const reply = toResult(res, model);
      metrics.answered(res.usage);
      return reply;
    } catch (err) {
      const failure = toFailure(err, endpoint.baseUrl);
      metrics.failed(failure.type);
      if (failure.type === 'LlmRateLimited' && failure.nextRetryDelay !== undefined) ctx.limiter.pause(endpoint.baseUrl, msOf(failure.nextRetryDelay));
      throw failure;
    }
  });
  ctx.onCall?.();
  // Empty or cut-off replies are recorded as such (and cached: asking again would pay for the same reply).
  if (req.cache) await writeCached(req.store, key, result, req.tag);
  rememberReply(req.store, key, { ...result, ...(req.tag ? { paidBy: req.tag } : {}) } as ChatResult);
  return { key, result };
}

/** The cache namespace of an endpoint: its host, so replies of two servers never mix. */
export const namespaceOf = (baseUrl: string): string => new URL(baseUrl).host;

function toResult(res: OpenAI.Chat.Completions.ChatCompletion, model: string): ChatResult {
  const choices: ChatChoice[] = [...res.choices]
    .sort((a, b) => a.index - b.index)
    .map((c) => {
      const message = (c.message ?? {}) as { content?: string | null; reasoning_content?: string | null; reasoning?: string | null };
      const split = splitThink(message.content ?? '');
      const reasoning = message.reasoning_content || message.reasoning || split.reasoning;
      const finishReason: ChatChoice['finishReason'] =
        c.finish_reason === 'length' ? 'length' : split.content.trim() === '' ? 'empty' : c.finish_reason === 'stop' ? 'stop' : 'other';
      return { content: split.content, ...(reasoning ? { reasoning } : {}), finishReason };
    });
  if (choices.length === 0) choices.push({ content: '', finishReason: 'empty' });
  return {
    model: res.model ?? model,
    choices,
    usage: { promptTokens: res.usage?.prompt_tokens ?? 0, completionTokens: res.usage?.completion_tokens ?? 0, calls: 1 },
    cached: false,
  };
}

/**
 * A client that sends the endpoint's own key and nothing else of the worker's: the SDK would read
 * OPENAI_API_KEY, OPENAI_ADMIN_KEY, OPENAI_ORG_ID, OPENAI_PROJECT_ID and OPENAI_CUSTOM_HEADERS from the
 * environment for any URL, and those belong to the default profile only. Redirects are not followed,
 * so a key cannot travel on to a host the server points at. One client per endpoint (its connection pool).
 */
const clients = new Map<string, OpenAI>();

function clientFor(endpoint: TeacherEndpoint): OpenAI {
  const id = JSON.stringify([endpoint.profile, endpoint.baseUrl, endpoint.apiKey, process.env.OPENAI_CUSTOM_HEADERS]);
  const known = clients.get(id);
  if (known) return known;
  const isDefault = endpoint.profile === DEFAULT_PROFILE;
  const removed: Record<string, null> = {};
  if (!endpoint.apiKey) removed.Authorization = null;
  if (!isDefault) for (const name of customHeaderNames()) removed[name] = null;
  const client = new OpenAI({
    baseURL: endpoint.baseUrl,
    // The SDK refuses to start without a key; the placeholder is never sent (Authorization is removed).
    apiKey: endpoint.apiKey ?? 'no-key',
    adminAPIKey: null,
    ...(isDefault ? {} : { organization: null, project: null }),
    defaultHeaders: removed,
    fetchOptions: { redirect: 'manual' },
    maxRetries: 0,
  });
  clients.set(id, client);
  return client;
}

function customHeaderNames(): string[] {
  return (process.env.OPENAI_CUSTOM_HEADERS ?? '')
    .split('\n')
    .filter((line) => line.includes(':'))
    .map((line) => line.slice(0, line.indexOf(':')).trim())
    .filter((name) => name !== '');
}

const models = new Map<string, { id: string; maxModelLen?: number }[]>();

async function listModels(client: OpenAI): Promise<{ id: string; maxModelLen?: number }[]> {
  const known = models.get(client.baseURL);
  if (known) return known;
  try {
    const page = await client.models.list();
    const list = page.data.map((m) => {
      const len = (m as { max_model_len?: unknown }).max_model_len;
      return { id: m.id, ...(typeof len === 'number' && len > 0 ? { maxModelLen: len } : {}) };
    });
    models.set(client.baseURL, list);
    return list;
  } catch (err) {
    throw toFailure(err, client.baseURL);
  }
}

async function firstModel(client: OpenAI): Promise<string> {
  const id = (await listModels(client))[0]?.id;
  if (id) return id;
  models.delete(client.baseURL);
  throw ApplicationFailure.nonRetryable(`teacher at ${client.baseURL} lists no models; set the model in the run config`, 'NoTeacherModel');
}

/** The context the server reports for a model (vLLM's and SGLang's max_model_len); undefined when it reports none. */
export async function reportedContextWindow(req: Pick<TeacherRequest, 'profile' | 'baseUrl' | 'model'>): Promise<number | undefined> {
  const { client, model } = await resolveModel(req);
  try {
    return (await listModels(client)).find((m) => m.id === model)?.maxModelLen;
  } catch {
    return undefined; // a server without /models still answers chats
  }
}

/**
 * 429, 5xx, timeouts and connection errors are retryable (the teacher is busy or restarting);
 * any other 4xx is the request's fault and retrying would pay again for the same error.
 */
export function toFailure(err: unknown, baseURL: string): ApplicationFailure {
  if (err instanceof OpenAI.APIConnectionError) {
    const timeout = err instanceof OpenAI.APIConnectionTimeoutError;
    return ApplicationFailure.retryable(`${timeout ? 'timeout' : 'connection error'} calling ${baseURL}: ${err.message}`, timeout ? 'LlmTimeout' : 'LlmConnection');
  }
  if (err instanceof OpenAI.APIError && typeof err.status === 'number') {
    const status = err.status;
    const message = `teacher at ${baseURL} answered ${status}: ${err.message}`;
    if (status === 429 || status >= 500 || status === 408) {
      const retryAfterMs = retryAfter(err.headers);
      return ApplicationFailure.create({
        message,
        type: status === 429 ? 'LlmRateLimited' : 'LlmServerError',
        nonRetryable: false,
        ...(retryAfterMs !== undefined ? { nextRetryDelay: retryAfterMs } : {}),
      });
    }
    return ApplicationFailure.nonRetryable(message, 'LlmBadRequest');
  }
  if (err instanceof ApplicationFailure) return err;
  return ApplicationFailure.retryable(`calling ${baseURL}: ${(err as Error)?.message ?? String(err)}`, 'LlmUnknownError');
}

const msOf = (d: unknown): number => (typeof d === 'number' ? d : 1000);

/** Retry-After is seconds or an HTTP date; also accept the retry-after-ms header some servers send. */
export function retryAfter(headers: Headers | Record<string, string> | undefined): number | undefined {
  if (!headers) return undefined;
  const get = (k: string): string | null | undefined =>
    headers instanceof Headers ? headers.get(k) : (headers as Record<string, string>)[k];
  const ms = Number(get('retry-after-ms'));
  if (Number.isFinite(ms) && ms > 0) return ms;
  const raw = get('retry-after');
  if (!raw) return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(raw);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}
