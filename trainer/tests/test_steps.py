"""The shared step-splitting vectors (core/steps-vectors.json) against the Python port of core/steps.ts."""

import json
from pathlib import Path

import pytest

from agentark_trainer.steps import MAX_STEPS, split_steps

VECTORS = json.loads((Path(__file__).parent / "../../core/steps-vectors.json").read_text(encoding="utf-8"))


def test_vectors_are_many_uniquely_named_and_reach_the_cap():
    assert len(VECTORS) >= 25
    assert len({v["name"] for v in VECTORS}) == len(VECTORS), "vector names must be unique"
    assert any(len(v["steps"]) == MAX_STEPS for v in VECTORS)


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_vector(vector):
    assert split_steps(vector["text"]) == vector["steps"]

