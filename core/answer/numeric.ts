import { NUMBER_PATTERN } from './spans';

const FIRST_NUMBER = new RegExp(NUMBER_PATTERN);

/**
 * The value of the first number in an answer span, after the LaTeX a model may wrap it in
 * (`\$`, `\frac{1}{2}`, `\!`). Currency signs, `%` and units are ignored because only the number
 * is read: "$18.00", "18 dollars", "18%" and "18 cm" are all 18.
 */
export function numericValue(span: string): number | null {
  const s = span
    .replace(/\u2212/g, '-')
    .replace(/\\[dt]?frac\{([0-9.,]+)\}\{([0-9.,]+)\}/g, (_m, a: string, b: string) => `${a}/${b}`)
    .replace(/\\[dt]?frac([0-9])([0-9])/g, (_m, a: string, b: string) => `${a}/${b}`)
    .replace(/\\[!,;: ]/g, '')
    .replace(/\{,\}/g, ',')
    .replace(/\\?\$/g, '');
  const m = FIRST_NUMBER.exec(s);
  if (!m) return null;
  return parseNumberToken(m[0]);
}

/** "1,234" → 1234, "-0.5" → -0.5, "3/4" → 0.75; null for a zero denominator. */
export function parseNumberToken(token: string): number | null {
  const plain = token.replace(/,/g, '');
  const slash = plain.indexOf('/');
  if (slash < 0) return Number(plain);
  const den = Number(plain.slice(slash + 1));
  if (den === 0) return null;
  return Number(plain.slice(0, slash)) / den;
}

/** Equal up to floating-point noise: `0.1 * 3` style rounding must not turn a right answer wrong. */
export function sameNumber(a: number, b: number): boolean {
  return Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
}

export function numericEquivalent(extracted: string, gold: string): boolean {
  const a = numericValue(extracted);
  const b = numericValue(gold);
  return a !== null && b !== null && sameNumber(a, b);
}
