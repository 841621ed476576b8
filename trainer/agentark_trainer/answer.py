"""Rule-based answer checking for rewards and evaluation.

A port of core/answer/ (TypeScript): the same specification, and both must pass every case in
core/answer/vectors.json. See core/answer/index.ts for what ``extracted`` means. Patterns are
ASCII-only (``re.ASCII``) and end-of-string is ``\\Z`` so that they match exactly the characters
the JavaScript patterns match.
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


# ---- math (math.ts) --------------------------------------------------------------------------

_TEXT_UNWRAP = re.compile(r"\\(?:text|textbf|mbox|mathrm|mathbf)\{([^{}]*)\}", _A)
_VARIABLE = re.compile(r"(?:[A-Za-z]|\\[A-Za-z]+)(?:_(?:[0-9A-Za-z]|\{[^{}]*\}))?\Z", _A)


def normalise_math(raw: str) -> str:
    """MATH-style normalisation; see math.ts for the reasons behind each step."""
    s = raw.replace("\n", " ").replace("\u2212", "-")
    s = re.sub(r"\\?\$", "", s, flags=_A)
    s = re.sub(r"\\(?:left|right)(?![A-Za-z])", "", s, flags=_A)
    s = re.sub(r"\\[!,;: ]", "", s, flags=_A)
    s = s.replace("\\displaystyle", "")
    s = re.sub(r"\\[dt]frac", lambda m: "\\frac", s, flags=_A)
    s = re.sub(r"\^\{?\\circ\}?", "", s, flags=_A)
    s = s.replace("\u00b0", "")
    s = re.sub(r"\\?%", "", s, flags=_A)
    unit = re.search(r"\\(?:text|mbox|mathrm)\{[ \t]", s, _A)
    if unit and unit.start() > 0:
        s = s[: unit.start()]
    previous = None
    while s != previous:
        previous = s
        s = _TEXT_UNWRAP.sub(lambda m: m.group(1), s)
    s = re.sub(r"[ \t\r\n\f\v]+", "", s, flags=_A)
    s = s.replace("{,}", ",")
    s = re.sub(r"\\sqrt([0-9A-Za-z])", lambda m: "\\sqrt{" + m.group(1) + "}", s, flags=_A)
    s = re.sub(r"\\frac([0-9A-Za-z])([0-9A-Za-z])", lambda m: "\\frac{%s}{%s}" % m.groups(), s, flags=_A)
    s = re.sub(r"\\frac\{([^{}]*)\}([0-9A-Za-z])", lambda m: "\\frac{%s}{%s}" % m.groups(), s, flags=_A)
    s = re.sub(r"\\frac([0-9A-Za-z])\{", lambda m: "\\frac{" + m.group(1) + "}{", s, flags=_A)
    s = re.sub(r"(^|[^0-9])\.([0-9])", lambda m: m.group(1) + "0." + m.group(2), s, flags=_A)
    s = re.sub(r"\.+\Z", "", s, flags=_A)
    sides = s.split("=")
    if len(sides) == 2 and _VARIABLE.match(sides[0]):
        s = sides[1]
    s = re.sub(r"^(-?)([0-9]+)/([0-9]+)\Z", lambda m: "%s\\frac{%s}{%s}" % m.groups(), s, flags=_A)
    if re.match(r"-?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?\Z", s, _A):
        s = s.replace(",", "")
    return s


_DECIMAL = r"-?[0-9]+(?:\.[0-9]+)?"
_PLAIN_NUMBER = re.compile(_DECIMAL + r"\Z", _A)
_FRACTION = re.compile(r"(-?)\\frac\{(" + _DECIMAL + r")\}\{(" + _DECIMAL + r")\}\Z", _A)


def math_value(s: str) -> Optional[float]:
    if _PLAIN_NUMBER.match(s):
        return float(s)
    m = _FRACTION.match(s)
    if not m or float(m.group(3)) == 0:
        return None
    return (-1.0 if m.group(1) == "-" else 1.0) * (float(m.group(2)) / float(m.group(3)))


def split_tuple(s: str):
    """``(open, close, items)`` for ``(1,2)``, ``[0,\\infty)`` or ``1,2``; None under two items."""
    open_, close, body = "", "", s
    if len(s) >= 2 and s[0] in "([" and s[-1] in ")]" and _encloses_all(s):
        open_, close, body = s[0], s[-1], s[1:-1]
    items, depth, start = [], 0, 0
    for i, c in enumerate(body):
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif c == "," and depth == 0:
            items.append(body[start:i])
            start = i + 1
    items.append(body[start:])
    return (open_, close, items) if len(items) >= 2 else None


def _encloses_all(s: str) -> bool:
    depth = 0
    for i, c in enumerate(s):
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        if depth == 0 and i < len(s) - 1:
            return False
    return depth == 0


def _same_normalised(a: str, b: str) -> bool:
    if a == b:
        return True
    va, vb = math_value(a), math_value(b)
    if va is not None and vb is not None:
        return same_number(va, vb)
    ta, tb = split_tuple(a), split_tuple(b)
    if ta is None or tb is None:
        return False
    return (
        ta[0] == tb[0]
        and ta[1] == tb[1]
        and len(ta[2]) == len(tb[2])
        and all(_same_normalised(x, y) for x, y in zip(ta[2], tb[2]))
    )


def math_equivalent(extracted: str, gold: str) -> bool:
    a = normalise_math(extracted)
    return a != "" and _same_normalised(a, normalise_math(gold))


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
    if task == "math":
        return _first_usable(
            [lambda: last_boxed(c), lambda: hash_line(c), lambda: answer_phrase(c, True), lambda: last_number(c)],
            lambda span: span != "",
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
    raise ValueError(f"unknown task kind {task!r}: expected numeric, math, choice or text")


def is_equivalent(task: str, extracted: str, gold: str, options: Options = None) -> Optional[bool]:
    if task == "numeric":
        return numeric_equivalent(extracted, gold)
    if task == "math":
        return math_equivalent(extracted, gold)
    if task == "choice":
        return choice_equivalent(extracted, gold, options)
    if task == "text":
        return None
    raise ValueError(f"unknown task kind {task!r}: expected numeric, math, choice or text")


def check_answer(task: str, completion: str, gold: str, options: Options = None) -> tuple[Optional[str], Optional[bool]]:
    """``(extracted, correct)``; correct is None only when no rule decides (task ``text``)."""
    extracted = extract_answer(task, completion, options)
    if extracted is None:
        return None, (None if task == "text" else False)
    return extracted, is_equivalent(task, extracted, gold, options)
