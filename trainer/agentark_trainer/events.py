"""The event protocol: one JSON object per line on stdout, flushed; logs go to stderr.

Every event has ``event`` (start | progress | checkpoint | metric | done | error) and ``time``
(Unix seconds). Under torchrun only rank 0 emits. See trainer/README.md for the fields.
"""

from __future__ import annotations

import json
import logging
import math
import os
import sys
import time
from typing import Any, Callable, Optional, TextIO

log = logging.getLogger("agentark_trainer")

_sink: Optional[Callable[[dict], None]] = None
_stream = None  # where events go; None = sys.stdout


def claim_stdout() -> TextIO:
    """Keep file descriptor 1 for events only: events get a private duplicate of it, and fd 1 (and
    sys.stdout) then point at stderr, so a library's print() cannot corrupt the event stream.
    Returns that private stream (the checker server writes its results there)."""
    global _stream
    sys.stdout.flush()
    events_fd = os.dup(1)
    os.dup2(2, 1)
    _stream = os.fdopen(events_fd, "w", buffering=1, encoding="utf-8")
    sys.stdout = sys.stderr
    return _stream


def set_sink(fn: Optional[Callable[[dict], None]]) -> None:
    """Send events to ``fn`` instead of stdout (None restores stdout). Used by in-process callers."""
    global _sink
    _sink = fn


def _clean(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None  # JSON has no NaN/Infinity
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    if hasattr(v, "item"):  # numpy / torch scalars
        return _clean(v.item())
    return v


def is_main_process() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def emit(event: str, **fields: Any) -> None:
    if not is_main_process():
        return
    obj = {"event": event, "time": round(time.time(), 3), **_clean(fields)}
    if _sink is not None:
        _sink(obj)
        return
    out = _stream or sys.stdout
    out.write(json.dumps(obj, separators=(",", ":")) + "\n")
    out.flush()


def setup_logging() -> None:
    rank = os.environ.get("RANK", "0")
    logging.basicConfig(
        stream=sys.stderr,
        level=os.environ.get("AGENTARK_TRAINER_LOG", "INFO"),
        format=f"%(asctime)s [rank {rank}] %(levelname)s %(name)s: %(message)s",
    )
