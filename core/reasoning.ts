/**
 * A reasoning teacher's reply has two parts: its reasoning (vLLM's and SGLang's reasoning parsers
 * and DeepSeek's API return it as `reasoning_content`; other servers leave a `<think>…</think>`
 * block at the start of the content) and its answer text. Both are kept; which of them peers see
 * and which become the distillation trace is configured (debate.peerReasoning, datasets.includeReasoning).
 */

const THINK = /^\s*<think>([\s\S]*?)(?:<\/think>|$)/;

/** Split a leading think block off the content; an unclosed block is all reasoning (cut off at maxTokens). */
export function splitThink(content: string): { content: string; reasoning?: string } {
  const m = THINK.exec(content);
  if (!m) return { content };
  return { content: content.slice(m[0].length).replace(/^\s+/, ''), reasoning: m[1].trim() };
}

/** The text of a reply with its reasoning in front, as reasoning models write it; the answer text alone without. */
export function withReasoning(reply: { content: string; reasoning?: string }, include: boolean): string {
  if (!include || !reply.reasoning) return reply.content;
  return `<think>\n${reply.reasoning}\n</think>\n\n${reply.content}`;
}
