import { sameNumber } from './numeric';

/**
 * MATH-style normalisation (in the spirit of Hendrycks et al.'s `strip_string`): two answers that
 * a grader would accept as the same should normalise to the same string, or to two strings that
 * mathEquivalent can still match by value or element by element.
 */
export function normaliseMath(raw: string): string {
  let s = raw
    .replace(/\n/g, ' ')
    .replace(/\u2212/g, '-')
    .replace(/\\?\$/g, '')
    .replace(/\\(?:left|right)(?![A-Za-z])/g, '')
    .replace(/\\[!,;: ]/g, '')
    .replace(/\\displaystyle/g, '')
    .replace(/\\[dt]frac/g, '\\frac')
    .replace(/\^\{?\\circ\}?/g, '')
    .replace(/\u00b0/g, '')
    .replace(/\\?%/g, '');
  // `5 \text{ cm}`: text that starts with a space after the answer is a unit, not part of it.
  const unit = s.search(/\\(?:text|mbox|mathrm)\{[ \t]/);
  if (unit > 0) s = s.slice(0, unit);
  let previous: string;
  do {
    previous = s;
    s = s.replace(/\\(?:text|textbf|mbox|mathrm|mathbf)\{([^{}]*)\}/g, (_m, inner: string) => inner);
  } while (s !== previous);
  s = s
    .replace(/[ \t\r\n\f\v]+/g, '')
    .replace(/\{,\}/g, ',')
    .replace(/\\sqrt([0-9A-Za-z])/g, (_m, a: string) => `\\sqrt{${a}}`)
    .replace(/\\frac([0-9A-Za-z])([0-9A-Za-z])/g, (_m, a: string, b: string) => `\\frac{${a}}{${b}}`)
    .replace(/\\frac\{([^{}]*)\}([0-9A-Za-z])/g, (_m, a: string, b: string) => `\\frac{${a}}{${b}}`)
    .replace(/\\frac([0-9A-Za-z])\{/g, (_m, a: string) => `\\frac{${a}}{`)
    .replace(/(^|[^0-9])\.([0-9])/g, (_m, before: string, digit: string) => `${before}0.${digit}`)
    .replace(/\.+$/, '');
  // `x = 5`: a single variable assigned a value is that value.
  const sides = s.split('=');
  if (sides.length === 2 && /^(?:[A-Za-z]|\\[A-Za-z]+)(?:_(?:[0-9A-Za-z]|\{[^{}]*\}))?$/.test(sides[0])) {
    s = sides[1];
  }
  s = s.replace(/^(-?)([0-9]+)\/([0-9]+)$/, (_m, sign: string, a: string, b: string) => `${sign}\\frac{${a}}{${b}}`);
  if (/^-?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?$/.test(s)) s = s.replace(/,/g, '');
  return s;
}

const DECIMAL = '-?[0-9]+(?:\\.[0-9]+)?';
const PLAIN_NUMBER = new RegExp(`^${DECIMAL}$`);
const FRACTION = new RegExp(`^(-?)\\\\frac\\{(${DECIMAL})\\}\\{(${DECIMAL})\\}$`);

/** The value of a normalised answer that is a plain number or a numeric `\frac`, else null. */
export function mathValue(s: string): number | null {
  if (PLAIN_NUMBER.test(s)) return Number(s);
  const m = FRACTION.exec(s);
  if (!m) return null;
  const den = Number(m[3]);
  if (den === 0) return null;
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) / den);
}

interface Tuple {
  open: string;
  close: string;
  items: string[];
}

/**
 * Splits `(1,2)`, `[0,\infty)` or a bare list `1,2` at its top-level commas. Bracket kinds are kept
 * because `[1,2)` and `(1,2)` are different intervals. Fewer than two items is not a tuple.
 */
export function splitTuple(s: string): Tuple | null {
  let open = '';
  let close = '';
  let body = s;
  if (s.length >= 2 && '(['.includes(s[0]) && ')]'.includes(s[s.length - 1]) && enclosesAll(s)) {
    open = s[0];
    close = s[s.length - 1];
    body = s.slice(1, -1);
  }
  const items: string[] = [];
  let depth = 0;
  let from = 0;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if ('([{'.includes(c)) depth++;
    else if (')]}'.includes(c)) depth--;
    else if (c === ',' && depth === 0) {
      items.push(body.slice(from, i));
      from = i + 1;
    }
  }
  items.push(body.slice(from));
  return items.length >= 2 ? { open, close, items } : null;
}

/** True when the first bracket closes only at the last character: `(1,2)` yes, `(1)+(2)` no. */
function enclosesAll(s: string): boolean {
  let depth = 0;
  for (let i = 0; i < s.length; i++) {
    if ('([{'.includes(s[i])) depth++;
    else if (')]}'.includes(s[i])) depth--;
    if (depth === 0 && i < s.length - 1) return false;
  }
  return depth === 0;
}

function sameNormalised(a: string, b: string): boolean {
  if (a === b) return true;
  const va = mathValue(a);
  const vb = mathValue(b);
  if (va !== null && vb !== null) return sameNumber(va, vb);
  const ta = splitTuple(a);
  const tb = splitTuple(b);
  if (ta === null || tb === null) return false;
  return (
    ta.open === tb.open &&
    ta.close === tb.close &&
    ta.items.length === tb.items.length &&
    ta.items.every((item, i) => sameNormalised(item, tb.items[i]))
  );
}

export function mathEquivalent(extracted: string, gold: string): boolean {
  const a = normaliseMath(extracted);
  return a !== '' && sameNormalised(a, normaliseMath(gold));
}
