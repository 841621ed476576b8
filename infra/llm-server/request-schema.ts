import { z } from 'zod';

import { invalidRequest, type ApiError } from './errors';

/** OpenAI lets `content` be a string or a list of parts; only text parts mean anything to a text-only model. */
const textPart = z.object({ type: z.literal('text'), text: z.string() });
const content = z.union([z.string(), z.array(textPart).min(1)]);

const message = z.discriminatedUnion('role', [
  z.object({ role: z.literal('system'), content }),
  // Newer OpenAI clients send `developer` where older ones sent `system`.
  z.object({ role: z.literal('developer'), content }),
  z.object({ role: z.literal('user'), content }),
  z.object({ role: z.literal('assistant'), content: content.nullish() }),
]);

const responseFormat = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text') }),
  z.object({ type: z.literal('json_object') }),
  z.object({
    type: z.literal('json_schema'),
    json_schema: z.object({ name: z.string().optional(), schema: z.record(z.string(), z.unknown()) }),
  }),
]);

/**
 * Unknown keys are dropped rather than rejected: OpenAI clients send fields (user, metadata, ...)
 * that do not change what a local model generates. Fields that would change the answer and are not
 * supported are refused below, never silently ignored.
 */
export const chatCompletionRequestSchema = z.object({
  model: z.string().min(1),
  messages: z.array(message).min(1),
  n: z.number().int().min(1).max(16).default(1),
  temperature: z.number().min(0).max(2).default(1),
  top_p: z.number().gt(0).max(1).default(1),
  top_k: z.number().int().min(0).optional(),
  min_p: z.number().min(0).max(1).optional(),
  max_tokens: z.number().int().min(1).nullish(),
  max_completion_tokens: z.number().int().min(1).nullish(),
  seed: z.number().int().nullish(),
  stop: z.union([z.string().min(1), z.array(z.string().min(1)).max(16)]).nullish(),
  frequency_penalty: z.number().min(-2).max(2).nullish(),
  presence_penalty: z.number().min(-2).max(2).nullish(),
  response_format: responseFormat.nullish(),
  // Token-by-token streaming is left out on purpose: callers here batch whole answers, so `stream: true` gets a 400.
  stream: z.boolean().nullish(),
  logprobs: z.boolean().nullish(),
  tools: z.array(z.unknown()).nullish(),
  functions: z.array(z.unknown()).nullish(),
});

export type ChatCompletionRequest = z.infer<typeof chatCompletionRequestSchema>;
export type ChatMessage = ChatCompletionRequest['messages'][number];

/** Validates a parsed JSON body; the error names the offending field the way OpenAI's `param` does. */
export function parseChatCompletionRequest(body: unknown): ChatCompletionRequest {
  const parsed = chatCompletionRequestSchema.safeParse(body);
  if (!parsed.success) throw zodToApiError(parsed.error);
  const request = parsed.data;
  if (request.stream === true) throw invalidRequest('streaming is not supported by this server; send stream: false', 'stream');
  if (request.logprobs === true) throw invalidRequest('logprobs are not supported by this server', 'logprobs');
  if ((request.tools?.length ?? 0) > 0) throw invalidRequest('tool calling is not supported by this server', 'tools');
  if ((request.functions?.length ?? 0) > 0) throw invalidRequest('function calling is not supported by this server', 'functions');
  if (request.max_tokens != null && request.max_completion_tokens != null && request.max_tokens !== request.max_completion_tokens) {
    throw invalidRequest('max_tokens and max_completion_tokens disagree; send only one', 'max_tokens');
  }
  return request;
}

function zodToApiError(error: z.ZodError): ApiError {
  const issue = error.issues[0];
  const param = issue.path.length > 0 ? issue.path.map(String).join('.') : null;
  const where = param ?? 'request body';
  const more = error.issues.length > 1 ? ` (and ${error.issues.length - 1} more problem(s))` : '';
  return invalidRequest(`invalid '${where}': ${issue.message}${more}`, param);
}

/** Flattens a message's content (string or text parts) into the plain text the chat template receives. */
export function messageText(m: ChatMessage): string {
  const c = m.content;
  if (c == null) return '';
  return typeof c === 'string' ? c : c.map((part) => part.text).join('');
}
