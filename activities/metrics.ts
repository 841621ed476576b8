import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

/**
 * This process's own Prometheus metrics (prom-client): the llm worker's teacher calls, tokens, latency,
 * errors and cache hits, answer checks, the gpu worker's training steps and tokens, and Node's process metrics. The
 * worker serves them on /metrics when AGENTARK_METRICS_PORT is set (workers/telemetry.ts); the Temporal
 * SDK serves its own (temporal_*) apart. Call sites use the recorders below, one line each.
 */

export const registry = new Registry();
collectDefaultMetrics({ register: registry });

const registers = [registry];

const teacherCalls = new Counter({
  name: 'agentark_teacher_calls_total',
  help: 'Teacher calls by outcome: ok, cached, or the failure type (LlmRateLimited, LlmTimeout, LlmServerError, ...)',
  labelNames: ['endpoint', 'model', 'outcome'] as const,
  registers,
});

const teacherTokens = new Counter({
  name: 'agentark_teacher_tokens_total',
  help: 'Tokens the teacher reported for the calls it answered (reasoning tokens are part of completion tokens)',
  labelNames: ['endpoint', 'model', 'kind'] as const,
  registers,
});

const teacherLatency = new Histogram({
  name: 'agentark_teacher_latency_seconds',
  help: 'From sending a teacher call to its reply or failure (the wait for a call slot excluded)',
  labelNames: ['endpoint', 'model'] as const,
  buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
  registers,
});

const teacherErrors = new Counter({
  name: 'agentark_teacher_errors_total',
  help: 'Failed teacher calls by failure type (LlmRateLimited: 429, LlmServerError: 5xx or 408, LlmTimeout, ...)',
  labelNames: ['type'] as const,
  registers,
});

const cacheHits = new Counter({ name: 'agentark_cache_hits_total', help: 'Teacher calls answered from the reply cache', registers });

const trainingSteps = new Counter({
  name: 'agentark_training_steps_total',
  help: 'Optimizer steps the trainer reported done, from its progress events',
  labelNames: ['job'] as const,
  registers,
});

const trainingTokens = new Counter({
  name: 'agentark_training_tokens_total',
  help: "Tokens trained on: each progress event's step tokens for each step since the last event (exact at log_every 1)",
  labelNames: ['job'] as const,
  registers,
});

const answerChecks = new Counter({
  name: 'agentark_answer_checks_total',
  help: 'Answers checked against the gold, by task kind, the rule that decided, and the verdict (correct, wrong, undecided)',
  labelNames: ['task', 'checker', 'verdict'] as const,
  registers,
});

/** One answer checked: `correct` null is undecided (no rule decides, or the check ran past its timeout). */
export function answerChecked(task: string, checker: string, correct: boolean | null): void {
  answerChecks.inc({ task, checker, verdict: correct === null ? 'undecided' : correct ? 'correct' : 'wrong' });
}

/** The usage an OpenAI-compatible server reports (reasoning_tokens: OpenAI's and some servers' reasoning count). */
export interface ReportedUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
  completion_tokens_details?: { reasoning_tokens?: number } | null;
}

export interface TeacherCallMetrics {
  answered(usage: ReportedUsage | undefined): void;
  failed(type: string | null | undefined): void;
}

/** The endpoint label is the base URL's host: no path or credential reaches a metric. */
const labelsOf = (baseUrl: string, model: string): { endpoint: string; model: string } => ({ endpoint: new URL(baseUrl).host, model });

/** A teacher call just sent: say how it ended. */
export function teacherCallStarted(baseUrl: string, model: string): TeacherCallMetrics {
  const labels = labelsOf(baseUrl, model);
  const stopTimer = teacherLatency.startTimer(labels);
  return {
    answered(usage) {
      stopTimer();
      teacherCalls.inc({ ...labels, outcome: 'ok' });
      teacherTokens.inc({ ...labels, kind: 'prompt' }, usage?.prompt_tokens ?? 0);
      teacherTokens.inc({ ...labels, kind: 'completion' }, usage?.completion_tokens ?? 0);
      const reasoning = usage?.completion_tokens_details?.reasoning_tokens;
      if (reasoning) teacherTokens.inc({ ...labels, kind: 'reasoning' }, reasoning);
    },
    failed(type) {
      stopTimer();
      const outcome = type ?? 'LlmUnknownError';
      teacherCalls.inc({ ...labels, outcome });
      teacherErrors.inc({ type: outcome });
    },
  };
}

export function teacherCacheHit(baseUrl: string, model: string): void {
  teacherCalls.inc({ ...labelsOf(baseUrl, model), outcome: 'cached' });
  cacheHits.inc();
}

/** A trainer progress event: `step` steps done, after `previousStep` at the last event (or the start). */
export function trainingProgress(job: string, previousStep: number, step: number | null, stepTokens: number | null): void {
  if (step === null || step <= previousStep) return;
  trainingSteps.inc({ job }, step - previousStep);
  if (stepTokens !== null && stepTokens > 0) trainingTokens.inc({ job }, stepTokens * (step - previousStep));
}

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

/** Serves the registry as Prometheus text on GET /metrics (port 0: a free one, see `port`). */
export async function serveMetrics(port: number, host = '0.0.0.0'): Promise<MetricsServer> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404).end('not found: metrics are at GET /metrics\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err: unknown) => res.writeHead(500).end(`${(err as Error).message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
