import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Command } from 'commander';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { JSONToPayload, payloadToJSON, type JSONPayload } from '@temporalio/common/lib/proto-utils';
import { codecFromEnv } from '../workers/codec';

/**
 * `agentark codec-server`: the remote codec endpoint of the Temporal Web UI (and of `temporal
 * --codec-endpoint`). POST /decode and POST /encode take and return `{"payloads": [...]}` in proto3 JSON
 * (base64 `data` and `metadata` values), through the codec of this environment (workers/codec.ts), so
 * a browser shows encrypted payloads decoded while the Temporal server keeps only ciphertext.
 */

const MAX_BODY_BYTES = 64 * 1024 * 1024;
const uiPort = process.env.AGENTARK_TEMPORAL_UI_PORT ?? '8233';
/** The local dev server's Web UI, by both of the names a browser may reach it under. */
export const DEFAULT_CORS_ORIGINS = [`http://127.0.0.1:${uiPort}`, `http://localhost:${uiPort}`];

export interface CodecServerOptions {
  codec: PayloadCodec;
  port: number;
  host: string;
  /** Browser origins allowed to call the endpoint (the Web UI's). */
  corsOrigins: string[];
  /** When set, every POST must carry `Authorization: Bearer <token>`. */
  authToken?: string;
}

export interface CodecServer {
  url: string;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export async function startCodecServer(opts: CodecServerOptions): Promise<CodecServer> {
  const server: Server = createServer((req, res) => {
    handle(opts, req, res).catch((err: unknown) => {
      const status = err instanceof HttpError ? err.status : 500;
      if (status === 500) console.error('codec-server:', err);
      reply(res, status, { error: (err as Error).message });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${opts.host}:${port}`,
    close: () => new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve()))),
  };
}

async function handle(opts: CodecServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const origin = req.headers.origin;
  if (origin !== undefined && opts.corsOrigins.includes(origin)) {
    res.setHeader('Access-Control-Allow-Origin', origin);
    res.setHeader('Vary', 'Origin');
  }
  const path = new URL(req.url ?? '/', 'http://codec').pathname.replace(/\/+$/, '');
  const codecCall = path === '/decode' ? 'decode' : path === '/encode' ? 'encode' : undefined;
  if (req.method === 'OPTIONS') {
    if (origin === undefined || !opts.corsOrigins.includes(origin)) throw new HttpError(403, `origin ${origin ?? '(none)'} is not allowed (--cors-origin)`);
    res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
    res.setHeader('Access-Control-Allow-Headers', 'Content-Type, X-Namespace, Authorization, Authorization-Extras');
    res.setHeader('Access-Control-Max-Age', '600');
    res.writeHead(204).end();
    return;
  }
  if (!codecCall) throw new HttpError(404, 'POST /decode or POST /encode');
  if (req.method !== 'POST') throw new HttpError(405, `${req.method} ${path}: only POST`);
  if (opts.authToken !== undefined && !bearerMatches(req.headers.authorization, opts.authToken)) {
    throw new HttpError(401, 'missing or wrong Authorization: Bearer token');
  }
  const payloads = parseBody(await readBody(req));
  let out: Payload[];
  try {
    out = await opts.codec[codecCall](payloads);
  } catch (err) {
    throw new HttpError(422, `${codecCall}: ${(err as Error).message}`);
  }
  reply(res, 200, { payloads: out.map(payloadToJSON) });
}

function bearerMatches(header: string | undefined, token: string): boolean {
  const given = Buffer.from(header ?? '');
  const wanted = Buffer.from(`Bearer ${token}`);
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `request body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseBody(text: string): Payload[] {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new HttpError(400, 'the body is not JSON: send {"payloads": [...]}');
  }
  const payloads = (body as { payloads?: unknown } | null)?.payloads;
  if (!Array.isArray(payloads)) throw new HttpError(400, 'the body has no "payloads" array');
  return payloads.map((p: unknown, i) => {
    try {
      return JSONToPayload(p as JSONPayload);
    } catch (err) {
      throw new HttpError(400, `payloads[${i}] is not a proto3 JSON Payload: ${(err as Error).message}`);
    }
  });
}

function reply(res: ServerResponse, status: number, body: object): void {
  if (res.headersSent) return void res.end();
  res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
}

interface Flags {
  port: number;
  host: string;
  corsOrigin?: string[];
  authToken?: string;
}

export function registerCodecServer(program: Command): void {
  program
    .command('codec-server')
    .description("serve the Web UI's remote codec endpoint (POST /decode, /encode) with this environment's AGENTARK_CODEC_KEYS")
    .option('--port <n>', 'port to listen on', Number, 8888)
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('--cors-origin <origin...>', `browser origins allowed (the Web UI's; default ${DEFAULT_CORS_ORIGINS.join(' ')})`)
    .option('--auth-token <token>', 'require Authorization: Bearer <token> (default AGENTARK_CODEC_SERVER_TOKEN; none when unset)')
    .action(async (flags: Flags) => {
      const codec = codecFromEnv();
      if (!codec) throw new Error('agentark codec-server needs AGENTARK_CODEC_KEYS and AGENTARK_CODEC_KEY_ID (the keys the workers use)');
      const authToken = flags.authToken ?? (process.env.AGENTARK_CODEC_SERVER_TOKEN || undefined);
      const corsOrigins = flags.corsOrigin ?? DEFAULT_CORS_ORIGINS;
      const server = await startCodecServer({ codec, port: flags.port, host: flags.host, corsOrigins, ...(authToken ? { authToken } : {}) });
      console.log(`codec server listening on ${server.url} (CORS: ${corsOrigins.join(', ')}; ${authToken ? 'bearer token required' : 'no token'})`);
      await new Promise<void>((resolve) => {
        for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => resolve());
      });
      await server.close();
    });
}
