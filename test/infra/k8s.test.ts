import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

import { repoRoot, venvBin } from '../../infra/dev/paths';
import { DEFAULT_LLM_SHUTDOWN_GRACE_MS } from '../../workers/create';

/**
 * The Kubernetes base (infra/k8s): rendered by `kubectl kustomize`, validated offline against the Kubernetes
 * JSON schemas bundled in kubernetes-validate (requirements.txt), and held to what the workers need: their
 * environment, the GPU, and grace periods that let a checkpoint or a teacher call finish. No cluster needed.
 */

const BASE = path.join(repoRoot, 'infra/k8s');
/** The oldest Kubernetes the base is written for, and the newest whose schemas the validator bundles. */
const K8S_VERSIONS = ['1.30.0', '1.37.0'];

/** Where the variables the workers read are named: their code, the script that starts them, and the paths module they import. */
const WORKER_SOURCES = ['workers', 'activities', 'bin/agentark', 'infra/dev/paths.ts'];
const VAR_NAME = /\b(?:AGENTARK|TEMPORAL|OPENAI|AWS)_[A-Z0-9_]*[A-Z0-9]\b/g;

/** Variables the workers read that the base leaves unset, each with why its default (or absence) is right here. */
const OPTIONAL: Record<string, string> = {
  AGENTARK_TASK_QUEUE: 'the default queues (core/task-queues.ts) are the ones the workflows use by default',
  AGENTARK_LLM_QUEUE: 'as AGENTARK_TASK_QUEUE',
  AGENTARK_GPU_QUEUE: 'as AGENTARK_TASK_QUEUE',
  AGENTARK_MAIN_CONCURRENCY: 'the default 32 activities at once fits the main worker\'s 2 CPUs',
  AGENTARK_LLM_SHUTDOWN_GRACE_MS: 'the default fits 4096-token replies; the llm pod\'s grace period exceeds it (tested below)',
  AGENTARK_LLM_TIMEOUT_MS: 'each call\'s HTTP timeout follows its maxTokens',
  AGENTARK_REPLY_MEMORY_BYTES: 'the default 64 MB of replies held in memory fits the llm worker\'s heap',
  AGENTARK_CHECK_TIMEOUT_MS: 'the default 5 s per check',
  AGENTARK_TEACHERS: 'more teacher profiles than the default one (OPENAI_BASE_URL)',
  AGENTARK_TEACHER_ALLOWLIST: 'more teacher URLs without a key',
  OPENAI_CUSTOM_HEADERS: 'OpenAI\'s own client options, not for vLLM',
  OPENAI_ADMIN_KEY: 'as OPENAI_CUSTOM_HEADERS',
  OPENAI_ORG_ID: 'as OPENAI_CUSTOM_HEADERS',
  OPENAI_PROJECT_ID: 'as OPENAI_CUSTOM_HEADERS',
  AGENTARK_GPU_MODE: 'the default "gpu": one job per GPU, and the pod has one',
  AGENTARK_GPU_SLOTS: 'the default: the GPUs nvidia-smi lists inside the pod',
  AGENTARK_TRAIN_NOTIFY_S: 'the default 300 s between progress reports',
  AGENTARK_TRAINER_PYTHON: 'the images install the trainer\'s Python at /app/.venv, where the workers look first',
  AGENTARK_VENV: 'as AGENTARK_TRAINER_PYTHON',
  AGENTARK_STATE_DIR: 'only the default store and GPU folders lie under it, and the base sets those',
  AGENTARK_PARENT_DEATH_SIGNAL: 'the workers set it for the processes they start',
  AGENTARK_TEMPORAL_UI_PORT: 'Web UI links, printed by the CLI',
  TEMPORAL_UI_URL: 'as AGENTARK_TEMPORAL_UI_PORT',
  TEMPORAL_TLS: 'TEMPORAL_API_KEY turns TLS on',
  TEMPORAL_TLS_CLIENT_CERT_PATH: 'mTLS, the alternative to TEMPORAL_API_KEY (certificates mounted by an overlay)',
  TEMPORAL_TLS_CLIENT_KEY_PATH: 'as TEMPORAL_TLS_CLIENT_CERT_PATH',
  TEMPORAL_TLS_SERVER_CA_CERT_PATH: 'as TEMPORAL_TLS_CLIENT_CERT_PATH',
  TEMPORAL_TLS_SERVER_NAME: 'as TEMPORAL_TLS_CLIENT_CERT_PATH',
  TEMPORAL_CONFIG_FILE: 'a temporal.toml profile, the alternative to the TEMPORAL_* variables',
  TEMPORAL_PROFILE: 'as TEMPORAL_CONFIG_FILE',
  AWS_ENDPOINT_URL_S3: 'S3-compatible stores only (agentark.env says how)',
  AWS_ENDPOINT_URL: 'as AWS_ENDPOINT_URL_S3',
  AWS_DEFAULT_REGION: 'AWS_REGION is set',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'the images run Node 22, which the AWS SDK does not warn about',
  AGENTARK_BUILD_ID: 'baked into each image (Dockerfile.* ARG AGENTARK_BUILD_ID), else the package version',
  AGENTARK_STORE_ALLOW: 'stores besides AGENTARK_STORE that a workflow\'s input may name: none by default',
};

