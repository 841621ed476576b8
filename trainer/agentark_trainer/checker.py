"""The answer checker every caller shares: the debate's verify, the GRPO verifiable reward, evaluation
scoring and ``agentark verify`` (the TypeScript callers reach it through ``check --serve``).

``check`` gives ``{extracted, correct, checker, version}`` (and ``reason`` when it could not decide);
``correct`` is None when no rule decides (task ``text``), when the gold cannot be read, or when the
check ran past its deadline. ``math`` is math-verify's (math_answer.py); ``numeric``, ``choice`` and
``text`` are this project's rules (answer.py). ``version`` changes whenever a verdict may change.

The deadline is a SIGALRM timer, which Python delivers to the main thread only: called from any
other thread a check runs without one, and its caller must bound it (the TypeScript pool kills a
checker process that runs past its own, longer, deadline).
"""

from __future__ import annotations

import logging
import signal
import threading
from contextlib import contextmanager
from functools import lru_cache
from typing import Iterator, Optional, Sequence

from . import answer

CHECKER = "agentark-answer"
# The rules' own version: 1 was core/answer/ (math by normalised strings); 2 has math by math-verify.
RULES_VERSION = "2"
TASKS = ("numeric", "math", "choice", "text")
DEFAULT_TIMEOUT_S = 4.0

log = logging.getLogger("agentark_trainer")
_warned_thread = False


class CheckTimeout(BaseException):
    """Raised by the deadline's timer. A BaseException, so that math-verify's and sympy's
    ``except Exception`` handlers do not swallow it."""


@lru_cache(maxsize=1)
def _math():
    from . import math_answer

    return math_answer


def version() -> str:
    return f"{RULES_VERSION}+math-verify-{_math().MATH_VERIFY_VERSION}"


@contextmanager
def deadline(seconds: Optional[float]) -> Iterator[None]:
    global _warned_thread
    if not seconds or seconds <= 0:
        yield
        return
    if threading.current_thread() is not threading.main_thread():
        if not _warned_thread:
            log.warning("answer checks outside the main thread run without a deadline")
            _warned_thread = True
        yield
        return

    def on_alarm(_signum, _frame):
        raise CheckTimeout()

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _known(task: str) -> None:
    if task not in TASKS:
        raise ValueError(f"unknown task kind {task!r}: expected one of {', '.join(TASKS)}")


def check(task: str, completion: str, gold: str, options: Optional[Sequence[str]] = None,
          timeout: Optional[float] = DEFAULT_TIMEOUT_S) -> dict:
    """The verdict on one completion against its gold answer."""
    _known(task)
    verdict = {"extracted": None, "correct": None, "checker": CHECKER, "version": version()}
    try:
        with deadline(timeout):
            if task == "math":
                extracted, correct, reason = _math().check_math(completion, gold)
            else:
                extracted = answer.extract_answer(task, completion, options)
                correct = None if task == "text" else (extracted is not None and answer.is_equivalent(task, extracted, gold, options))
                reason = None
    except CheckTimeout:
        verdict["reason"] = f"the check took longer than {timeout:g} s"
        return verdict
    verdict.update(extracted=extracted, correct=correct)
    if reason:
        verdict["reason"] = reason
    return verdict


def equivalent(task: str, a: str, b: str, options: Optional[Sequence[str]] = None,
               timeout: Optional[float] = DEFAULT_TIMEOUT_S) -> Optional[bool]:
    """Whether two extracted answers are the same answer, ``b`` read as the reference; None when no
    rule decides (``text``) or the comparison ran past its deadline."""
    _known(task)
    try:
        with deadline(timeout):
            if task == "math":
                return _math().equivalent_math(a, b)
            return answer.is_equivalent(task, a, b, options)
    except CheckTimeout:
        return None
