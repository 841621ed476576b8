import { z } from 'zod';
import { CHANGEABLE_FIELDS, isChangeable } from './config-diff';
import { DemoLevel } from './demo-problems';
import { LLM_QUEUE } from './task-queues';

/**
 * The configuration of a debate-generation run (generateDebates's input, `agentark generate
 * --config <file>`). Every default is the paper's unless said otherwise.
 */

export const RunId = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, ".", "_" and "-" only, starting with a letter or digit');

export const DatasetFormat = z.enum(['gsm8k', 'math', 'medmcqa', 'metamathqa', 'jsonl', 'demo']);

export const DatasetConfig = z
  .strictObject({
    format: DatasetFormat,
    /** file:///…, s3://bucket/key or a local path; not used by the `demo` format. */
    url: z.string().min(1).optional(),
    /** Field mapping for the generic `jsonl` format. */
    mapping: z
      .object({
        id: z.string().optional(),
        question: z.string(),
        gold: z.string(),
        solution: z.string().optional(),
        options: z.string().optional(),
        task: z.enum(['numeric', 'math', 'choice', 'text']),
      })
      .optional(),
    onBadRecord: z.enum(['fail', 'skip']).default('fail'),
    /** Use only the first `limit` problems. */
    limit: z.number().int().positive().optional(),
    /** The `demo` format: the project's own seeded arithmetic word problems. */
    demo: z.strictObject({
      seed: z.number().int().default(1),
      count: z.number().int().positive().max(100_000).default(20),
      /** multi-step (when absent): 2–3 step word problems; one-step: a single small addition (what a tiny teacher can answer). */
      level: z.enum(DemoLevel).optional(),
    }).optional(),
  })
  .superRefine((d, ctx) => {
    if (d.format !== 'demo' && !d.url) ctx.addIssue({ code: 'custom', path: ['url'], message: `required for format '${d.format}'` });
    if (d.format === 'jsonl' && !d.mapping) ctx.addIssue({ code: 'custom', path: ['mapping'], message: "required for format 'jsonl'" });
  });
export type DatasetConfig = z.infer<typeof DatasetConfig>;

/** The name of a teacher profile in the llm worker's environment (activities/llm/endpoints.ts). */
export const TeacherProfileName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'letters, digits, ".", "_" and "-" only (at most 64), starting with a letter or digit');

export const TeacherConfig = z.strictObject({
  /**
   * A teacher profile of the llm worker (its AGENTARK_TEACHERS; "default" is its OPENAI_BASE_URL).
   * The worker's environment holds the URL and the key; a run only names it.
   */
  profile: TeacherProfileName.optional(),
  /**
   * OpenAI-compatible base URL, instead of a profile: only one the llm worker allows (a profile's
   * baseUrl, which then gets that profile's key, or one on its AGENTARK_TEACHER_ALLOWLIST, which gets
   * no key). Neither profile nor baseUrl: the "default" profile. Never an API key.
   */
  baseUrl: z.string().url().optional(),
  /** Model for every agent (homogeneous debate); the profile's model (AGENTARK_TEACHER_MODEL for "default") or the server's first model when absent. */
  model: z.string().min(1).optional(),
  /** One model per agent (heterogeneous debate); length must equal debate.agents. */
  agentModels: z.array(z.string().min(1)).optional(),
  temperature: z.number().min(0).max(2).default(0.7),
  topP: z.number().gt(0).max(1).default(1),
  /**
   * Bounds each reply. Replies go to the store, never through workflow history, so only the teacher's
   * context bounds it (reasoning teachers write 8–32k tokens).
   */
  maxTokens: z.number().int().positive().max(1_048_576).default(512),
  /**
   * The teacher's context in tokens; the server's reported max_model_len when absent (vLLM, SGLang).
   * A round whose prompt would not fit is cut by the documented policy (core/context-fit.ts).
   */
  contextWindow: z.number().int().positive().optional(),
  /**
   * Replies are cached per endpoint (the base URL's host) so that two servers serving different
   * weights under one model name never share replies; name a namespace to share or split on purpose.
   */
  cacheNamespace: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/, 'letters, digits, ".", "_", ":" and "-" only').optional(),
});

export const DebateConfig = z.strictObject({
  agents: z.number().int().min(1).max(16).default(5),
  rounds: z.number().int().min(1).max(10).default(3),
  /** Stop a problem's debate once all agents give the same answer (saves calls; not in the paper). */
  earlyStop: z.enum(['unanimous', 'never']).default('never'),
  /**
   * What peers see of a reasoning teacher's replies in round k > 1: 'strip' (the default) shows the
   * answer text only, 'keep' also the reasoning. An agent's own earlier turns never carry reasoning.
   */
  peerReasoning: z.enum(['strip', 'keep']).default('strip'),
});

