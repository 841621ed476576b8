import { availableParallelism } from 'node:os';

import type {
  ChatHistoryItem,
  ChatWrapper,
  GbnfJsonSchema,
  Llama,
  LlamaContext,
  LlamaContextSequence,
  LlamaGrammar,
  LlamaModel,
} from 'node-llama-cpp' with { 'resolution-mode': 'import' };

export type { ChatHistoryItem, LlamaContextSequence, LlamaGrammar };

export interface RuntimeOptions {
  modelPath: string;
  /** Sequences of the one context: how many requests generate at the same time. */
  parallel: number;
  /** Tokens per sequence (prompt + completion). */
  contextSize: number;
  /** CPU threads for evaluation. */
  threads?: number;
}

export interface GenerateOptions {
  maxTokens: number;
  temperature: number;
  topP: number;
  topK?: number;
  minP?: number;
  seed: number;
  stop: string[];
  frequencyPenalty?: number;
  presencePenalty?: number;
  grammar?: LlamaGrammar;
  signal?: AbortSignal;
}

export interface Generation {
  text: string;
  finishReason: 'stop' | 'length';
  completionTokens: number;
}

/**
 * Leaves one core to the event loop and to whatever shares the machine. node-llama-cpp's own default
 * (4 threads) on a 2-core box makes llama.cpp's worker threads spin against each other: a 40-token
 * answer took minutes instead of under a second.
 */
export function defaultThreads(): number {
  return Math.max(1, availableParallelism() - 1);
}

/** The loaded model, its one context split into sequences, and the chat template that formats prompts. */
export class ModelRuntime {
  private constructor(
    private readonly llama: Llama,
    private readonly model: LlamaModel,
    private readonly context: LlamaContext,
    private readonly chatWrapper: ChatWrapper,
    private readonly mod: typeof import('node-llama-cpp', { with: { 'resolution-mode': 'import' } }),
    readonly sequences: readonly LlamaContextSequence[],
    readonly threads: number,
  ) {}

  static async load(options: RuntimeOptions): Promise<ModelRuntime> {
    // node-llama-cpp is ESM-only and this project compiles to CommonJS: a dynamic import keeps it loadable.
    const mod = await import('node-llama-cpp');
    const threads = options.threads ?? defaultThreads();
    const llama = await mod.getLlama({ build: 'never', gpu: false, maxThreads: threads, logLevel: mod.LlamaLogLevel.error });
    try {
      const model = await llama.loadModel({ modelPath: options.modelPath });
      const context = await model.createContext({
        sequences: options.parallel,
        contextSize: options.contextSize,
        threads,
      });
      const sequences = Array.from({ length: options.parallel }, () => context.getSequence());
      return new ModelRuntime(llama, model, context, pickChatWrapper(mod, model), mod, sequences, threads);
    } catch (err) {
      await llama.dispose();
      throw new Error(`loading model ${options.modelPath} failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** Tokens per sequence as llama.cpp actually allocated them (it may round up). */
  get contextSize(): number {
    return this.context.contextSize;
  }

  get chatTemplateName(): string {
    return this.chatWrapper.wrapperName;
  }

  /** Prompt length as the model sees it: the history rendered by the chat template, then tokenized. */
  countPromptTokens(history: ChatHistoryItem[]): number {
    const withReply = history.at(-1)?.type === 'model' ? history : [...history, { type: 'model' as const, response: [] }];
    const { contextText } = this.chatWrapper.generateContextState({ chatHistory: withReply });
    return contextText.tokenize(this.model.tokenizer).length;
  }

  jsonGrammar(): Promise<LlamaGrammar> {
    return this.llama.getGrammarFor('json');
  }

  jsonSchemaGrammar(schema: Record<string, unknown>): Promise<LlamaGrammar> {
    // The schema comes from the request, so its type is only known at run time; the grammar builder
    // throws on anything it cannot express, and the caller turns that into a 400.
    return this.llama.createGrammarForJsonSchema(schema as GbnfJsonSchema as never);
  }

  /**
   * One sampled answer on a sequence the caller holds exclusively. The sequence is wiped first, so
   * nothing from an earlier request (or an earlier choice) can shape this one, and a given seed
   * always starts from the same state.
   */
  async generate(sequence: LlamaContextSequence, history: ChatHistoryItem[], options: GenerateOptions): Promise<Generation> {
    await sequence.clearHistory();
    const chat = new this.mod.LlamaChat({ contextSequence: sequence, chatWrapper: this.chatWrapper, autoDisposeSequence: false });
    try {
      const before = sequence.tokenMeter.usedOutputTokens;
      const penalties = options.frequencyPenalty != null || options.presencePenalty != null;
      const result = await chat.generateResponse(history, {
        maxTokens: options.maxTokens,
        temperature: options.temperature,
        topP: options.topP,
        topK: options.topK,
        minP: options.minP,
        seed: options.seed,
        customStopTriggers: options.stop.length > 0 ? options.stop : undefined,
        // OpenAI semantics: no repetition penalty unless the request asks for one.
        repeatPenalty: penalties
          ? { frequencyPenalty: options.frequencyPenalty ?? undefined, presencePenalty: options.presencePenalty ?? undefined }
          : false,
        grammar: options.grammar,
        signal: options.signal,
      });
      if (result.metadata.stopReason === 'abort') throw options.signal?.reason ?? new Error('generation aborted');
      return {
        text: result.response,
        finishReason: result.metadata.stopReason === 'maxTokens' ? 'length' : 'stop',
        completionTokens: sequence.tokenMeter.usedOutputTokens - before,
      };
    } finally {
      chat.dispose({ disposeSequence: false });
    }
  }

  async dispose(): Promise<void> {
    await this.context.dispose();
    await this.model.dispose();
    await this.llama.dispose();
  }
}

/**
 * The GGUF's own Jinja template, rendered as written (SmolLM2's adds its default system prompt when
 * none is given, as HF and vLLM do); node-llama-cpp's automatic choice would swap in a generic ChatML
 * wrapper that drops it.
 */
function pickChatWrapper(mod: typeof import('node-llama-cpp', { with: { 'resolution-mode': 'import' } }), model: LlamaModel): ChatWrapper {
  const template = model.fileInfo.metadata.tokenizer?.chat_template;
  if (typeof template === 'string' && template.length > 0) {
    return new mod.JinjaTemplateChatWrapper({ template, tokenizer: model.tokenizer });
  }
  return mod.resolveChatWrapper(model);
}
