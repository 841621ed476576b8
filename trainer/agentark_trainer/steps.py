"""The step-splitting rule of ``core/steps.ts``, ported: the PRM's training steps (prm.jsonl) were cut by
it, so a completion scored by the PRM at GRPO time is cut by the same rule. Both sides pass the shared
vectors in ``core/steps-vectors.json``.

1. Line endings are normalised; the text is split on blank lines.
2. When that leaves a single block, it is split instead before each numbered-step line (``1.``, ``1)``,
   ``Step 1:`` at a line start, optionally after ``#`` headings or ``**``), provided there are at least
   two; text before the first one is a step of its own. ``1.`` needs a space or tab after it.
3. Pieces are trimmed and empty ones dropped.
4. A last piece made only of final-answer lines (``#### 18``, ``Answer: B``, ``The answer is …``, a line
   with ``\\boxed{…}``) is appended to the step before it.
5. At most MAX_STEPS steps: the tail beyond is merged into the last one.

The patterns follow JavaScript's semantics, not Python's defaults: ``\\d`` is ASCII only, ``/i`` folds
ASCII letters only, and trimming / ``\\s`` use JavaScript's whitespace set (which holds U+FEFF but not
U+001C-U+001F or U+0085, unlike ``str.strip``).
"""

from __future__ import annotations

import re

MAX_STEPS = 64

# String.prototype.trim and \s of JavaScript: WhiteSpace and LineTerminator code points.
JS_WHITESPACE = ("\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
                 "\u2028\u2029\u202f\u205f\u3000\ufeff")
_WS = "[" + re.escape(JS_WHITESPACE) + "]"

_FLAGS = re.ASCII  # ASCII \b, \d and case folding, as in a JavaScript regex without the u flag
_LINE_ENDING = re.compile(r"\r\n?")
_BLANK_LINE = re.compile("\n[ \t\f\v\u00a0]*\n")
_NUMBERED_STEP = re.compile(r"[ \t]*(?:#{1,6}[ \t]*)?(?:\*\*)?(?:step[ \t]*[0-9]+[ \t]*[:.)]|[0-9]+[.)](?=[ \t]))",
                            _FLAGS | re.IGNORECASE)
_FINAL_ANSWER_LINE = [
    re.compile(_WS + "*####", _FLAGS),
    re.compile(_WS + "*(?:\\*\\*)?(?:final[ \t]+)?answer(?:\\*\\*)?[ \t]*[:\uff1a]", _FLAGS | re.IGNORECASE),
    re.compile(_WS + "*(?:(?:so|thus|therefore|hence)[ \t]*,?[ \t]+)?(?:the[ \t]+)?(?:final[ \t]+)?answer[ \t]+is\\b",
               _FLAGS | re.IGNORECASE),
]
_BOXED = re.compile(r"\\boxed\{")


def split_steps(text: str) -> list[str]:
    """The steps of a solution, exactly as ``splitSteps`` in core/steps.ts cuts them."""
    normalised = _LINE_ENDING.sub("\n", text)
    pieces = _clean(_BLANK_LINE.split(normalised))
    if len(pieces) == 1:
        pieces = _clean(_split_numbered(pieces[0]))
    return _cap_steps(_attach_final_answer(pieces))


def _clean(pieces: list[str]) -> list[str]:
    trimmed = (p.strip(JS_WHITESPACE) for p in pieces)
    return [p for p in trimmed if p]


def _split_numbered(block: str) -> list[str]:
    lines = block.split("\n")
    starts = [i for i, line in enumerate(lines) if _NUMBERED_STEP.match(line)]
    if len(starts) < 2:
        return [block]
    bounds = starts if starts[0] == 0 else [0, *starts]
    ends = [*bounds[1:], len(lines)]
    return ["\n".join(lines[a:b]) for a, b in zip(bounds, ends)]


def _is_final_answer_line(line: str) -> bool:
    return any(p.match(line) for p in _FINAL_ANSWER_LINE) or _BOXED.search(line) is not None


def _attach_final_answer(steps: list[str]) -> list[str]:
    if len(steps) < 2 or not all(_is_final_answer_line(line) for line in steps[-1].split("\n")):
        return steps
    return [*steps[:-2], steps[-2] + "\n" + steps[-1]]


def _cap_steps(steps: list[str]) -> list[str]:
    if len(steps) <= MAX_STEPS:
        return steps
    return [*steps[:MAX_STEPS - 1], "\n\n".join(steps[MAX_STEPS - 1:])]
