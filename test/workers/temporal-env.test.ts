import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { temporalEnv, workflowUiUrl } from '../../workers/temporal-env';

/**
 * The Temporal connection settings, from the SDK's environment configuration: the variables that
 * worked before keep working, and a temporal.toml profile works as it does for the Temporal CLI.
 */

const dir = mkdtempSync(path.join(tmpdir(), 'agentark-temporal-env-'));
const file = (name: string, text: string): string => {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
};
// No developer's ~/.config/temporalio/temporal.toml: a missing config file is no config file.
const env = (vars: Record<string, string>): NodeJS.ProcessEnv => ({ TEMPORAL_CONFIG_FILE: path.join(dir, 'none.toml'), ...vars });

describe('temporalEnv (environment variables and temporal.toml profiles)', () => {
  it('defaults to the local dev server, namespace "default", no TLS and no key', () => {
    expect(temporalEnv(env({}))).toEqual({ address: '127.0.0.1:7233', namespace: 'default', connection: { address: '127.0.0.1:7233' } });
  });

  it('takes TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE; an API key turns TLS on; TEMPORAL_TLS=true alone too', () => {
    const cloud = temporalEnv(env({ TEMPORAL_ADDRESS: 'ns.a1b2c.tmprl.cloud:7233', TEMPORAL_NAMESPACE: 'ns.a1b2c', TEMPORAL_API_KEY: 'key-1' }));
    expect(cloud.address).toBe('ns.a1b2c.tmprl.cloud:7233');
    expect(cloud.namespace).toBe('ns.a1b2c');
    expect(cloud.connection).toEqual({ address: 'ns.a1b2c.tmprl.cloud:7233', apiKey: 'key-1', tls: true });
    expect(temporalEnv(env({ TEMPORAL_TLS: 'true' })).connection.tls).toBeTruthy();
    expect(temporalEnv(env({ TEMPORAL_TLS: 'false' })).connection.tls).toBe(false);
  });

  it('reads the mTLS pair and the server CA from TEMPORAL_TLS_*_PATH, and wants both halves of the pair', () => {
    const crt = file('client.pem', 'CERT');
    const key = file('client.key', 'KEY');
    const ca = file('ca.pem', 'CA');
    const tls = temporalEnv(env({ TEMPORAL_TLS_CLIENT_CERT_PATH: crt, TEMPORAL_TLS_CLIENT_KEY_PATH: key, TEMPORAL_TLS_SERVER_CA_CERT_PATH: ca })).connection.tls;
    if (typeof tls !== 'object' || tls === null) throw new Error(`expected a TLS config, got ${String(tls)}`);
    expect(Buffer.from(tls.clientCertPair!.crt).toString()).toBe('CERT');
    expect(Buffer.from(tls.clientCertPair!.key).toString()).toBe('KEY');
    expect(Buffer.from(tls.serverRootCACertificate!).toString()).toBe('CA');
    expect(() => temporalEnv(env({ TEMPORAL_TLS_CLIENT_CERT_PATH: crt }))).toThrow(/set both TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH/);
    expect(() => temporalEnv(env({ TEMPORAL_TLS_CLIENT_KEY_PATH: key }))).toThrow(/set both/);
  });

  it('loads the TEMPORAL_PROFILE profile of TEMPORAL_CONFIG_FILE, the variables over it; an unknown profile is an error', () => {
    const config = file('temporal.toml', [
      '[profile.default]', 'address = "temporal.local:7233"', '',
      '[profile.staging]', 'address = "temporal.staging:7233"', 'namespace = "distill"', 'api_key = "from-file"', '',
      '[profile.staging.grpc_meta]', 'team = "agentark"', '',
    ].join('\n'));
    expect(temporalEnv({ TEMPORAL_CONFIG_FILE: config }).address).toBe('temporal.local:7233');
    const staging = temporalEnv({ TEMPORAL_CONFIG_FILE: config, TEMPORAL_PROFILE: 'staging' });
    expect(staging).toEqual({
      address: 'temporal.staging:7233',
      namespace: 'distill',
      connection: { address: 'temporal.staging:7233', apiKey: 'from-file', tls: true, metadata: { team: 'agentark' } },
    });
    const overridden = temporalEnv({ TEMPORAL_CONFIG_FILE: config, TEMPORAL_PROFILE: 'staging', TEMPORAL_NAMESPACE: 'other', TEMPORAL_API_KEY: 'from-env' });
    expect([overridden.namespace, overridden.connection.apiKey]).toEqual(['other', 'from-env']);
    expect(workflowUiUrl('wf-1', { TEMPORAL_CONFIG_FILE: config, TEMPORAL_PROFILE: 'staging' })).toBe('http://127.0.0.1:8233/namespaces/distill/workflows/wf-1');
    expect(() => temporalEnv({ TEMPORAL_CONFIG_FILE: config, TEMPORAL_PROFILE: 'prod' })).toThrow(/Profile 'prod' not found/);
  });
});
