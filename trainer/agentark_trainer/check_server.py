"""python -m agentark_trainer check --serve [--timeout-ms N]: the checker as a JSON-lines server.

Reads requests from stdin, one JSON value a line: a request object or an array of them (a batch).
  {"id": 7, "op": "check", "task": "math", "completion": "...", "gold": "...", "options": [...]?}
  {"id": 8, "op": "equivalent", "task": "math", "a": "...", "b": "...", "options": [...]?}
Writes one line per request to stdout, in order, each flushed as soon as it is known (a batch gives
one line per element):
  {"id": 7, "extracted": "...", "correct": true, "checker": "agentark-answer", "version": "..."}
  {"id": 8, "equivalent": true}
A request that cannot be served gives {"id": ..., "error": "..."}; the server goes on. The first
line, once the checker is loaded, is {"ready": true, "checker": ..., "version": ..., "pid": ...}.

Every check runs in the main thread of this one-threaded process, under its own deadline
(--timeout-ms, default 4000). Exits when stdin closes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, TextIO

from . import checker
from .events import claim_stdout

EXIT_NO_CHECKER = 3


def handle(request: Any, timeout: float) -> dict:
    if not isinstance(request, dict):
        return {"id": None, "error": f"a request must be a JSON object, got {type(request).__name__}"}
    rid = request.get("id")
    try:
        op = request.get("op", "check")
        task = _field(request, "task")
        options = request.get("options")
        if options is not None and not (isinstance(options, list) and all(isinstance(o, str) for o in options)):
            raise ValueError("field 'options' must be an array of strings")
        if op == "check":
            verdict = checker.check(task, _field(request, "completion"), _field(request, "gold"), options, timeout)
            return {"id": rid, **verdict}
        if op == "equivalent":
            return {"id": rid, "equivalent": checker.equivalent(task, _field(request, "a"), _field(request, "b"), options, timeout)}
        raise ValueError(f"unknown op {op!r}: expected check or equivalent")
    except Exception as e:  # noqa: BLE001 - one bad request must not stop the others
        return {"id": rid, "error": str(e)}


def _field(request: dict, name: str) -> str:
    value = request.get(name)
    if not isinstance(value, str):
        raise ValueError(f"field {name!r} must be a string, got {'nothing' if value is None else type(value).__name__}")
    return value


def serve(source: TextIO, sink: TextIO, timeout: float) -> None:
    def write(obj: dict) -> None:
        sink.write(json.dumps(obj, ensure_ascii=False) + "\n")
        sink.flush()

    # Loads math-verify (sympy, the LaTeX parser) before saying ready, so the first check is not slow.
    checker.check("math", "\\boxed{\\frac{1}{2}}", "0.5", timeout=None)
    write({"ready": True, "checker": checker.CHECKER, "version": checker.version(), "pid": os.getpid()})
    for line in source:
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as e:
            write({"id": None, "error": f"not valid JSON ({e})"})
            continue
        for request in value if isinstance(value, list) else [value]:
            write(handle(request, timeout))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m agentark_trainer check")
    parser.add_argument("--serve", action="store_true", required=True, help="serve JSON-lines requests on stdin")
    parser.add_argument("--timeout-ms", type=int, default=int(checker.DEFAULT_TIMEOUT_S * 1000),
                        help="deadline of one check, in milliseconds (0 = none)")
    args = parser.parse_args(argv)
    sink = claim_stdout()
    try:
        checker.version()
    except ImportError as e:
        print(f"the checker cannot start: {e} (run make setup, or pip install -r requirements.txt)", file=sys.stderr)
        return EXIT_NO_CHECKER
    serve(sys.stdin, sink, args.timeout_ms / 1000)
    return 0
