import * as fs from 'node:fs';

/**
 * How every process (workers, CLI, tests) reaches Temporal, from the standard environment:
 * TEMPORAL_ADDRESS (default 127.0.0.1:7233, the local dev server), TEMPORAL_NAMESPACE (default
 * "default"), and for a cluster or Temporal Cloud either TEMPORAL_API_KEY, or mTLS through
 * TEMPORAL_TLS_CLIENT_CERT_PATH / TEMPORAL_TLS_CLIENT_KEY_PATH (optional TEMPORAL_TLS_SERVER_CA_CERT_PATH).
 */
export interface TemporalEnv {
  address: string;
  namespace: string;
  apiKey?: string;
  tls?: { clientCertPair?: { crt: Buffer; key: Buffer }; serverRootCACertificate?: Buffer } | true;
}

export function temporalEnv(env: NodeJS.ProcessEnv = process.env): TemporalEnv {
  const cert = env.TEMPORAL_TLS_CLIENT_CERT_PATH;
  const key = env.TEMPORAL_TLS_CLIENT_KEY_PATH;
  const ca = env.TEMPORAL_TLS_SERVER_CA_CERT_PATH;
  if ((cert && !key) || (!cert && key)) {
    throw new Error('set both TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH, or neither');
  }
  let tls: TemporalEnv['tls'];
  if (cert && key) {
    tls = {
      clientCertPair: { crt: fs.readFileSync(cert), key: fs.readFileSync(key) },
      ...(ca ? { serverRootCACertificate: fs.readFileSync(ca) } : {}),
    };
  } else if (env.TEMPORAL_API_KEY || env.TEMPORAL_TLS === 'true') {
    tls = true;
  }
  return {
    address: env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233',
    namespace: env.TEMPORAL_NAMESPACE ?? 'default',
    ...(env.TEMPORAL_API_KEY ? { apiKey: env.TEMPORAL_API_KEY } : {}),
    ...(tls ? { tls } : {}),
  };
}

/** Web UI link for a workflow, when the UI address is known (the dev server's by default). */
export function workflowUiUrl(workflowId: string, env: NodeJS.ProcessEnv = process.env): string {
  const base = env.TEMPORAL_UI_URL ?? `http://127.0.0.1:${env.AGENTARK_TEMPORAL_UI_PORT ?? 8233}`;
  const ns = env.TEMPORAL_NAMESPACE ?? 'default';
  return `${base}/namespaces/${encodeURIComponent(ns)}/workflows/${encodeURIComponent(workflowId)}`;
}
