import OpenAI from 'openai';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { ChatChoice, ChatRequest, ChatResult } from '../../core/chat';
import { cacheKey, readCached, writeCached } from './cache';
import { DEFAULT_PROFILE, teacherEndpointFor, type TeacherEndpoint } from './endpoints';

/**
 * One chat-completion call to an OpenAI-compatible teacher. The SDK's own retries are off: Temporal
 * retries the activity, so every retry is visible in history and honours the server's Retry-After.
 * The endpoint and its key only ever come from this worker's environment (./endpoints.ts).
 */
export async function chatCompletion(input: ChatRequest): Promise<ChatResult> {
  const parsed = ChatRequest.safeParse(input);
  if (!parsed.success) {
    throw ApplicationFailure.nonRetryable(`invalid chat request: ${parsed.error.message}`, 'InvalidChatRequest');
  }
  const req = parsed.data;
  // Before the cache and before any request: a refused endpoint must not even be asked for its models.
  const endpoint = teacherEndpointFor(req);
  const baseURL = endpoint.baseUrl;
  const client = clientFor(endpoint);
  const model = req.model ?? endpoint.model ?? (await firstModel(client));
  const s = req.sampling;
  const key = cacheKey(model, req.messages, s);
  if (req.cache) {
    const hit = await readCached(req.store, key);
    if (hit) return hit;
  }
  let result: ChatResult;
  // Heartbeat while waiting on the teacher, so a killed worker's calls are retried within the
  // heartbeat timeout instead of the whole start-to-close timeout.
  const beat = setInterval(heartbeat, 5000);
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
      { signal: cancellationSignal() },
    );
    const choices: ChatChoice[] = [...res.choices]
      .sort((a, b) => a.index - b.index)
      .map((c) => {
        const content = c.message?.content ?? '';
        const finishReason: ChatChoice['finishReason'] =
          content.trim() === '' ? 'empty' : c.finish_reason === 'length' ? 'length' : c.finish_reason === 'stop' ? 'stop' : 'other';
        return { content, finishReason };
      });
    if (choices.length === 0) choices.push({ content: '', finishReason: 'empty' });
    result = {
      model: res.model ?? model,
      choices,
      usage: {
        promptTokens: res.usage?.prompt_tokens ?? 0,
        completionTokens: res.usage?.completion_tokens ?? 0,
        calls: 1,
      },
      cached: false,
    };
  } catch (err) {
    throw toFailure(err, baseURL);
  } finally {
    clearInterval(beat);
  }
  // Empty or cut-off replies are recorded as such (and cached: asking again would pay for the same reply).
  if (req.cache) await writeCached(req.store, key, result);
  return result;
}

/**
 * A client that sends the endpoint's own key and nothing else of the worker's: the SDK would read
 * OPENAI_API_KEY, OPENAI_ADMIN_KEY, OPENAI_ORG_ID, OPENAI_PROJECT_ID and OPENAI_CUSTOM_HEADERS from the
 * environment for any URL, and those belong to the default profile only. Redirects are not followed,
 * so a key cannot travel on to a host the server points at.
 */
function clientFor(endpoint: TeacherEndpoint): OpenAI {
  const isDefault = endpoint.profile === DEFAULT_PROFILE;
  const removed: Record<string, null> = {};
  if (!endpoint.apiKey) removed.Authorization = null;
  if (!isDefault) for (const name of customHeaderNames()) removed[name] = null;
  return new OpenAI({
    baseURL: endpoint.baseUrl,
    // The SDK refuses to start without a key; the placeholder is never sent (Authorization is removed).
    apiKey: endpoint.apiKey ?? 'no-key',
    adminAPIKey: null,
    ...(isDefault ? {} : { organization: null, project: null }),
    defaultHeaders: removed,
    fetchOptions: { redirect: 'manual' },
    maxRetries: 0,
    timeout: Number(process.env.AGENTARK_LLM_TIMEOUT_MS ?? 120_000),
  });
}

function customHeaderNames(): string[] {
  return (process.env.OPENAI_CUSTOM_HEADERS ?? '')
    .split('\n')
    .filter((line) => line.includes(':'))
    .map((line) => line.slice(0, line.indexOf(':')).trim())
    .filter((name) => name !== '');
}

const firstModels = new Map<string, string>();

async function firstModel(client: OpenAI): Promise<string> {
  const known = firstModels.get(client.baseURL);
  if (known) return known;
  try {
    const page = await client.models.list();
    const id = page.data[0]?.id;
    if (id) {
      firstModels.set(client.baseURL, id);
      return id;
    }
  } catch (err) {
    throw toFailure(err, client.baseURL);
  }
  throw ApplicationFailure.nonRetryable(`teacher at ${client.baseURL} lists no models; set the model in the run config`, 'NoTeacherModel');
}

function heartbeat(): void {
  try {
    Context.current().heartbeat();
  } catch {
    // outside an activity
  }
}

function cancellationSignal(): AbortSignal | undefined {
  try {
    return Context.current().cancellationSignal;
  } catch {
    return undefined; // called outside an activity (unit tests, CLI)
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
