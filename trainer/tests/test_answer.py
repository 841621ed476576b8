"""The shared answer-checking vectors (core/answer/vectors.json) against the Python port."""

import json
from pathlib import Path

import pytest

from agentark_trainer.answer import check_answer, extract_answer, is_equivalent

VECTORS = json.loads((Path(__file__).parent / "../../core/answer/vectors.json").read_text(encoding="utf-8"))


def test_vectors_cover_every_task_kind():
    kinds = {v["task"] for v in VECTORS}
    assert kinds == {"numeric", "math", "choice", "text"}
    assert len(VECTORS) >= 120
    assert len({v["name"] for v in VECTORS}) == len(VECTORS), "vector names must be unique"


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_vector(vector):
    extracted, correct = check_answer(vector["task"], vector["completion"], vector["gold"], vector.get("options"))
    assert (extracted, correct) == (vector["extracted"], vector["correct"])


def test_parts_agree_with_check_answer():
    completion = "She makes 9 * 2 = $18 every day.\n#### 18"
    assert extract_answer("numeric", completion) == "18"
    assert is_equivalent("numeric", "18", "18.0") is True
    assert is_equivalent("text", "Paris", "Paris") is None


def test_unknown_task_kind_is_an_error():
    with pytest.raises(ValueError, match="unknown task kind"):
        check_answer("essay", "text", "gold")


def test_gsm8k_reference_answers_are_correct_and_off_by_one_golds_are_wrong():
    path = Path(__file__).parent / "../../../shared/datasets/gsm8k/test.jsonl"
    if not path.exists():
        pytest.skip(f"GSM8K test set not found at {path.resolve()}")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    right = wrong = 0
    for row in rows:
        gold = row["answer"].rsplit("####", 1)[1].strip()
        right += check_answer("numeric", row["answer"], gold)[1] is True
        off_by_one = str(int(gold.replace(",", "")) + 1)
        wrong += check_answer("numeric", row["answer"], off_by_one)[1] is False
    assert (right, wrong) == (len(rows), len(rows)) == (1319, 1319)
