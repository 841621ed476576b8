import { randomBytes } from 'node:crypto';
import { defaultPayloadConverter } from '@temporalio/common';
import { JSONToPayload, payloadToJSON, type JSONPayload } from '@temporalio/common/lib/proto-utils';
import { startCodecServer, type CodecServer } from '../../cli/codec-server';
import { AesGcmCodec, ENCRYPTED_ENCODING } from '../../workers/codec';

/** The codec server over HTTP as the Web UI calls it: CORS preflight, bearer token, proto3 JSON payloads. */

const uiOrigin = 'http://127.0.0.1:8233';
const token = 'test-token-3d9e';
const codec = new AesGcmCodec({ keys: new Map([['k1', randomBytes(32)]]), currentId: 'k1' });
const input = { runId: 'codec-server-run-51c2', question: 'private words' };

describe('agentark codec-server (HTTP, no services)', () => {
  let server: CodecServer;
  beforeAll(async () => {
    server = await startCodecServer({ codec, port: 0, host: '127.0.0.1', corsOrigins: [uiOrigin], authToken: token });
  });
  afterAll(async () => server?.close());

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Namespace': 'default', Origin: uiOrigin, Authorization: `Bearer ${token}`, ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  it("answers the browser's preflight for the Web UI origin, allowing X-Namespace and Authorization", async () => {
    const res = await fetch(`${server.url}/decode`, {
      method: 'OPTIONS',
      headers: { Origin: uiOrigin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type,x-namespace,authorization' },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(uiOrigin);
    expect(res.headers.get('access-control-allow-methods')).toContain('POST');
    const allowed = (res.headers.get('access-control-allow-headers') ?? '').toLowerCase().split(/,\s*/);
    expect(allowed).toEqual(expect.arrayContaining(['content-type', 'x-namespace', 'authorization']));
  });

  it('refuses the preflight of another origin and gives it no CORS header', async () => {
    const res = await fetch(`${server.url}/decode`, { method: 'OPTIONS', headers: { Origin: 'http://evil.example', 'Access-Control-Request-Method': 'POST' } });
    expect(res.status).toBe(403);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('encodes and decodes proto3 JSON payloads, with the CORS header on the reply', async () => {
    const plain = payloadToJSON(defaultPayloadConverter.toPayload(input));
    const encoded = await post('/encode', { payloads: [plain] });
    expect(encoded.status).toBe(200);
    expect(encoded.headers.get('access-control-allow-origin')).toBe(uiOrigin);
    const sealed = ((await encoded.json()) as { payloads: JSONPayload[] }).payloads;
    expect(Buffer.from(sealed[0].metadata!.encoding, 'base64').toString()).toBe(ENCRYPTED_ENCODING);
    expect(Buffer.from(sealed[0].data!, 'base64').toString('latin1')).not.toContain(input.runId);

    const decoded = await post('/decode', { payloads: sealed });
    expect(decoded.status).toBe(200);
    const opened = ((await decoded.json()) as { payloads: JSONPayload[] }).payloads;
    expect(defaultPayloadConverter.fromPayload(JSONToPayload(opened[0]))).toEqual(input);
  });

  it('requires the bearer token on POST', async () => {
    const plain = { payloads: [payloadToJSON(defaultPayloadConverter.toPayload(input))] };
    expect((await post('/decode', plain, { Authorization: '' })).status).toBe(401);
    expect((await post('/decode', plain, { Authorization: 'Bearer wrong-token-of-same' })).status).toBe(401);
    expect((await post('/decode', plain)).status).toBe(200);
  });

  it('says what is wrong with a bad request', async () => {
    const notJson = await post('/decode', '{');
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as { error: string }).error).toContain('not JSON');
    expect((await post('/decode', { nothing: [] })).status).toBe(400);
    expect((await post('/other', { payloads: [] })).status).toBe(404);

    const [sealed] = await new AesGcmCodec({ keys: new Map([['gone', randomBytes(32)]]), currentId: 'gone' }).encode([defaultPayloadConverter.toPayload(input)]);
    const unknownKey = await post('/decode', { payloads: [payloadToJSON(sealed)] });
    expect(unknownKey.status).toBe(422);
    expect(((await unknownKey.json()) as { error: string }).error).toContain('key id "gone"');
  });
});