/** Variables the base gives the workers that libraries read rather than our code. */
const READ_BY_LIBRARIES = new Set(['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']);

interface EnvVar { name: string; value?: string }
interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  resources?: { requests?: Record<string, string | number>; limits?: Record<string, string | number> };
  ports?: { name?: string; containerPort: number }[];
  readinessProbe?: { httpGet?: { path: string; port: string | number } };
  livenessProbe?: { httpGet?: { path: string; port: string | number } };
  volumeMounts?: { name: string; mountPath: string }[];
}
interface PodTemplate {
  metadata: { labels: Record<string, string>; annotations?: Record<string, string> };
  spec: {
    containers: Container[];
    terminationGracePeriodSeconds?: number;
    nodeSelector?: Record<string, string>;
    tolerations?: { key?: string; operator?: string; effect?: string }[];
    volumes?: { name: string; emptyDir?: object; ephemeral?: object }[];
  };
}
interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  data?: Record<string, string>;
  spec?: {
    replicas?: number;
    selector?: { matchLabels?: Record<string, string> } & Record<string, string>;
    template?: PodTemplate;
    ports?: { name?: string; port: number; targetPort?: string | number }[];
  };
}

function run(command: string, args: string[], input?: string): { status: number | null; output: string } {
  const r = spawnSync(command, args, { input, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw new Error(`cannot run ${command}: ${r.error.message} (kubectl: install it; kubernetes-validate: make setup)`);
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

function render(): string {
  const r = run('kubectl', ['kustomize', BASE]);
  if (r.status !== 0) throw new Error(`kubectl kustomize infra/k8s failed:\n${r.output}`);
  return r.output;
}

/** YAML documents as objects, by the venv's PyYAML (a dependency of kubernetes-validate). */
function parseYaml(text: string): K8sObject[] {
  const r = run(venvBin('python'), ['-c', 'import json, sys, yaml; json.dump([d for d in yaml.safe_load_all(sys.stdin) if d], sys.stdout)'], text);
  if (r.status !== 0) throw new Error(`the rendered YAML does not parse:\n${r.output}`);
  return JSON.parse(r.output) as K8sObject[];
}

function validate(yamlText: string): { status: number | null; output: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'agentark-k8s-'));
  try {
    const file = path.join(dir, 'rendered.yaml');
    writeFileSync(file, yamlText);
    return run(venvBin('kubernetes-validate'), ['--strict', '--quiet', ...K8S_VERSIONS.flatMap((v) => ['-k', v]), file]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function sourceFiles(entry: string): string[] {
  const full = path.join(repoRoot, entry);
  if (!statSync(full).isDirectory()) return [full];
  return readdirSync(full, { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.(ts|mjs)$/.test(f))
    .map((f) => path.join(full, f));
}

/** Every AGENTARK_/TEMPORAL_/OPENAI_/AWS_ name that appears in the workers' code. */
function namesInWorkerCode(): Set<string> {
  const names = new Set<string>();
  for (const file of WORKER_SOURCES.flatMap(sourceFiles)) {
    for (const m of readFileSync(file, 'utf8').matchAll(VAR_NAME)) names.add(m[0]);
  }
  return names;
}

/** A number read from workers/gpu-worker.ts, so the test follows the code's own defaults. */
function fromGpuWorkerSource(pattern: RegExp, what: string): number {
  const m = readFileSync(path.join(repoRoot, 'workers/gpu-worker.ts'), 'utf8').match(pattern);
  if (!m) throw new Error(`workers/gpu-worker.ts no longer matches ${pattern} (${what}): update this test`);
  return Number(m[1]);
}

describe('Kubernetes base (infra/k8s), rendered and validated offline', () => {
  let rendered: string;
  let objects: K8sObject[];

  beforeAll(() => {
    rendered = render();
    objects = parseYaml(rendered);
  });

  const find = (kind: string, name: string): K8sObject => {
    const found = objects.filter((o) => o.kind === kind && (o.metadata.name === name || o.metadata.name.startsWith(`${name}-`)));
    if (found.length !== 1) throw new Error(`expected one ${kind} ${name}, rendered ${found.map((o) => o.metadata.name).join(', ') || 'none'}`);
    return found[0];
  };
  const template = (name: string): PodTemplate => find('Deployment', name).spec!.template!;
  const container = (name: string): Container => template(name).spec.containers[0];
  const worker = (kind: string): string => `agentark-worker-${kind}`;
  const envOf = (deployment: string): Map<string, string> => {
    const c = container(deployment);
    const values = new Map<string, string>();
    for (const from of c.envFrom ?? []) {
      const source = from.configMapRef ? find('ConfigMap', from.configMapRef.name) : find('Secret', from.secretRef!.name);
      for (const [k, v] of Object.entries(source.data ?? {})) values.set(k, source.kind === 'Secret' ? Buffer.from(v, 'base64').toString('utf8') : v);
    }
    for (const e of c.env ?? []) values.set(e.name, e.value ?? '');
    return values;
  };

  it(`renders every object, and each passes the Kubernetes ${K8S_VERSIONS.join(' and ')} schemas with no unknown field`, () => {
    const names = objects.map((o) => `${o.kind}/${o.metadata.name.replace(/-[a-z0-9]{10}$/, '')}`).sort();
    expect(names).toEqual([
      'ConfigMap/agentark-env',
      'Deployment/agentark-teacher',
      'Deployment/agentark-worker-gpu',
      'Deployment/agentark-worker-llm',
      'Deployment/agentark-worker-main',
      'Secret/agentark-secrets',
      'Service/agentark-teacher',
    ]);
    const result = validate(rendered);
    expect(result.output).not.toContain('ERROR');
    expect(result.status).toBe(0);
  });

  it('the validator rejects an object with an unknown field, so the check above can fail', () => {
    const broken = structuredClone(objects);
    const gpu = broken.find((o) => o.kind === 'Deployment' && o.metadata.name === worker('gpu'))!;
    Object.assign(gpu.spec!.template!.spec.containers[0], { imagePullPolicyy: 'Always' });
    const result = validate(broken.map((o) => JSON.stringify(o)).join('\n---\n'));
    expect(result.status).not.toBe(0);
    expect(result.output).toContain('imagePullPolicyy');
  });

  it('Deployments and the Service carry the name and component labels, and each selector picks its own pods', () => {
    for (const o of objects.filter((x) => x.kind === 'Deployment' || x.kind === 'Service')) {
      expect(o.metadata.labels?.['app.kubernetes.io/name']).toBe('agentark');
      expect(o.metadata.labels?.['app.kubernetes.io/component']).toBeTruthy();
    }
    const deployments = objects.filter((o) => o.kind === 'Deployment');
    for (const d of deployments) {
      const selector = d.spec!.selector!.matchLabels!;
      const picks = deployments.filter((other) => Object.entries(selector).every(([k, v]) => other.spec!.template!.metadata.labels[k] === v));
      expect(picks.map((p) => p.metadata.name)).toEqual([d.metadata.name]);
    }
  });

  it('every worker gets the ConfigMap and the Secret by envFrom and runs its own kind', () => {
    const configMap = find('ConfigMap', 'agentark-env').metadata.name;
    const secret = find('Secret', 'agentark-secrets').metadata.name;
    for (const kind of ['main', 'llm', 'gpu']) {
      const c = container(worker(kind));
      expect(c.args).toEqual([kind]);
      expect(c.envFrom).toEqual([{ configMapRef: { name: configMap } }, { secretRef: { name: secret } }]);
    }
  });

  it('every variable the workers read is given to them, or listed as optional with the reason', () => {
    const inCode = namesInWorkerCode();
    const given = new Set(['main', 'llm', 'gpu'].flatMap((kind) => [...envOf(worker(kind)).keys()]));
    const missing = [...inCode].filter((name) => !given.has(name) && !(name in OPTIONAL)).sort();
    expect(missing).toEqual([]);
    // And nothing given that no one reads (a misspelt name would silently keep a default).
    const unread = [...given].filter((name) => !inCode.has(name) && !READ_BY_LIBRARIES.has(name)).sort();
    expect(unread).toEqual([]);
  });

  it("every worker's liveness probe asks GET /metrics on the port AGENTARK_METRICS_PORT opens, and both metrics ports are declared", () => {
    for (const kind of ['main', 'llm', 'gpu']) {
      const c = container(worker(kind));
      const env = envOf(worker(kind));
      const portOf = (name: string | number | undefined): number | undefined =>
        c.ports?.find((p) => p.name === name || p.containerPort === name)?.containerPort;
      expect({ kind, path: c.livenessProbe?.httpGet?.path, port: portOf(c.livenessProbe?.httpGet?.port) })
        .toEqual({ kind, path: '/metrics', port: Number(env.get('AGENTARK_METRICS_PORT')) });
      expect(portOf('sdk-metrics')).toBe(Number(env.get('AGENTARK_SDK_METRICS_PORT')));
    }
  });

  it('the Secret holds only the REPLACE_ME placeholders, never a real credential', () => {
    const secret = find('Secret', 'agentark-secrets');
    const values = Object.values(secret.data ?? {}).map((v) => Buffer.from(v, 'base64').toString('utf8'));
    expect(Object.keys(secret.data ?? {}).sort()).toEqual(['AGENTARK_CODEC_KEYS', 'AGENTARK_CODEC_KEY_ID', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'OPENAI_API_KEY', 'TEMPORAL_API_KEY']);
    expect(new Set(values)).toEqual(new Set(['REPLACE_ME']));
  });

  it('the gpu worker requests a GPU on GPU nodes, with its work and cache folders on a pod volume', () => {
    const pod = template(worker('gpu')).spec;
    const c = container(worker('gpu'));
    expect(Number(c.resources?.limits?.['nvidia.com/gpu'])).toBeGreaterThanOrEqual(1);
    expect(Object.keys(pod.nodeSelector ?? {}).length).toBeGreaterThan(0);
    expect(pod.tolerations).toContainEqual(expect.objectContaining({ key: 'nvidia.com/gpu', effect: 'NoSchedule' }));
    const env = envOf(worker('gpu'));
    const scratch = (pod.volumes ?? []).filter((v) => v.emptyDir || v.ephemeral).map((v) => v.name);
    for (const name of ['AGENTARK_GPU_WORK', 'AGENTARK_GPU_CACHE']) {
      const mount = (c.volumeMounts ?? []).find((m) => env.get(name)?.startsWith(`${m.mountPath}/`));
      expect({ name, volume: mount?.name && scratch.includes(mount.name) }).toEqual({ name, volume: true });
    }
  });

  it("the gpu pod's grace period covers the trainer's checkpoint, the worker's shutdown grace and the upload", () => {
    const tpl = template(worker('gpu'));
    const configured = envOf(worker('gpu')).get('AGENTARK_GPU_STOP_GRACE_S');
    const stopGraceS = configured === undefined
      ? fromGpuWorkerSource(/seconds\('AGENTARK_GPU_STOP_GRACE_S', (\d+)\)/, 'default stop grace')
      : Number(configured);
    const shutdownExtraS = fromGpuWorkerSource(/shutdownGraceTime: `\$\{stopGraceS \+ (\d+)\} seconds`/, "the worker's shutdown grace");
    const uploadS = Number(tpl.metadata.annotations?.['agentark/checkpoint-upload-seconds']);
    expect(uploadS).toBeGreaterThan(0);
    expect(tpl.spec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(stopGraceS + shutdownExtraS + uploadS);
  });

  it("the llm pod's grace period exceeds the llm worker's shutdown grace", () => {
    const configured = envOf(worker('llm')).get('AGENTARK_LLM_SHUTDOWN_GRACE_MS');
    const graceMs = configured === undefined ? DEFAULT_LLM_SHUTDOWN_GRACE_MS : Number(configured);
    expect(template(worker('llm')).spec.terminationGracePeriodSeconds).toBeGreaterThan(graceMs / 1000);
  });

  it("the llm workers' calls in flight fill the teacher's --max-num-seqs without overfilling it", () => {
    const args = container('agentark-teacher').args ?? [];
    const maxNumSeqs = Number(args[args.indexOf('--max-num-seqs') + 1]);
    const perWorker = Number(envOf(worker('llm')).get('AGENTARK_LLM_CONCURRENCY'));
    const workers = find('Deployment', worker('llm')).spec!.replicas ?? 1;
    expect(perWorker * workers).toBeLessThanOrEqual(maxNumSeqs);
    expect(perWorker * workers).toBeGreaterThan(maxNumSeqs / 2);
  });

  it("the teacher Service selects the vLLM pods, which serve on a GPU the model the workers' profile names", () => {
    const service = find('Service', 'agentark-teacher');
    const selects = (o: K8sObject): boolean =>
      Object.entries(service.spec!.selector!).every(([k, v]) => o.spec!.template!.metadata.labels[k] === v);
    const vllmPods = objects.filter((o) => o.kind === 'Deployment' && selects(o));
    expect(vllmPods.map((d) => d.metadata.name)).toEqual(['agentark-teacher']);
    const vllm = container('agentark-teacher');
    expect(vllm.image).toMatch(/^vllm\/vllm-openai:v\d+\.\d+\.\d+$/);
    expect(Number(vllm.resources?.limits?.['nvidia.com/gpu'])).toBeGreaterThanOrEqual(1);
    const [port] = service.spec!.ports!;
    const target = vllm.ports!.find((p) => p.name === port.targetPort || p.containerPort === port.targetPort)!;
    expect(target.containerPort).toBe(8000);
    expect(vllm.readinessProbe?.httpGet).toEqual({ path: '/health', port: port.targetPort });
    const env = envOf(worker('llm'));
    expect(env.get('OPENAI_BASE_URL')).toBe(`http://${service.metadata.name}:${port.port}/v1`);
    // `vllm serve <model>`: the model is the first argument (or --model's value on older entrypoints).
    const args = vllm.args ?? [];
    const model = args.includes('--model') ? args[args.indexOf('--model') + 1] : args[0];
    expect(env.get('AGENTARK_TEACHER_MODEL')).toBe(model);
  });
});
