import type { ChatMessage } from './chat';

/**
 * What happens when a prompt would not fit the teacher's context (teacher.contextWindow, or the
 * server's max_model_len), instead of failing the problem. The steps apply in this order, each only
 * while the prompt is still too long, and the record names the steps that were taken:
 *
 *   peer-reasoning  peers' reasoning left out (when debate.peerReasoning is 'keep')
 *   older-rounds    the agent's own exchanges before the previous round left out
 *   peer-tail       each peer's solution cut to its last steps and answer, in equal shares
 *   own-tail        the agent's previous solution cut to its last steps and answer
 *
 * For the summarizer, the verifier and the judge, whose prompts hold several solutions, only the
 * tail cut applies ('solution-tail'). Tokens are estimated at 3 characters each, which overcounts
 * English for every common tokenizer, so a prompt said to fit does fit.
 */

export type ContextCut = 'peer-reasoning' | 'older-rounds' | 'peer-tail' | 'own-tail' | 'solution-tail';

export const CHARS_PER_TOKEN = 3;
const PER_MESSAGE_TOKENS = 8;
export const OMITTED = '[… earlier steps left out …]';

export const estimateTokens = (text: string): number => Math.ceil(text.length / CHARS_PER_TOKEN);

export const messagesTokens = (messages: ChatMessage[]): number =>
  messages.reduce((sum, m) => sum + PER_MESSAGE_TOKENS + estimateTokens(m.content), 0);

export class ContextTooSmall extends Error {
  constructor(readonly needed: number, readonly budget: number, what: string) {
    super(`${what} needs about ${needed} prompt tokens even after every cut, but only ${budget} are left in the teacher's context after maxTokens`);
  }
}

/** The last steps (lines) of a text within `maxChars`, marked as cut; the text itself when it fits. */
export function tail(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  const room = maxChars - OMITTED.length - 1;
  if (room <= 0) return OMITTED;
  const lines = text.split('\n');
  const kept: string[] = [];
  let used = 0;
  for (let i = lines.length - 1; i >= 0; i--) {
    const cost = lines[i].length + 1;
    if (used + cost > room) {
      if (kept.length === 0) kept.unshift(lines[i].slice(lines[i].length - room)); // one long last line: its end
      break;
    }
    kept.unshift(lines[i]);
    used += cost;
  }
  return `${OMITTED}\n${kept.join('\n')}`;
}

/**
 * Cut every text to its tail, in equal shares of what the prompt leaves, until `build(texts)` fits.
 * Returns null when even empty texts do not fit.
 */
export function fitTexts(build: (texts: string[]) => ChatMessage[], texts: string[], budget: number): { messages: ChatMessage[]; cut: boolean } | null {
  const whole = build(texts);
  if (messagesTokens(whole) <= budget) return { messages: whole, cut: false };
  const overhead = messagesTokens(build(texts.map(() => '')));
  if (overhead > budget || texts.length === 0) return null;
  let share = Math.floor(((budget - overhead) * CHARS_PER_TOKEN) / texts.length);
  // Cutting at line boundaries keeps a little less than the share; shrink until it fits.
  for (let i = 0; i < 20 && share > 0; i++) {
    const messages = build(texts.map((t) => tail(t, share)));
    if (messagesTokens(messages) <= budget) return { messages, cut: true };
    share = Math.floor(share * 0.9);
  }
  const messages = build(texts.map(() => OMITTED));
  return messagesTokens(messages) <= budget ? { messages, cut: true } : null;
}

export interface PeerText { content: string; reasoning?: string }

/**
 * One agent's conversation for round k = own.length + 1 (Du et al.): the first prompt, then for each
 * earlier round its own reply and the next prompt with its peers' replies of that round.
 */
export interface AgentTurnParts {
  /** The agent's own replies in rounds 1..k−1 (answer text only). */
  own: string[];
  /** Its peers' replies in rounds 1..k−1. */
  peers: PeerText[][];
  peerReasoning: 'strip' | 'keep';
}

export function fitAgentTurn(
  build: (own: string[], peers: string[][]) => ChatMessage[],
  parts: AgentTurnParts,
  budget: number | undefined,
): { messages: ChatMessage[]; cut: ContextCut[] } {
  const show = (p: PeerText, keep: boolean): string => (keep && p.reasoning ? `${p.reasoning}\n\n${p.content}` : p.content);
  let keepReasoning = parts.peerReasoning === 'keep';
  let own = parts.own;
  let peers = parts.peers;
  const render = (): ChatMessage[] => build(own, peers.map((r) => r.map((p) => show(p, keepReasoning))));
  let messages = render();
  if (budget === undefined || messagesTokens(messages) <= budget) return { messages, cut: [] };
  const cut: ContextCut[] = [];
  if (keepReasoning && peers.some((r) => r.some((p) => p.reasoning))) {
    keepReasoning = false;
    cut.push('peer-reasoning');
    messages = render();
    if (messagesTokens(messages) <= budget) return { messages, cut };
  }
  if (own.length > 1) {
    // The first prompt, the previous round's own reply, and this round's prompt.
    own = own.slice(-1);
    peers = peers.slice(-1);
    cut.push('older-rounds');
    messages = render();
    if (messagesTokens(messages) <= budget) return { messages, cut };
  }
  const latest = peers[peers.length - 1]?.map((p) => show(p, keepReasoning)) ?? [];
  const earlier = peers.slice(0, -1).map((r) => r.map((p) => show(p, keepReasoning)));
  const peerFit = fitTexts((texts) => build(own, [...earlier, texts]), latest, budget);
  if (peerFit) return { messages: peerFit.messages, cut: [...cut, 'peer-tail'] };
  // Still too long with the peers cut to nothing: the agent's own reply is cut too, all in equal shares.
  const n = own.length;
  const allFit = fitTexts((texts) => build(texts.slice(0, n), [...earlier, texts.slice(n)]), [...own, ...latest], budget);
  if (allFit) return { messages: allFit.messages, cut: [...cut, 'peer-tail', 'own-tail'] };
  throw new ContextTooSmall(messagesTokens(build(own.map(() => ''), [...earlier, latest.map(() => '')])), budget, 'this agent turn');
}
