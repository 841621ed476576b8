"""The bench measures what the jobs do: TRL at our settings, the real GRPO step counting generated tokens,
PRM FLOPs without the LM head, a freshly built model per job and no copy of the weights kept."""

import json
import os
import statistics
import subprocess
import sys
import weakref

import pytest
import torch

from agentark_trainer import bench, grpo, models
from agentark_trainer.config import BenchConfig, load_config

CFG = {"model": {"arch": "qwen3-tiny"}, "seq_len": 64, "batch_size": 2, "steps": 2, "warmup": 1,
       "compare_trl": True, "group_size": 2, "prompt_len": 32, "max_new_tokens": 8}


@pytest.fixture(scope="module")
def run():
    """One in-process bench of every job, recording each model built and each real GRPO step."""
    builds, steps = [], []
    real_load, real_step = models.load_causal_lm, grpo.train_step

    def load_causal_lm(spec, tokenizer=None):
        alive = sum(ref() is not None for ref, _, _ in builds)  # no gc here: the bench must free them itself
        lm = real_load(spec, tokenizer)
        builds.append((weakref.ref(lm), float(sum(p.detach().double().sum() for p in lm.parameters())), alive))
        return lm

    def train_step(st, step):
        res = real_step(st, step)
        steps.append((res, [r["prompt"] for r in st.records]))
        return res

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(models, "load_causal_lm", load_causal_lm)
        mp.setattr(grpo, "train_step", train_step)
        result = bench.main(load_config(BenchConfig, CFG))["bench"]
    return result, builds, steps


def test_every_job_reports_tokens_per_s_mfu_and_peak_memory(run):
    b, _, _ = run
    for part in ("sft", "prm_stage1", "prm_stage2", "grpo", "trl_sft", "trl_sft_default"):
        assert b[part]["tokens_per_s"] > 0 and b[part]["peak_memory_bytes"] > 0, part
        assert b[part]["mfu"] is None  # no known peak FLOP/s for a CPU: not invented
    assert b["prm_stage1"]["trainable_params"] < b["prm_stage2"]["trainable_params"]
    assert set(b["ratios"]) == {"sft_vs_trl_tokens_per_s", "sft_vs_trl_default_tokens_per_s",
                                "prm_stage1_vs_sft_tokens_per_s"}
    assert "high-water" in b["memory_kind"] and "not per job" in b["memory_kind"]


def test_trl_is_compared_at_our_gradient_checkpointing_and_precision(run):
    b, _, _ = run
    ours, trl, default = b["sft"]["settings"], b["trl_sft"]["settings"], b["trl_sft_default"]["settings"]
    assert ours["gradient_checkpointing"] is False  # CFG leaves it off, as the checked-in configs do
    assert trl["gradient_checkpointing"] is trl["model_gradient_checkpointing"] is False
    assert trl["dtype"] == ours["dtype"] == "float32" and not trl["bf16"] and not trl["fp16"]
    assert default["gradient_checkpointing"] is True  # SFTConfig's default, reported apart
    assert b["ratios"]["sft_vs_trl_tokens_per_s"] == b["sft"]["tokens_per_s"] / b["trl_sft"]["tokens_per_s"]


def test_trl_follows_gradient_checkpointing_and_bf16_when_ours_uses_them(tmp_path):
    cfg = tmp_path / "bench.json"
    cfg.write_text(json.dumps({**CFG, "model": {"arch": "qwen3-tiny", "dtype": "bfloat16",
                                                "gradient_checkpointing": True}, "jobs": ["sft"]}))
    p = subprocess.run([sys.executable, "-m", "agentark_trainer", "bench", "--config", str(cfg)],
                       capture_output=True, text=True, timeout=180,
                       env={**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"})
    assert p.returncode == 0, p.stderr[-2000:]
    lines = p.stdout.splitlines()
    assert len(lines) == 1  # the done event alone
    b = json.loads(lines[0])["bench"]
    ours, trl = b["sft"]["settings"], b["trl_sft"]["settings"]
    assert ours["gradient_checkpointing"] is True
    assert trl["gradient_checkpointing"] is trl["model_gradient_checkpointing"] is True
    assert ours["dtype"] == trl["dtype"] == "bfloat16" and trl["bf16"] and not trl["fp16"]


def test_grpo_times_the_real_train_step_and_counts_generated_tokens(run):
    b, _, steps = run
    g = b["grpo"]
    assert len(steps) == CFG["warmup"] + CFG["steps"]
    prompts = steps[0][1]
    assert len(set(prompts)) == len(prompts) >= CFG["batch_size"] * len(steps)  # distinct, one set per step
    measured = [res for res, _ in steps[CFG["warmup"]:]]
    samples = CFG["batch_size"] * CFG["group_size"]
    generated = [res.metrics["completion_length"] * samples for res in measured]
    assert g["tokens_per_step"] == pytest.approx(statistics.mean(generated))
    assert g["tokens_per_step"] < statistics.mean(res.tokens for res in measured)  # prompt tokens left out
    assert g["tokens_per_step"] <= samples * CFG["max_new_tokens"]
    assert g["rollout"]["tokens_per_s"] == pytest.approx(sum(generated) / sum(r.metrics["rollout_s"] for r in measured))
    assert g["reward"] == "prm" and g["scoring"]["prm_tokens_per_step"] > 0  # the PRM scored the completions


def test_prm_flops_leave_out_the_lm_head(run):
    b, _, _ = run
    arch = models.ARCHITECTURES["qwen3-tiny"]
    head = 2 * arch["vocab_size"] * arch["hidden_size"]
    s, T = b["model"], CFG["seq_len"]
    assert bench.flops_forward(s, T) - bench.flops_prm_forward(s, T) == head
    assert b["prm_stage2"]["flops_per_token"] == bench.flops_train(s, T) - 3 * head
    last_block = sum(p.numel() for p in models.load_causal_lm(load_config(BenchConfig, CFG).model).model.layers[-1]
                     .parameters())
    attention_backward = 8 * s["heads"] * s["head_dim"] * T
    assert b["prm_stage1"]["flops_per_token"] == bench.flops_forward(s, T) - head + 4 * last_block + attention_backward


def test_each_job_builds_its_own_model_and_no_copy_outlives_it(run):
    _, builds, _ = run
    # the shape probe, sft, prm1, prm2, the grpo PRM folder and policy, TRL at our settings and at its defaults
    assert len(builds) == 8
    assert [alive for _, _, alive in builds] == [0] * len(builds)
    assert len({checksum for _, checksum, _ in builds}) == 1  # seeded identically: every job starts alike


def test_mfu_formula():
    s = {"matmul_params": 1000, "head_params": 100, "layers": 2, "heads": 4, "head_dim": 8, "vocab": 10}
    assert bench.flops_train(s, 16) == 6 * 1000 + 12 * 2 * 4 * 8 * 16
    assert bench.flops_train(s, 16, head_share=0.5) == 6 * 950 + 12 * 2 * 4 * 8 * 16
    rep = bench._report(100, [0.5, 1.0, 2.0], 10.0, 1e4, torch.device("cpu"))
    assert rep["tokens_per_s"] == 100 and rep["mfu"] == 0.1


def test_checked_in_bench_configs_load():
    from pathlib import Path

    files = sorted((Path(__file__).parent / "../bench").glob("*.json"))
    assert {f.name for f in files} >= {"cpu-tiny.json", "h100-qwen3-0.6b.json", "h100-qwen3-1.7b.json"}
    for f in files:
        cfg = load_config(BenchConfig, str(f))
        assert cfg.compare_trl, f.name  # every bench prints ours vs TRL measured in the same run
