"""The rules for ``numeric``, ``choice`` and ``text`` answers; checker.py is what callers use.

These rules began as a port of core/answer/ (TypeScript), which is kept frozen for the replay of
workflows recorded before the checker moved here; ``math`` answers are math_answer.py's now. What
``extracted`` means, per task:

- numeric: the rest of the ``####`` line, else the last ``\\boxed{}`` content, else what follows
  "answer is" / "answer:" / a line-start ``A:`` to the end of its line or sentence, else the last
  number as written ("$18.00", "1,234"); the first of these that holds a number.
- choice: the letter as written without brackets ("b" for "(b)"), or the option text when the
  answer names an option by its text.
- text: the last ``\\boxed{}``, the answer phrase, or else the last non-empty line.

Patterns are ASCII-only (``re.ASCII``) and end-of-string is ``\\Z``, as they were written to match
exactly the characters the JavaScript patterns match.
"""

from __future__ import annotations

import re
from typing import Callable, Optional, Sequence

Options = Optional[Sequence[str]]

_WHITESPACE = " \t\r\n\f\v"
_A = re.ASCII


def _trim(s: str) -> str:
    return s.strip(_WHITESPACE)


# ---- locating candidate answers (spans.ts) -------------------------------------------------

NUMBER_PATTERN = (
    r"(?:(?<![0-9A-Za-z)\]}])-)?(?<![0-9.])(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?![0-9])"
    r"(?:\.[0-9]+)?(?:/[0-9]+(?:\.[0-9]+)?)?"
)
_NUMBER = re.compile(NUMBER_PATTERN, _A)


def last_boxed(text: str) -> Optional[str]:
    """Content of the last ``\\boxed{...}`` / ``\\fbox{...}`` (nested braces allowed), or ``\\boxed 5``."""
    found = None
    for m in re.finditer(r"\\(?:boxed|fbox)(?![A-Za-z])", text, _A):
        after = m.end()
        i = after
        while i < len(text) and text[i] in " \t":
            i += 1
        if i < len(text) and text[i] == "{":
            depth = 0
            for j in range(i, len(text)):
                if text[j] == "{":
                    depth += 1
                elif text[j] == "}":
                    depth -= 1
                    if depth == 0:
                        found = text[i + 1 : j]
                        break
        elif i > after:
            token = re.match(r"[^ \t\r\n$]+", text[i:], _A)
            if token:
                found = token.group(0)
    return None if found is None else _trim(found)


def hash_line(text: str) -> Optional[str]:
    """The rest of the last ``#### ...`` line; lines starting with a letter are markdown headings."""
    found = None
    for m in re.finditer(r"####[ \t]*([^\n]*)", text, _A):
        rest = _trim(m.group(1))
        if rest != "" and not re.match(r"[A-Za-z]", rest, _A):
            found = rest
    return found


def answer_phrase(text: str, allow_short_a: bool) -> Optional[str]:
    """What follows the last "answer is" / "answer:" (or a line-start ``A:``) to its line or sentence end."""
    start, end = -1, -1
    matches = list(re.finditer(r"(?<![A-Za-z])answer(?:[ \t]+is[ \t]*:?|[ \t]*:)", text, _A | re.IGNORECASE))
    if allow_short_a:
        matches += list(re.finditer(r"(?:^|\n)[ \t]*A[ \t]*:", text, _A))
    for m in matches:
        if m.start() >= start:
            start, end = m.start(), m.end()
    if end < 0:
        return None
    span = text[end:]
    newline = span.find("\n")
    if newline >= 0:
        span = span[:newline]
    sentence_end = re.search(r"\.(?=[ \t]|\Z)", span, _A)
    if sentence_end:
        span = span[: sentence_end.start()]
    span = _trim(re.sub(r"^\*+|\*+\Z", "", _trim(span)))
    return None if span == "" else span


def last_number(text: str) -> Optional[str]:
    found = None
    for m in _NUMBER.finditer(text):
        found = m.group(0)
    return found


def last_line(text: str) -> Optional[str]:
    lines = [_trim(line) for line in text.split("\n")]
    lines = [line for line in lines if line != ""]
    return lines[-1] if lines else None


# ---- numeric (numeric.ts) --------------------------------------------------------------------


def numeric_value(span: str) -> Optional[float]:
    """The first number of an answer span; currency, ``%`` and units are ignored."""
    s = span.replace("\u2212", "-")
    s = re.sub(r"\\[dt]?frac\{([0-9.,]+)\}\{([0-9.,]+)\}", lambda m: m.group(1) + "/" + m.group(2), s, flags=_A)
    s = re.sub(r"\\[dt]?frac([0-9])([0-9])", lambda m: m.group(1) + "/" + m.group(2), s, flags=_A)
    s = re.sub(r"\\[!,;: ]", "", s, flags=_A)
    s = s.replace("{,}", ",")
    s = re.sub(r"\\?\$", "", s, flags=_A)
    m = _NUMBER.search(s)
    return None if m is None else parse_number_token(m.group(0))


