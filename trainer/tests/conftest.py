"""Fixtures: a tiny Qwen3 model with random weights, a BPE tokenizer trained on the spot, toy datasets.

Everything is session-scoped and small so the suite stays fast on two CPU cores."""

from __future__ import annotations

import json
import os
import random

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))

from agentark_trainer import events  # noqa: E402
from agentark_trainer.models import train_bpe_tokenizer  # noqa: E402


def toy_sft_records(n: int = 16) -> list[dict]:
    rng = random.Random(0)
    out = []
    for i in range(n):
        a, b = rng.randint(1, 9), rng.randint(1, 9)
        out.append({"id": f"p{i}", "task": "numeric", "prompt": f"What is {a} plus {b}?",
                    "completion": "Let us think step by step.\n" * (i % 3) + f"We add {a} and {b}.\nThe sum is {a + b}.\n#### {a + b}", "answer": str(a + b)})
    return out


def toy_prm_records(n: int = 6) -> list[dict]:
    """Correct traces say 'add', incorrect ones 'subtract': a PRM can learn to tell them apart."""
    out = []
    for i in range(n):
        a, b = i + 2, i + 3
        good = {"agent": 0, "correct": True, "steps": [f"We add {a} and {b}.", f"The sum is {a + b}."],
                "labels": [1, 1]}
        bad1 = {"agent": 1, "correct": False, "steps": [f"We subtract {a} and {b}.", f"The sum is {a - b}."],
                "labels": [0, 0]}
        bad2 = {"agent": 2, "correct": False, "steps": [f"We subtract {b} and {a}.", f"The sum is {b - a}."],
                "labels": [0, 0]}
        out.append({"id": f"q{i}", "task": "numeric", "prompt": f"What is {a} plus {b}?",
                    "traces": [good, bad1, bad2],
                    "groups": [{"position": 0, "positive": 0, "negatives": [1, 2]},
                               {"position": 1, "positive": 0, "negatives": [1, 2]}]})
    return out


def toy_grpo_records(n: int = 4) -> list[dict]:
    return [{"id": f"g{i}", "task": "numeric", "prompt": f"What is {i} plus {i}?", "gold": str(2 * i)}
            for i in range(n)]


def write_jsonl(path, records) -> str:
    with open(path, "w") as f:
        for r in records:
            f.write(json.dumps(r) + "\n")
    return str(path)


@pytest.fixture(scope="session")
def tokenizer():
    texts = [r["prompt"] + "\n" + r["completion"] for r in toy_sft_records(64)]
    texts += ["We subtract 3 and 4. The sum is -1."] * 4
    return train_bpe_tokenizer(texts, vocab_size=320)


def tiny_config(vocab_size: int, **kw):
    from transformers import Qwen3Config

    base = dict(vocab_size=vocab_size, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                num_attention_heads=4, num_key_value_heads=2, head_dim=8, max_position_embeddings=512,
                tie_word_embeddings=True)
    base.update(kw)
    return Qwen3Config(**base)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, tokenizer):
    """A Hugging Face folder holding a 2-layer Qwen3 with random weights and the toy tokenizer."""
    from transformers import Qwen3ForCausalLM

    torch.manual_seed(0)
    d = tmp_path_factory.mktemp("tiny-qwen3")
    model = Qwen3ForCausalLM(tiny_config(len(tokenizer)))
    model.save_pretrained(d)
    tokenizer.save_pretrained(d)
    return str(d)


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("data")
    write_jsonl(d / "rsft.jsonl", toy_sft_records(16))
    write_jsonl(d / "prm.jsonl", toy_prm_records(6))
    write_jsonl(d / "grpo.jsonl", toy_grpo_records(4))
    write_jsonl(d / "eval.jsonl", [{"id": f"e{i}", "prompt": f"What is {i} plus 1?"} for i in range(3)])
    return d


class EventLog:
    def __init__(self):
        self.events: list[dict] = []
        self.hooks = []

    def __call__(self, ev: dict) -> None:
        self.events.append(ev)
        for h in self.hooks:
            h(ev)

    def of(self, kind: str) -> list[dict]:
        return [e for e in self.events if e["event"] == kind]


@pytest.fixture
def event_log():
    log = EventLog()
    events.set_sink(log)
    yield log
    events.set_sink(None)
