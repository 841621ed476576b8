"""The answer checker (checker.py) against its vectors (core/answer/checker-vectors.json), by category."""

import json
import threading
from collections import Counter
from importlib.metadata import version
from pathlib import Path

import pytest

from agentark_trainer import checker

VECTORS = json.loads((Path(__file__).parent / "../../core/answer/checker-vectors.json").read_text(encoding="utf-8"))
CHECKS = VECTORS["check"]
EQUIVALENCES = VECTORS["equivalent"]
# A tower of powers sympy works on for far longer than any deadline here.
SLOW = "\\boxed{9^{9^{9^{9}}}}"


def test_every_category_has_right_and_wrong_answers():
    seen = Counter((v["category"], v["correct"]) for v in CHECKS)
    categories = {v["category"] for v in CHECKS}
    math = {c for c in categories if c.startswith("math/")}
    assert {"numeric", "choice", "text"} <= categories
    assert {f"math/{c}" for c in ("numbers", "fractions", "radicals", "intervals", "sets", "tuples", "matrices", "equations",
                                  "relations", "units", "percentages", "text", "extraction", "false-accepts")} == math
    for c in categories - {"text", "math/false-accepts"}:
        assert seen[(c, True)] > 0 and seen[(c, False)] > 0, c
    assert seen[("math/false-accepts", True)] == 0 and seen[("math/false-accepts", False)] >= 8
    assert len({v["name"] for v in CHECKS}) == len(CHECKS), "vector names must be unique"
    assert {v["equivalent"] for v in EQUIVALENCES} == {True, False, None}


@pytest.mark.parametrize("vector", CHECKS, ids=[v["name"] for v in CHECKS])
def test_check(vector):
    verdict = checker.check(vector["task"], vector["completion"], vector["gold"], vector.get("options"))
    assert verdict["correct"] == vector["correct"]
    if "extracted" in vector:
        assert verdict["extracted"] == vector["extracted"]
    assert (verdict["checker"], verdict["version"]) == (checker.CHECKER, checker.version())


@pytest.mark.parametrize("vector", EQUIVALENCES, ids=[v["name"] for v in EQUIVALENCES])
def test_equivalent(vector):
    assert checker.equivalent(vector["task"], vector["a"], vector["b"], vector.get("options")) == vector["equivalent"]


def test_version_names_the_rules_and_math_verify():
    assert checker.version() == f"2+math-verify-{version('math-verify')}"


def test_a_check_past_its_deadline_is_undecided_with_a_reason():
    verdict = checker.check("math", SLOW, "1", timeout=0.3)
    assert verdict["correct"] is None and verdict["extracted"] is None
    assert verdict["reason"] == "the check took longer than 0.3 s"
    assert checker.equivalent("math", SLOW.replace("\\boxed", ""), "1", timeout=0.3) is None
    # the next check is not disturbed by the timer of the one before
    assert checker.check("math", "\\boxed{2}", "2", timeout=0.3)["correct"] is True


def test_checks_run_off_the_main_thread_without_a_deadline():
    out = []
    t = threading.Thread(target=lambda: out.append(checker.check("math", "\\boxed{\\frac12}", "0.5", timeout=1.0)))
    t.start()
    t.join()
    assert out[0]["correct"] is True


def test_an_unreadable_gold_is_undecided():
    verdict = checker.check("math", "\\boxed{3}", "   ")
    assert verdict["correct"] is None and "could not be read" in verdict["reason"]


def test_unknown_task_kind_is_an_error():
    with pytest.raises(ValueError, match="unknown task kind 'essay'"):
        checker.check("essay", "text", "gold")


def test_gsm8k_reference_answers_are_correct_and_off_by_one_golds_are_wrong():
    path = Path(__file__).parent / "../../../shared/datasets/gsm8k/test.jsonl"
    if not path.exists():
        pytest.skip(f"GSM8K test set not found at {path.resolve()}")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    right = wrong = 0
    for row in rows:
        gold = row["answer"].rsplit("####", 1)[1].strip()
        right += checker.check("numeric", row["answer"], gold)["correct"] is True
        off_by_one = str(int(gold.replace(",", "")) + 1)
        wrong += checker.check("numeric", row["answer"], off_by_one)["correct"] is False
    assert (right, wrong) == (len(rows), len(rows)) == (1319, 1319)