def parse_number_token(token: str) -> Optional[float]:
    plain = token.replace(",", "")
    if "/" not in plain:
        return float(plain)
    num, den = plain.split("/", 1)
    if float(den) == 0:
        return None
    return float(num) / float(den)


def same_number(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def numeric_equivalent(extracted: str, gold: str) -> bool:
    a, b = numeric_value(extracted), numeric_value(gold)
    return a is not None and b is not None and same_number(a, b)


# ---- choice (choice.ts) ----------------------------------------------------------------------

_OPTION_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_LETTER_ONLY = re.compile(r"(?:(?:option|choice)[ \t]*)?[(\[]?([A-Ea-e])[)\]]?[.:)]?\Z", _A | re.IGNORECASE)
_LEADING_LETTER = re.compile(
    r"(?:(?:[Oo]ption|[Cc]hoice|OPTION|CHOICE)[ \t]*)?(?:\(([A-Ea-e])\)|\[([A-Ea-e])\]|([A-E])(?![A-Za-z0-9])"
    r"|([a-e])(?![A-Za-z0-9])(?=[ \t]*(?:[.,;:!?)]|\Z)))",
    _A,
)
_LETTERED_LINE = re.compile(r"[(\[]?([A-E])[)\].:][ \t]+[^ \t]", _A)
_TEXT_WRAPPER = re.compile(r"\\(?:text|textbf|mathrm|mbox)\{([^{}]*)\}", _A)


def normalise_option_text(s: str) -> str:
    return re.sub(r"\.+\Z", "", _trim(re.sub(r"[ \t\r\n\f\v]+", " ", s.lower())))


def _option_index(s: str, options: Options) -> Optional[int]:
    if not options:
        return None
    wanted = normalise_option_text(s)
    if wanted == "":
        return None
    for i, option in enumerate(options):
        if normalise_option_text(option) == wanted:
            return i
    return None


def choice_from_span(span: str, options: Options, whole_line: bool) -> Optional[str]:
    s = _trim(_TEXT_WRAPPER.sub(lambda m: m.group(1), span))
    m = (_LETTER_ONLY.match(s) or _LETTERED_LINE.match(s)) if whole_line else _LEADING_LETTER.match(s)
    if m:
        return next((g for g in m.groups() if g is not None), None)
    return s if _option_index(s, options) is not None else None


def choice_letter(s: str, options: Options) -> Optional[str]:
    m = _LETTER_ONLY.match(_trim(s))
    if m:
        return m.group(1).upper()
    i = _option_index(s, options)
    return _OPTION_LETTERS[i] if i is not None and i < len(_OPTION_LETTERS) else None


def choice_equivalent(extracted: str, gold: str, options: Options) -> bool:
    a = choice_letter(extracted, options)
    return a is not None and a == choice_letter(gold, options)


# ---- public API (index.ts) -------------------------------------------------------------------


def _first_usable(sources: Sequence[Callable[[], Optional[str]]], usable: Callable[[str], bool]) -> Optional[str]:
    for find in sources:
        span = find()
        if span is not None and usable(span):
            return span
    return None


def extract_answer(task: str, completion: str, options: Options = None) -> Optional[str]:
    c = completion
    if task == "numeric":
        return _first_usable(
            [lambda: hash_line(c), lambda: last_boxed(c), lambda: answer_phrase(c, True), lambda: last_number(c)],
            lambda span: numeric_value(span) is not None,
        )
    if task == "choice":
        for find, whole_line in ((lambda: last_boxed(c), False), (lambda: answer_phrase(c, False), False), (lambda: last_line(c), True)):
            span = find()
            answer = None if span is None else choice_from_span(span, options, whole_line)
            if answer is not None:
                return answer
        return None
    if task == "text":
        return _first_usable(
            [lambda: last_boxed(c), lambda: answer_phrase(c, True), lambda: last_line(c)],
            lambda span: _trim(span) != "",
        )
    raise ValueError(f"unknown task kind {task!r}: expected numeric, choice or text (math is math_answer.py's)")


def is_equivalent(task: str, extracted: str, gold: str, options: Options = None) -> Optional[bool]:
    if task == "numeric":
        return numeric_equivalent(extracted, gold)
    if task == "choice":
        return choice_equivalent(extracted, gold, options)
    if task == "text":
        return None
    raise ValueError(f"unknown task kind {task!r}: expected numeric, choice or text (math is math_answer.py's)")

