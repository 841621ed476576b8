import json
import os
import subprocess
import sys


def test_bench_on_cpu_prints_one_json_object_with_every_part(tmp_path):
    cfg = tmp_path / "bench.json"
    cfg.write_text(json.dumps({"model": {"arch": "qwen3-tiny"}, "seq_len": 64, "batch_size": 2, "steps": 2,
                               "warmup": 1, "compare_trl": True, "group_size": 2, "max_new_tokens": 8}))
    p = subprocess.run([sys.executable, "-m", "agentark_trainer", "bench", "--config", str(cfg)],
                       capture_output=True, text=True, timeout=180,
                       env={**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"})
    assert p.returncode == 0, p.stderr[-2000:]
    lines = p.stdout.splitlines()
    assert len(lines) == 1
    b = json.loads(lines[0])["bench"]
    for part in ("sft", "prm_stage1", "prm_stage2", "trl_sft_default"):
        assert b[part]["tokens_per_s"] > 0 and b[part]["peak_memory_bytes"] > 0
        assert b[part]["mfu"] is None  # no known peak FLOP/s for a CPU: not invented
    for part in ("rollout", "scoring", "update"):
        assert b["grpo"][part]["tokens_per_s"] > 0
    assert b["prm_stage1"]["trainable_params"] < b["prm_stage2"]["trainable_params"]
    assert set(b["ratios"]) == {"sft_vs_trl_default_tokens_per_s", "prm_stage1_vs_sft_tokens_per_s"}


def test_mfu_formula():
    from agentark_trainer import bench

    s = {"matmul_params": 1000, "layers": 2, "heads": 4, "head_dim": 8, "vocab": 10}
    assert bench.flops_train(s, 16) == 6 * 1000 + 12 * 2 * 4 * 8 * 16
    rep = bench._report(100, [0.5, 1.0, 2.0], 10.0, 1e4, __import__("torch").device("cpu"))
    assert rep["tokens_per_s"] == 100 and rep["mfu"] == 0.1


def test_checked_in_bench_configs_load():
    from pathlib import Path

    from agentark_trainer.config import BenchConfig, load_config

    files = sorted((Path(__file__).parent / "../bench").glob("*.json"))
    assert {f.name for f in files} >= {"cpu-tiny.json", "h100-qwen3-0.6b.json", "h100-qwen3-1.7b.json"}
    for f in files:
        cfg = load_config(BenchConfig, str(f))
        assert cfg.compare_trl, f.name  # every bench prints ours vs TRL measured in the same run
