"""python -m agentark_trainer check --serve, as the TypeScript pool runs it: a real process over pipes."""

import json
import subprocess
import sys
from pathlib import Path

TRAINER = Path(__file__).resolve().parents[1]


def serve(lines: list[str], *args: str) -> list[dict]:
    proc = subprocess.run([sys.executable, "-m", "agentark_trainer", "check", "--serve", *args], input="\n".join(lines) + "\n",
                          capture_output=True, text=True, cwd=TRAINER, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


def test_ready_line_then_one_result_per_request_in_order():
    batch = [
        {"id": 2, "op": "check", "task": "numeric", "completion": "#### 1,234", "gold": "1234"},
        {"id": "three", "op": "equivalent", "task": "math", "a": "\\dfrac{1}{2}", "b": "0.5"},
        {"id": 4, "op": "check", "task": "choice", "completion": "Answer: blue", "gold": "B", "options": ["red", "blue"]},
    ]
    out = serve([json.dumps({"id": 1, "op": "check", "task": "math", "completion": "So $[0,1)$.", "gold": "[0,1)"}), json.dumps(batch)])
    ready, *results = out
    assert ready["ready"] is True and ready["checker"] == "agentark-answer" and ready["version"].startswith("2+math-verify-")
    assert [r["id"] for r in results] == [1, 2, "three", 4]
    assert results[0] == {"id": 1, "extracted": "[0,1)", "correct": True, "checker": ready["checker"], "version": ready["version"]}
    assert results[1]["correct"] is True and results[1]["extracted"] == "1,234"
    assert results[2] == {"id": "three", "equivalent": True}
    assert results[3]["extracted"] == "blue" and results[3]["correct"] is True


def test_bad_requests_get_an_error_and_the_server_goes_on():
    out = serve(["not json", json.dumps({"id": 1, "op": "check", "task": "math", "gold": "1"}), json.dumps({"id": 2, "op": "grade", "task": "math"}),
                 json.dumps([7]), json.dumps({"id": 3, "op": "check", "task": "numeric", "completion": "#### 5", "gold": "5"})])
    assert out[1]["error"].startswith("not valid JSON")
    assert out[2] == {"id": 1, "error": "field 'completion' must be a string, got nothing"}
    assert out[3] == {"id": 2, "error": "unknown op 'grade': expected check or equivalent"}
    assert out[4] == {"id": None, "error": "a request must be a JSON object, got int"}
    assert out[5]["id"] == 3 and out[5]["correct"] is True


def test_its_deadline_makes_a_slow_check_undecided():
    slow = {"id": 1, "op": "check", "task": "math", "completion": "\\boxed{9^{9^{9^{9}}}}", "gold": "1"}
    quick = {"id": 2, "op": "check", "task": "math", "completion": "\\boxed{1}", "gold": "1"}
    _, first, second = serve([json.dumps([slow, quick])], "--timeout-ms", "300")
    assert first["correct"] is None and first["reason"] == "the check took longer than 0.3 s"
    assert second["correct"] is True


def test_check_needs_serve():
    proc = subprocess.run([sys.executable, "-m", "agentark_trainer", "check"], capture_output=True, text=True, cwd=TRAINER)
    assert proc.returncode == 2 and "--serve" in proc.stderr
