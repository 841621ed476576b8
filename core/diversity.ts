/**
 * Choosing the k diverse correct traces for DA. The paper asks an LLM judge for the most
 * structurally different traces (prompts.ts, diversityJudgeMessages); this file reads the judge's
 * reply, and gives the deterministic lexical fallback used when no judge is configured or its reply
 * is unusable, so DA data never depends on a judge being available.
 */

/** Word 3-grams: short enough to catch shared phrasing, long enough that common words alone do not. */
const NGRAM = 3;
const EPSILON = 1e-9;

function shingles(text: string): Set<string> {
  const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  if (words.length < NGRAM) return new Set(words.length > 0 ? [words.join(' ')] : []);
  const grams = new Set<string>();
  for (let i = 0; i + NGRAM <= words.length; i++) grams.add(words.slice(i, i + NGRAM).join(' '));
  return grams;
}

/** 1 − Jaccard similarity; two texts without any words are identical (distance 0). */
export function lexicalDistance(a: ReadonlySet<string>, b: ReadonlySet<string>): number {
  if (a.size === 0 && b.size === 0) return 0;
  let shared = 0;
  for (const gram of a) if (b.has(gram)) shared += 1;
  return 1 - shared / (a.size + b.size - shared);
}

/**
 * Greedy max-min selection: first the trace farthest from the others on average, then repeatedly
 * the trace whose nearest already-selected trace is farthest. Ties go to the lowest index. Returns
 * min(k, traces.length) indices in the order chosen (the DA rank order).
 */
export function selectDiverseLexical(traces: readonly string[], k: number): number[] {
  const n = traces.length;
  const want = Math.max(0, Math.min(Math.floor(k), n));
  if (want === 0) return [];
  const sets = traces.map(shingles);
  const distance = sets.map((a) => sets.map((b) => lexicalDistance(a, b)));

  // Sums rank like means. Equal sums of different addends can differ in the last bit, so "greater"
  // means greater by more than rounding noise: otherwise a tie would not go to the lowest index.
  let first = 0;
  let bestSum = -1;
  for (let i = 0; i < n; i++) {
    const sum = distance[i].reduce((s, d) => s + d, 0);
    if (sum > bestSum + EPSILON) [first, bestSum] = [i, sum];
  }

  const selected = [first];
  const nearest = distance[first].slice();
  while (selected.length < want) {
    let next = -1;
    for (let i = 0; i < n; i++) {
      if (selected.includes(i)) continue;
      if (next === -1 || nearest[i] > nearest[next] + EPSILON) next = i;
    }
    selected.push(next);
    for (let i = 0; i < n; i++) nearest[i] = Math.min(nearest[i], distance[next][i]);
  }
  return selected;
}

/**
 * The judge's choice from its reply: the first JSON object with a `selected` field, wherever it sits
 * (inside a code fence, after prose). Returns null unless it lists exactly k distinct integers in
 * [0, count) — a partial or invented selection must fall back, not silently shrink the DA data.
 * Numbers given as digit strings ("2") are accepted; small models often quote them.
 */
export function parseJudgeSelection(reply: string, count: number, k: number): number[] | null {
  for (const candidate of jsonObjects(reply)) {
    if (candidate === null || typeof candidate !== 'object' || Array.isArray(candidate) || !('selected' in candidate)) continue;
    return validSelection((candidate as { selected: unknown }).selected, count, k);
  }
  return null;
}

function validSelection(selected: unknown, count: number, k: number): number[] | null {
  if (!Array.isArray(selected) || selected.length !== k || k < 1) return null;
  const indices: number[] = [];
  for (const item of selected) {
    const value = typeof item === 'string' && /^\s*\d+\s*$/.test(item) ? Number(item) : item;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value >= count) return null;
    if (indices.includes(value)) return null;
    indices.push(value);
  }
  return indices;
}

/** Every balanced `{…}` span that parses as JSON, outermost first, scanning left to right. */
function* jsonObjects(text: string): Generator<unknown> {
  let from = text.indexOf('{');
  while (from !== -1) {
    const end = matchingBrace(text, from);
    let parsed: { value: unknown } | null = null;
    if (end !== -1) {
      try {
        parsed = { value: JSON.parse(text.slice(from, end + 1)) as unknown };
      } catch {
        parsed = null;
      }
    }
    if (parsed !== null) yield parsed.value;
    from = text.indexOf('{', parsed !== null ? end + 1 : from + 1);
  }
}

/** Index of the `}` closing the `{` at `start`, skipping braces inside JSON strings; -1 if unclosed. */
function matchingBrace(text: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i += 1;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{') depth += 1;
    else if (c === '}' && (depth -= 1) === 0) return i;
  }
  return -1;
}
