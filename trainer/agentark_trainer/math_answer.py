"""``math`` answers by math-verify, the checker TRL's and open-r1's rewards, verl and lm-evaluation-harness use.

The completion's final answer is extracted by math-verify's own rules with ``\\boxed{}`` first, then
"final answer is …" sentences, then the last LaTeX or plain expression answer; the gold is parsed as a
final answer (wrapped in ``\\boxed{}``). Equivalence is math-verify's: numbers, fractions, radicals,
intervals, sets, tuples (ordered), matrices, equations and relations, units and percentages, text.

math-verify's own timeouts are off here: they use ``signal.alarm`` per call, and the caller
(checker.py) puts one deadline on the whole check instead.

One guard of our own: outside LaTeX, math-verify reads a number glued to a variable (``3x+2``,
``2y``) as that number, so "the answer is 3x+2" would pass for 3. Such tokens are masked before
extraction; a number with a word after it ("5 apples", "12kg") is still read.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from importlib.metadata import version
from typing import Optional

from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse, verify
from sympy import Integer

from .answer import last_boxed

MATH_VERIFY_VERSION = version("math-verify")

# Timeouts off on purpose (see the module docstring); math-verify warns once about it.
logging.getLogger("math_verify").setLevel(logging.ERROR)

_COMPLETION = (LatexExtractionConfig(boxed_match_priority=0), ExprExtractionConfig())
_GOLD = (LatexExtractionConfig(boxed_match_priority=0),)
_GOLD_PLAIN = (ExprExtractionConfig(),)

# Spans math-verify reads as LaTeX: $$…$$, $…$, \[…\], \(…\). \boxed{} is handled by brace matching.
_LATEX_SPAN = re.compile(r"\$\$.*?\$\$|(?<!\\)\$(?:\\\$|[^\n$])*?(?<!\\)\$|\\\[.*?\\\]|\\\(.*?\\\)", re.DOTALL)
# A number glued to one letter, or to letters that go on into an operator: 3x, 2y+1, 4ab^2.
_GLUED = re.compile(r"(?<![A-Za-z0-9.])[0-9]+(?:\.[0-9]+)?(?:[A-Za-z](?![A-Za-z])|[A-Za-z]+(?=[ \t]*[-+*/^=(]))")


def _boxed_spans(text: str) -> list[tuple[int, int]]:
    spans = []
    for m in re.finditer(r"\\(?:boxed|fbox)[ \t]*\{", text):
        depth = 0
        for j in range(m.end() - 1, len(text)):
            if text[j] == "{":
                depth += 1
            elif text[j] == "}":
                depth -= 1
                if depth == 0:
                    spans.append((m.start(), j + 1))
                    break
    return spans


def mask_glued_numbers(text: str) -> str:
    """``3x+2`` → ``□x+2`` outside LaTeX, so that no digit is pulled out of an expression."""
    keep = [(m.start(), m.end()) for m in _LATEX_SPAN.finditer(text)] + _boxed_spans(text)

    def inside(i: int) -> bool:
        return any(a <= i < b for a, b in keep)

    return _GLUED.sub(lambda m: m.group(0) if inside(m.start()) else "\u25a1" * len(m.group(0)), text)


def _unicode(text: str) -> str:
    return text.replace("\u2212", "-").replace("\u00b0", "^{\\circ}")


_INTEGER = re.compile(r"-?(?:0|[1-9][0-9]*)\Z")


def _parse_boxed(content: str, config) -> list:
    """math-verify's parse of ``\\boxed{content}``; a plain integer is read directly, to the very
    result the LaTeX parser would give, without its cost (most answers are integers)."""
    if _INTEGER.match(content):
        return [Integer(content), content]
    return parse("\\boxed{" + content + "}", config, parsing_timeout=None)


def _parse_completion(completion: str) -> list:
    """The last ``\\boxed{}`` (or ``\\fbox{}``) when it holds an answer, else math-verify's extraction."""
    text = _unicode(completion)
    boxed = last_boxed(text)
    if boxed:
        parsed = _parse_boxed(boxed.rstrip(". "), _COMPLETION)
        if parsed:
            return parsed
    return parse(mask_glued_numbers(text), _COMPLETION, parsing_timeout=None)


# A gold is checked against many completions (samples, agents, a GRPO group); its parse is kept.
@lru_cache(maxsize=4096)
def _parse_gold(gold: str) -> list:
    g = _unicode(gold.strip())
    if "\\boxed" in g or re.search(r"(?<!\\)\$", g):
        parsed = parse(g, _GOLD, parsing_timeout=None)
    else:
        parsed = _parse_boxed(g, _GOLD)
    return parsed or parse(g, _GOLD_PLAIN, parsing_timeout=None)


def _as_written(parsed: list) -> Optional[str]:
    """math-verify gives [value, the answer as written]; the written form is what a reader checks."""
    written = [p for p in parsed if isinstance(p, str)]
    return written[-1] if written else None


def check_math(completion: str, gold: str) -> tuple[Optional[str], Optional[bool], Optional[str]]:
    """``(extracted, correct, reason)``: correct is None only when the gold itself cannot be read."""
    target = _parse_gold(gold)
    if not target:
        return None, None, f"the gold answer {gold!r} could not be read as a math answer"
    answer = _parse_completion(completion)
    if not answer:
        return None, False, None
    return _as_written(answer), verify(target, answer, timeout_seconds=None), None


def equivalent_math(a: str, b: str) -> Optional[bool]:
    """Is the extracted answer ``a`` the same answer as ``b`` (read as the reference)?"""
    reference = _parse_gold(b)
    candidate = _parse_gold(a)
    if not reference or not candidate:
        return None if not reference else False
    return verify(reference, candidate, timeout_seconds=None)
