import { loadClientConfigProfile, toClientOptions } from '@temporalio/envconfig';
import type { NativeConnectionOptions } from '@temporalio/worker';

/**
 * How every process (workers, CLI, tests) reaches Temporal: the SDK's environment configuration
 * (@temporalio/envconfig), so the variables and the config file are those of the Temporal CLI and the
 * other SDKs. A profile from temporal.toml (TEMPORAL_CONFIG_FILE, else ~/.config/temporalio/temporal.toml;
 * TEMPORAL_PROFILE, else "default"), overridden by TEMPORAL_ADDRESS (default 127.0.0.1:7233, the local
 * dev server), TEMPORAL_NAMESPACE (default "default"), TEMPORAL_API_KEY (turns TLS on), TEMPORAL_TLS,
 * TEMPORAL_TLS_CLIENT_CERT_PATH / TEMPORAL_TLS_CLIENT_KEY_PATH (mTLS), TEMPORAL_TLS_SERVER_CA_CERT_PATH,
 * their *_DATA forms, TEMPORAL_TLS_SERVER_NAME and TEMPORAL_GRPC_META_<HEADER>.
 */
export interface TemporalEnv {
  address: string;
  namespace: string;
  /** For NativeConnection.connect and Connection.connect. */
  connection: Pick<NativeConnectionOptions, 'tls' | 'apiKey' | 'metadata'> & { address: string };
}

export function temporalEnv(env: NodeJS.ProcessEnv = process.env): TemporalEnv {
  const profile = loadProfile(env);
  const { clientCert, clientKey } = profile.tls ?? {};
  if ((clientCert && !clientKey) || (!clientCert && clientKey)) {
    throw new Error("set both TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH (or the profile's tls.client_cert_path and tls.client_key_path), or neither");
  }
  const { namespace, connectionOptions: { tls, apiKey, metadata } } = toClientOptions(profile);
  const address = profile.address ?? '127.0.0.1:7233';
  return {
    address,
    namespace: namespace ?? 'default',
    connection: { address, ...(tls !== undefined ? { tls } : {}), ...(apiKey ? { apiKey } : {}), ...(metadata ? { metadata } : {}) },
  };
}

function loadProfile(env: NodeJS.ProcessEnv): ReturnType<typeof loadClientConfigProfile> {
  const vars = Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
  return loadClientConfigProfile({ overrideEnvVars: vars });
}

/** Web UI link for a workflow, when the UI address is known (the dev server's by default). */
export function workflowUiUrl(workflowId: string, env: NodeJS.ProcessEnv = process.env): string {
  const base = env.TEMPORAL_UI_URL ?? `http://127.0.0.1:${env.AGENTARK_TEMPORAL_UI_PORT ?? 8233}`;
  const ns = loadProfile(env).namespace ?? 'default';
  return `${base}/namespaces/${encodeURIComponent(ns)}/workflows/${encodeURIComponent(workflowId)}`;
}
