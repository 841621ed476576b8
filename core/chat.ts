import { z } from 'zod';

/** One LLM chat call as the workflows describe it: small, serialisable, validated. */
export const ChatMessage = z.object({
  role: z.enum(['system', 'user', 'assistant']),
  content: z.string(),
});
export type ChatMessage = z.infer<typeof ChatMessage>;

export const SamplingParams = z.object({
  temperature: z.number().min(0).max(2).default(0.7),
  topP: z.number().gt(0).max(1).default(1),
  maxTokens: z.number().int().positive().default(512),
  seed: z.number().int().optional(),
  stop: z.array(z.string()).max(4).optional(),
  n: z.number().int().positive().max(16).default(1),
  /** Ask for a JSON object (servers that support response_format json_object constrain the output). */
  json: z.boolean().default(false),
});
export type SamplingParams = z.infer<typeof SamplingParams>;

export const ChatRequest = z.object({
  /**
   * A teacher profile of the llm worker (AGENTARK_TEACHERS; "default" is its OPENAI_BASE_URL), or a
   * base URL the worker allows (a profile's, or one on its AGENTARK_TEACHER_ALLOWLIST); neither: "default".
   * The worker refuses anything else before sending a request, and sends a key only to its own profile.
   */
  profile: z.string().min(1).optional(),
  baseUrl: z.string().url().optional(),
  /** Model id; when absent the profile's model (AGENTARK_TEACHER_MODEL for "default"), else the server's first model. */
  model: z.string().min(1).optional(),
  messages: z.array(ChatMessage).min(1),
  sampling: SamplingParams.default(SamplingParams.parse({})),
  /** Sent as the request's `user` field, so the teacher's logs can tell which turn a call was. */
  tag: z.string().max(256).optional(),
  /**
   * Cache replies in this artifact store (or the worker's AGENTARK_STORE) under a hash of
   * (model, messages, sampling incl. seed): a resumed or repeated run never pays twice.
   */
  cache: z.boolean().default(true),
  store: z.string().min(1).optional(),
});
export type ChatRequest = z.input<typeof ChatRequest>;

export const ChatChoice = z.object({
  /** The answer text, with any `<think>…</think>` block moved to `reasoning`. */
  content: z.string(),
  /** A reasoning teacher's reasoning: `reasoning_content` (vLLM, SGLang, DeepSeek), `reasoning`, or a leading think block. */
  reasoning: z.string().optional(),
  /** 'length' = cut off at maxTokens, 'empty' = the server returned no text: recorded, not dropped. */
  finishReason: z.enum(['stop', 'length', 'empty', 'other']),
});
export type ChatChoice = z.infer<typeof ChatChoice>;

export const TokenUsage = z.object({
  promptTokens: z.number().int().nonnegative(),
  completionTokens: z.number().int().nonnegative(),
  calls: z.number().int().nonnegative(),
});
export type TokenUsage = z.infer<typeof TokenUsage>;

export interface ChatResult {
  model: string;
  choices: ChatChoice[];
  /** What this call cost; zero calls and tokens when the reply came from the cache. */
  usage: TokenUsage;
  cached: boolean;
}

export const addUsage = (a: TokenUsage, b: TokenUsage): TokenUsage => ({
  promptTokens: a.promptTokens + b.promptTokens,
  completionTokens: a.completionTokens + b.completionTokens,
  calls: a.calls + b.calls,
});
export const noUsage: TokenUsage = { promptTokens: 0, completionTokens: 0, calls: 0 };
