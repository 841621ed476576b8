import { randomBytes } from 'node:crypto';
import { defaultPayloadConverter, METADATA_ENCODING_KEY, type Payload } from '@temporalio/common';
import { decode as utf8Decode } from '@temporalio/common/lib/encoding';
import { AesGcmCodec, codecFromEnv, codecKeysFromEnv, dataConverter, ENCRYPTED_ENCODING, KEY_ID_METADATA } from '../../workers/codec';

/** The payload codec alone (no services): what the Temporal server would store, and what comes back. */

const keyA = randomBytes(32).toString('base64');
const keyB = randomBytes(32).toString('base64');
const envOf = (keys: string, id: string): NodeJS.ProcessEnv => ({ AGENTARK_CODEC_KEYS: keys, AGENTARK_CODEC_KEY_ID: id });
const codecOf = (keys: string, id: string): AesGcmCodec => {
  const codec = codecFromEnv(envOf(keys, id));
  if (!codec) throw new Error('no codec from a non-empty AGENTARK_CODEC_KEYS');
  return codec;
};
const text = (bytes: Uint8Array | null | undefined): string => Buffer.from(bytes ?? []).toString('latin1');
const meta = (p: Payload, key: string): string | undefined => (p.metadata?.[key] ? utf8Decode(p.metadata[key]) : undefined);

const input = { runId: 'secret-run-7f3a', dataset: { url: 's3://private-bucket/prompts.jsonl' }, note: 'ünïcode' };
const plain = (): Payload[] => [defaultPayloadConverter.toPayload(input), defaultPayloadConverter.toPayload(null)];

describe('AES-256-GCM payload codec', () => {
  it('round-trips payloads, metadata included, and leaves no plaintext in what it sends', async () => {
    const codec = codecOf(`a:${keyA}`, 'a');
    const originals = plain();
    const sealed = await codec.encode(originals);
    expect(sealed).toHaveLength(2);
    for (const p of sealed) {
      expect(meta(p, METADATA_ENCODING_KEY)).toBe(ENCRYPTED_ENCODING);
      expect(meta(p, KEY_ID_METADATA)).toBe('a');
      expect(text(p.data)).not.toContain('secret-run-7f3a');
      expect(text(p.data)).not.toContain('json/plain');
    }
    const opened = await codec.decode(sealed);
    expect(opened.map((p) => defaultPayloadConverter.fromPayload(p))).toEqual([input, null]);
    expect(meta(opened[0], METADATA_ENCODING_KEY)).toBe('json/plain');
  });

  it('uses a fresh IV per payload: the same payload twice gives two ciphertexts', async () => {
    const codec = codecOf(`a:${keyA}`, 'a');
    const [one, two] = await codec.encode([plain()[0], plain()[0]]);
    expect(text(one.data)).not.toBe(text(two.data));
  });

  it('passes payloads that are not encrypted through decode unchanged', async () => {
    const codec = codecOf(`a:${keyA}`, 'a');
    const originals = plain();
    expect(await codec.decode(originals)).toEqual(originals);
  });

  it('refuses a tampered ciphertext', async () => {
    const codec = codecOf(`a:${keyA}`, 'a');
    const [sealed] = await codec.encode([plain()[0]]);
    const data = Buffer.from(sealed.data!);
    data[20] ^= 0x01;
    await expect(codec.decode([{ ...sealed, data }])).rejects.toThrow(/key id "a"\) fails authentication/);
  });

  it('refuses a payload sealed with another key under the same id', async () => {
    const [sealed] = await codecOf(`a:${keyA}`, 'a').encode([plain()[0]]);
    await expect(codecOf(`a:${keyB}`, 'a').decode([sealed])).rejects.toThrow(/fails authentication/);
  });

  it('rotates: new payloads use the current id, old ones decode while their key is listed, and fail naming it after', async () => {
    const [underA] = await codecOf(`a:${keyA}`, 'a').encode([plain()[0]]);

    const rotated = codecOf(`a:${keyA},b:${keyB}`, 'b');
    const [underB] = await rotated.encode([plain()[0]]);
    expect(meta(underB, KEY_ID_METADATA)).toBe('b');
    expect((await rotated.decode([underA, underB])).map((p) => defaultPayloadConverter.fromPayload(p))).toEqual([input, input]);

    const retired = codecOf(`b:${keyB}`, 'b');
    expect(defaultPayloadConverter.fromPayload((await retired.decode([underB]))[0])).toEqual(input);
    await expect(retired.decode([underA])).rejects.toThrow(/key id "a", which AGENTARK_CODEC_KEYS does not list/);
  });
});

describe('codec keys from the environment', () => {
  it('turns encryption off when both variables are unset or empty', () => {
    expect(codecKeysFromEnv({})).toBeUndefined();
    expect(codecKeysFromEnv(envOf(' ', ''))).toBeUndefined();
    expect(dataConverter({}).payloadCodecs).toBeUndefined();
    expect(dataConverter(envOf(`a:${keyA}`, 'a')).payloadCodecs).toHaveLength(1);
  });

  it.each([
    ['a key id without keys', envOf('', 'a'), /AGENTARK_CODEC_KEY_ID is set but AGENTARK_CODEC_KEYS is empty/],
    ['a 16-byte key', envOf(`a:${randomBytes(16).toString('base64')}`, 'a'), /AGENTARK_CODEC_KEYS: key "a" is 16 bytes; AES-256 needs 32/],
    ['bad base64', envOf('a:not*base64!', 'a'), /AGENTARK_CODEC_KEYS: key "a" is not valid base64/],
    ['an entry without an id', envOf(keyA, 'a'), /AGENTARK_CODEC_KEYS: entry 1 is not "id:base64key"/],
    ['an id listed twice', envOf(`a:${keyA},a:${keyB}`, 'a'), /AGENTARK_CODEC_KEYS: key id "a" is listed twice/],
    ['a current id not listed', envOf(`a:${keyA},b:${keyB}`, 'c'), /AGENTARK_CODEC_KEY_ID must be one of the ids in AGENTARK_CODEC_KEYS \(a, b\), got "c"/],
    ['keys without a current id', envOf(`a:${keyA}`, ''), /AGENTARK_CODEC_KEY_ID must be one of the ids/],
  ])('refuses %s, naming the variable', (_what, env, message) => {
    expect(() => codecKeysFromEnv(env)).toThrow(message);
  });
});
