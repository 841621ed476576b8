import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { METADATA_ENCODING_KEY, ValueError, type DataConverter, type Payload, type PayloadCodec } from '@temporalio/common';
import { decode as utf8Decode, encode as utf8Encode } from '@temporalio/common/lib/encoding';
import { temporal } from '@temporalio/proto';

/**
 * Payload encryption: every payload a client or worker sends through Temporal (workflow and activity
 * inputs, results, signals, heartbeats, failures' details) is sealed with AES-256-GCM, so the Temporal
 * server, its database and its Web UI hold only ciphertext. The whole original payload (metadata and
 * data) is serialised with the SDK's protobuf type and encrypted under a fresh 12-byte IV; the sealed
 * payload names its encoding and the id of its key, so keys can rotate.
 *
 * Environment: AGENTARK_CODEC_KEYS, comma-separated `id:base64key` (32-byte keys: `openssl rand -base64 32`);
 * AGENTARK_CODEC_KEY_ID, the id that new payloads are encrypted with. Payloads under any listed id decode.
 * Both unset (or empty): no codec, plain JSON payloads.
 */

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
const KEYS_VAR = 'AGENTARK_CODEC_KEYS';
const KEY_ID_VAR = 'AGENTARK_CODEC_KEY_ID';
const CIPHER = 'aes-256-gcm';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface CodecKeys {
  /** Every key that may decrypt, by id. */
  keys: Map<string, Buffer>;
  /** The id new payloads are encrypted with; always a key of `keys`. */
  currentId: string;
}

/** AES-256-GCM over whole payloads; payloads not encrypted by it pass through decode unchanged. */
export class AesGcmCodec implements PayloadCodec {
  constructor(private readonly keys: CodecKeys) {}

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const { currentId } = this.keys;
    return payloads.map((payload) => ({
      metadata: { [METADATA_ENCODING_KEY]: utf8Encode(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: utf8Encode(currentId) },
      data: seal(temporal.api.common.v1.Payload.encode(payload).finish(), this.keyOf(currentId)),
    }));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const encoding = payload.metadata?.[METADATA_ENCODING_KEY];
      if (!encoding || utf8Decode(encoding) !== ENCRYPTED_ENCODING) return payload;
      const idBytes = payload.metadata?.[KEY_ID_METADATA];
      if (!idBytes) throw new ValueError(`an encrypted payload has no "${KEY_ID_METADATA}" metadata`);
      const keyId = utf8Decode(idBytes);
      const opened = open(payload.data ?? new Uint8Array(), this.keyOf(keyId), keyId);
      return temporal.api.common.v1.Payload.decode(opened);
    });
  }

  private keyOf(id: string): Buffer {
    const key = this.keys.keys.get(id);
    if (!key) {
      throw new ValueError(`payload encrypted under key id "${id}", which ${KEYS_VAR} does not list (it has ${[...this.keys.keys.keys()].join(', ')})`);
    }
    return key;
  }
}

/** iv | ciphertext | tag */
function seal(plain: Uint8Array, key: Buffer): Uint8Array {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv(CIPHER, key, iv, { authTagLength: TAG_BYTES });
  return Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
}

function open(sealed: Uint8Array, key: Buffer, keyId: string): Uint8Array {
  const bytes = Buffer.from(sealed);
  if (bytes.length < IV_BYTES + TAG_BYTES) throw new ValueError(`an encrypted payload (key id "${keyId}") is too short: ${bytes.length} bytes`);
  const decipher = createDecipheriv(CIPHER, key, bytes.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
  decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)), decipher.final()]);
  } catch {
    throw new ValueError(`an encrypted payload (key id "${keyId}") fails authentication: it was altered, or key "${keyId}" is not the one it was sealed with`);
  }
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The codec keys from the environment; undefined when encryption is off. Throws naming the variable on a bad value. */
export function codecKeysFromEnv(env: NodeJS.ProcessEnv = process.env): CodecKeys | undefined {
  const list = (env[KEYS_VAR] ?? '').trim();
  const currentId = (env[KEY_ID_VAR] ?? '').trim();
  if (list === '') {
    if (currentId !== '') throw new Error(`${KEY_ID_VAR} is set but ${KEYS_VAR} is empty: set both (payload encryption) or neither`);
    return undefined;
  }
  const keys = new Map<string, Buffer>();
  for (const entry of list.split(',').map((s) => s.trim())) {
    const colon = entry.indexOf(':');
    const id = colon > 0 ? entry.slice(0, colon).trim() : '';
    if (id === '') throw new Error(`${KEYS_VAR}: entry ${keys.size + 1} is not "id:base64key"`);
    const b64 = entry.slice(colon + 1).trim();
    if (keys.has(id)) throw new Error(`${KEYS_VAR}: key id "${id}" is listed twice`);
    if (!BASE64.test(b64)) throw new Error(`${KEYS_VAR}: key "${id}" is not valid base64`);
    const key = Buffer.from(b64, 'base64');
    if (key.length !== KEY_BYTES) {
      throw new Error(`${KEYS_VAR}: key "${id}" is ${key.length} bytes; AES-256 needs ${KEY_BYTES} (make one with \`openssl rand -base64 32\`)`);
    }
    keys.set(id, key);
  }
  if (!keys.has(currentId)) {
    throw new Error(`${KEY_ID_VAR} must be one of the ids in ${KEYS_VAR} (${[...keys.keys()].join(', ')}), got ${JSON.stringify(currentId)}`);
  }
  return { keys, currentId };
}

/** The codec of the environment, or undefined when encryption is off. */
export function codecFromEnv(env: NodeJS.ProcessEnv = process.env): AesGcmCodec | undefined {
  const keys = codecKeysFromEnv(env);
  return keys ? new AesGcmCodec(keys) : undefined;
}

/** The DataConverter every Client and Worker of this project uses: encrypting when the codec keys are set. */
export function dataConverter(env: NodeJS.ProcessEnv = process.env): DataConverter {
  const codec = codecFromEnv(env);
  return codec ? { payloadCodecs: [codec] } : {};
}