export const DatasetsConfig = z.strictObject({
  /** Distil the teacher's reasoning too: traces become `<think>reasoning</think>` + answer text (paper §3.3). */
  includeReasoning: z.boolean().default(true),
});

export const VerifierConfig = z.strictObject({
  /** Ask the LLM verifier when no rule decides (task `text`). */
  enabled: z.boolean().default(true),
  model: z.string().min(1).optional(),
});

export const JudgeConfig = z.strictObject({
  /** Pick the diverse traces with an LLM judge; false → deterministic lexical-diversity fallback. */
  enabled: z.boolean().default(true),
  model: z.string().min(1).optional(),
  /** k diverse correct traces per problem for DA (paper: k ∈ {1, 2, 3}). */
  k: z.number().int().min(1).max(3).default(3),
});

/** Stop the run when too many of its latest problems fail (a 401 teacher should not "complete" 100k failures). */
export const MaxFailureRate = z.number().min(0).max(1);
export const BreakerWindow = z.number().int().min(1).max(10_000);
export const BreakerConfig = z.strictObject({
  /** Fail the run once more than this share of the last `window` finished problems failed. */
  maxFailureRate: MaxFailureRate.default(0.5),
  window: BreakerWindow.default(50),
});

/** Child workflows in flight at once (sliding window). */
export const DebateWindow = z.number().int().min(1).max(500);

/** Minutes (fractions allowed) a run waits for a worker on a queue it needs before it fails naming the queue. */
export const NoWorkerTimeoutMinutes = z.number().positive().max(7 * 24 * 60).default(30);

export const RunConfig = z
  .strictObject({
    runId: RunId,
    dataset: DatasetConfig,
    /** Artifact store (s3://bucket/prefix or file:///dir); the workers' AGENTARK_STORE when absent. */
    store: z.string().min(1).optional(),
    teacher: TeacherConfig.default(TeacherConfig.parse({})),
    debate: DebateConfig.default(DebateConfig.parse({})),
    verifier: VerifierConfig.default(VerifierConfig.parse({})),
    judge: JudgeConfig.default(JudgeConfig.parse({})),
    datasets: DatasetsConfig.default(DatasetsConfig.parse({})),
    window: DebateWindow.default(200),
    /** Children one execution starts before it continues as new (keeps each history short). */
    childrenPerExecution: z.number().int().min(1).max(5000).default(1000),
    /** With debates in flight and none reporting for this long, check whether any closed without reporting. */
    settleAfterSeconds: z.number().int().min(1).max(86_400).default(120),
    llmQueue: z.string().min(1).default(LLM_QUEUE),
    /** Base of every sampling seed, so a repeated run asks exactly the same questions (and hits the cache). */
    seed: z.number().int().nonnegative().default(0),
    noWorkerTimeoutMinutes: NoWorkerTimeoutMinutes,
    /** A debate running longer than this ends timed out (counted failed); derived from the debate's calls when absent (core/run-timeouts.ts). */
    debateTimeoutMinutes: z.number().positive().max(7 * 24 * 60).optional(),
    breaker: BreakerConfig.default(BreakerConfig.parse({})),
    /**
     * Fields (dotted paths) this start may change from the config the run was first started with;
     * any other difference is refused. Not part of the frozen config.
     */
    allowConfigChange: z.array(z.string().min(1)).optional(),
  })
  .superRefine((c, ctx) => {
    for (const [i, path] of (c.allowConfigChange ?? []).entries()) {
      if (!isChangeable(path)) {
        ctx.addIssue({ code: 'custom', path: ['allowConfigChange', i], message: `'${path}' can never change within a run (it changes what the run computes); use a new run id. Changeable: ${CHANGEABLE_FIELDS.join(', ')}` });
      }
    }
    const window = c.teacher.contextWindow;
    if (window !== undefined && c.teacher.maxTokens >= window) {
      ctx.addIssue({ code: 'custom', path: ['teacher', 'maxTokens'], message: `${c.teacher.maxTokens} leaves no room for a prompt in teacher.contextWindow ${window}` });
    }
    if (c.teacher.profile !== undefined && c.teacher.baseUrl !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['teacher', 'profile'], message: 'name either teacher.profile or teacher.baseUrl, not both' });
    }
    const models = c.teacher.agentModels;
    if (models && models.length !== c.debate.agents) {
      ctx.addIssue({ code: 'custom', path: ['teacher', 'agentModels'], message: `has ${models.length} models for ${c.debate.agents} agents` });
    }
  });
export type RunConfig = z.infer<typeof RunConfig>;
export type RunConfigInput = z.input<typeof RunConfig>;
