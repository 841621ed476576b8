import { Runtime } from '@temporalio/worker';
import { serveMetrics } from '../activities/metrics';

/**
 * A worker process's Prometheus endpoints, each off unless its port is set, both on all interfaces
 * (a pod's scrape targets):
 * - AGENTARK_METRICS_PORT: GET /metrics, agentark_* and Node's process metrics (activities/metrics.ts);
 * - AGENTARK_SDK_METRICS_PORT: GET /metrics, the Temporal SDK's temporal_* (task slots, poll and
 *   schedule-to-start latencies, sticky cache), served by the SDK core itself, hence a port of its own.
 * The SDK's exporter is part of the Runtime, which can be installed only once and before the first
 * connection: start this first.
 */

export interface Telemetry {
  close(): Promise<void>;
}

export async function startTelemetry(env: NodeJS.ProcessEnv = process.env): Promise<Telemetry> {
  const sdkPort = portOf(env, 'AGENTARK_SDK_METRICS_PORT');
  const port = portOf(env, 'AGENTARK_METRICS_PORT');
  if (sdkPort !== undefined && sdkPort === port) throw new Error('AGENTARK_METRICS_PORT and AGENTARK_SDK_METRICS_PORT must differ');
  if (sdkPort !== undefined) Runtime.install({ telemetryOptions: { metrics: { prometheus: { bindAddress: `0.0.0.0:${sdkPort}` } } } });
  const server = port === undefined ? undefined : await serveMetrics(port);
  return { close: async () => server?.close() };
}

function portOf(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`${name} must be a TCP port (1-65535), got ${JSON.stringify(raw)}`);
  return port;
}
