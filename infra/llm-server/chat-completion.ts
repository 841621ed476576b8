import { randomBytes, randomInt } from 'node:crypto';

import { invalidRequest } from './errors';
import type { ChatHistoryItem, LlamaContextSequence, LlamaGrammar, ModelRuntime } from './model-runtime';
import { messageText, type ChatCompletionRequest } from './request-schema';
import type { SequencePool } from './sequence-pool';

export interface ChatCompletionResponse {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: {
    index: number;
    message: { role: 'assistant'; content: string };
    finish_reason: 'stop' | 'length';
    logprobs: null;
  }[];
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

/** OpenAI roles onto node-llama-cpp's history; the chat template then renders it as the model was trained. */
export function toChatHistory(messages: ChatCompletionRequest['messages']): ChatHistoryItem[] {
  return messages.map((m): ChatHistoryItem => {
    const text = messageText(m);
    switch (m.role) {
      case 'system':
      case 'developer':
        return { type: 'system', text };
      case 'user':
        return { type: 'user', text };
      case 'assistant':
        return { type: 'model', response: [text] };
    }
  });
}

/**
 * Runs one request: validates it against the context window, waits for a sequence, and samples `n`
 * choices on it one after another. Choice i uses seed + i, so choices differ from each other while
 * the whole response stays reproducible for a given seed.
 */
export async function createChatCompletion(
  runtime: ModelRuntime,
  pool: SequencePool<LlamaContextSequence>,
  modelId: string,
  request: ChatCompletionRequest,
  signal: AbortSignal,
): Promise<ChatCompletionResponse> {
  const history = toChatHistory(request.messages);
  const promptTokens = runtime.countPromptTokens(history);
  const room = runtime.contextSize - promptTokens;
  const requested = request.max_completion_tokens ?? request.max_tokens ?? undefined;
  if (room < 1 || (requested !== undefined && requested > room)) {
    const param = request.max_completion_tokens != null ? 'max_completion_tokens' : request.max_tokens != null ? 'max_tokens' : 'messages';
    throw invalidRequest(
      `this model's context holds ${runtime.contextSize} tokens per request, but the messages take ${promptTokens} ` +
        `and ${requested ?? 1} more were asked for; shorten the messages or lower ${param === 'messages' ? 'max_tokens' : param}`,
      param,
      'context_length_exceeded',
    );
  }
  const grammar = await grammarFor(runtime, request.response_format);
  const baseSeed = request.seed ?? undefined;
  const stop = request.stop == null ? [] : typeof request.stop === 'string' ? [request.stop] : request.stop;

  const sequence = await pool.acquire(signal);
  const choices: ChatCompletionResponse['choices'] = [];
  let completionTokens = 0;
  try {
    for (let index = 0; index < request.n; index++) {
      const generation = await runtime.generate(sequence, history, {
        maxTokens: requested ?? room,
        temperature: request.temperature,
        topP: request.top_p,
        topK: request.top_k,
        minP: request.min_p,
        // Without a seed each choice still gets its own explicit one, so sampling never silently repeats.
        seed: baseSeed !== undefined ? baseSeed + index : randomInt(2 ** 31),
        stop,
        frequencyPenalty: request.frequency_penalty ?? undefined,
        presencePenalty: request.presence_penalty ?? undefined,
        grammar,
        signal,
      });
      completionTokens += generation.completionTokens;
      choices.push({
        index,
        message: { role: 'assistant', content: generation.text },
        finish_reason: generation.finishReason,
        logprobs: null,
      });
    }
  } finally {
    pool.release(sequence);
  }
  return {
    id: `chatcmpl-${randomBytes(12).toString('hex')}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: modelId,
    choices,
    usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
  };
}

async function grammarFor(runtime: ModelRuntime, format: ChatCompletionRequest['response_format']): Promise<LlamaGrammar | undefined> {
  if (format == null || format.type === 'text') return undefined;
  if (format.type === 'json_object') return runtime.jsonGrammar();
  try {
    return await runtime.jsonSchemaGrammar(format.json_schema.schema);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw invalidRequest(`response_format.json_schema.schema cannot be used as a grammar: ${why}`, 'response_format.json_schema.schema');
  }
}
