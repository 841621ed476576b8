import { trimWs } from './spans';

const OPTION_LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** A whole string that is only a letter: `B`, `(B)`, `[b]`, `B.`, `B)`, `Option B`. */
const LETTER_ONLY = /^(?:(?:option|choice)[ \t]*)?[([]?([A-Ea-e])[)\]]?[.:)]?$/i;

/**
 * A letter at the start of a span: `B because ...`, `(b) ...`. A bare lower-case letter counts only
 * before punctuation or the end, so that "the answer is a drug ..." is not read as option A.
 */
const LEADING_LETTER =
  /^(?:(?:[Oo]ption|[Cc]hoice|OPTION|CHOICE)[ \t]*)?(?:\(([A-Ea-e])\)|\[([A-Ea-e])\]|([A-E])(?![A-Za-z0-9])|([a-e])(?![A-Za-z0-9])(?=[ \t]*(?:[.,;:!?)]|$)))/;

/** A line that restates an option: `B. Paracetamol`, `(B) Paracetamol`. */
const LETTERED_LINE = /^[([]?([A-E])[)\].:][ \t]+[^ \t]/;

const TEXT_WRAPPER = /\\(?:text|textbf|mathrm|mbox)\{([^{}]*)\}/g;

/** Case- and space-insensitive form of an option text; a closing full stop does not matter. */
export function normaliseOptionText(s: string): string {
  return trimWs(s.toLowerCase().replace(/[ \t\r\n\f\v]+/g, ' ')).replace(/\.+$/, '');
}

function optionIndex(s: string, options: readonly string[] | undefined): number | null {
  if (!options) return null;
  const wanted = normaliseOptionText(s);
  if (wanted === '') return null;
  const i = options.findIndex((o) => normaliseOptionText(o) === wanted);
  return i >= 0 ? i : null;
}

/**
 * The answer a span gives, as written: a letter (without its brackets) or the text of an option.
 * `wholeLine` is for a last line, where a letter must stand alone or open a restated option.
 */
export function choiceFromSpan(span: string, options: readonly string[] | undefined, wholeLine: boolean): string | null {
  const s = trimWs(span.replace(TEXT_WRAPPER, (_m, inner: string) => inner));
  const m = wholeLine ? LETTER_ONLY.exec(s) ?? LETTERED_LINE.exec(s) : LEADING_LETTER.exec(s);
  if (m) return m.slice(1).find((g) => g !== undefined) ?? null;
  return optionIndex(s, options) !== null ? s : null;
}

/** The option letter an answer or a gold names (upper case), or null when it names none. */
export function choiceLetter(s: string, options: readonly string[] | undefined): string | null {
  const m = LETTER_ONLY.exec(trimWs(s));
  if (m) return m[1].toUpperCase();
  const i = optionIndex(s, options);
  return i !== null && i < OPTION_LETTERS.length ? OPTION_LETTERS[i] : null;
}

export function choiceEquivalent(extracted: string, gold: string, options: readonly string[] | undefined): boolean {
  const a = choiceLetter(extracted, options);
  return a !== null && a === choiceLetter(gold, options);
}
