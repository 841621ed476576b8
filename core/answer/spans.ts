/**
 * Locating candidate final answers in free-form model text. Every pattern here is ASCII-only and
 * avoids `\s`, `\d`, `\b` and `$`-before-newline so that the Python port (answer.py) matches the
 * same characters: both sides must agree on every vector in vectors.json.
 */

const WHITESPACE = ' \t\r\n\f\v';

export function trimWs(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && WHITESPACE.includes(s[start])) start++;
  while (end > start && WHITESPACE.includes(s[end - 1])) end--;
  return s.slice(start, end);
}

/**
 * A number as people write it: optional minus (not when it is a subtraction like `5-3`),
 * thousands separators, decimals, and a simple fraction `1/2`.
 */
export const NUMBER_PATTERN =
  '(?:(?<![0-9A-Za-z)\\]}])-)?(?<![0-9.])(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?![0-9])(?:\\.[0-9]+)?(?:/[0-9]+(?:\\.[0-9]+)?)?';

/** Content of the last `\boxed{...}` / `\fbox{...}` (nested braces allowed), or `\boxed 5`. */
export function lastBoxed(text: string): string | null {
  let found: string | null = null;
  for (const m of text.matchAll(/\\(?:boxed|fbox)(?![A-Za-z])/g)) {
    const after = m.index + m[0].length;
    let i = after;
    while (i < text.length && (text[i] === ' ' || text[i] === '\t')) i++;
    if (text[i] === '{') {
      let depth = 0;
      for (let j = i; j < text.length; j++) {
        if (text[j] === '{') depth++;
        else if (text[j] === '}') {
          depth--;
          if (depth === 0) {
            found = text.slice(i + 1, j);
            break;
          }
        }
      }
    } else if (i > after) {
      const token = /^[^ \t\r\n$]+/.exec(text.slice(i));
      if (token) found = token[0];
    }
  }
  return found === null ? null : trimWs(found);
}

/**
 * The rest of the last `#### ...` line (GSM8K's final-answer marker). Lines whose content starts
 * with a letter are markdown headings ("#### Step 2"), not answers.
 */
export function hashLine(text: string): string | null {
  let found: string | null = null;
  for (const m of text.matchAll(/####[ \t]*([^\n]*)/g)) {
    const rest = trimWs(m[1]);
    if (rest !== '' && !/^[A-Za-z]/.test(rest)) found = rest;
  }
  return found;
}

/**
 * What follows the last "answer is" / "answer:" (and, unless disabled, a line starting `A:`),
 * up to the end of its line or sentence. Markdown bold around it is dropped.
 */
export function answerPhrase(text: string, allowShortA: boolean): string | null {
  let end = -1;
  let start = -1;
  const consider = (m: RegExpExecArray): void => {
    if (m.index >= start) {
      start = m.index;
      end = m.index + m[0].length;
    }
  };
  for (const m of text.matchAll(/(?<![A-Za-z])answer(?:[ \t]+is[ \t]*:?|[ \t]*:)/gi)) consider(m);
  if (allowShortA) for (const m of text.matchAll(/(?:^|\n)[ \t]*A[ \t]*:/g)) consider(m);
  if (end < 0) return null;
  let span = text.slice(end);
  const newline = span.indexOf('\n');
  if (newline >= 0) span = span.slice(0, newline);
  const sentenceEnd = /\.(?=[ \t]|$)/.exec(span);
  if (sentenceEnd) span = span.slice(0, sentenceEnd.index);
  span = trimWs(trimWs(span).replace(/^\*+|\*+$/g, ''));
  return span === '' ? null : span;
}

/** The last number written anywhere in the text, as written. */
export function lastNumber(text: string): string | null {
  let found: string | null = null;
  for (const m of text.matchAll(new RegExp(NUMBER_PATTERN, 'g'))) found = m[0];
  return found;
}

export function lastLine(text: string): string | null {
  const lines = text.split('\n').map(trimWs).filter((l) => l !== '');
  return lines.length > 0 ? lines[lines.length - 1] : null;
}
