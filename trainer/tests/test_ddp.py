"""The jobs under torchrun: two processes, gloo backend, on CPU."""

import json
import os
import subprocess
import sys

import torch
from safetensors.torch import load_file

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}


def torchrun(job, cfg_path):
    return subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                           "-m", "agentark_trainer", job, "--config", str(cfg_path)],
                          capture_output=True, text=True, env=ENV, timeout=180)


def test_sft_on_two_processes_matches_one_process_with_the_same_global_batch(tiny_model_dir, data_dir, tmp_path):
    base = {"model": {"path": tiny_model_dir}, "data": str(data_dir / "rsft.jsonl"), "max_steps": 3,
            "lr": 1e-2, "max_seq_len": 64, "grad_accum": 2}
    one = tmp_path / "one.json"
    one.write_text(json.dumps({**base, "output_dir": str(tmp_path / "one"), "batch_size": 4}))
    two = tmp_path / "two.json"
    two.write_text(json.dumps({**base, "output_dir": str(tmp_path / "two"), "batch_size": 2}))
    p1 = subprocess.run([sys.executable, "-m", "agentark_trainer", "sft", "--config", str(one)],
                        capture_output=True, text=True, env=ENV, timeout=120)
    assert p1.returncode == 0, p1.stderr[-2000:]
    p2 = torchrun("sft", two)
    assert p2.returncode == 0, p2.stderr[-3000:]
    evs = [json.loads(line) for line in p2.stdout.splitlines()]
    assert len([e for e in evs if e["event"] == "start"]) == 1  # only rank 0 speaks
    assert evs[0]["world_size"] == 2 and evs[-1]["event"] == "done"
    a = load_file(str(tmp_path / "one" / "final" / "model.safetensors"))
    b = load_file(str(tmp_path / "two" / "final" / "model.safetensors"))
    init = load_file(os.path.join(tiny_model_dir, "model.safetensors"))
    moved = 0
    for k in a:
        # float32 reduction order differs between one and two processes; Adam's step is lr = 1e-2, so a
        # wrong batch split or a wrong gradient scale shows up at 1e-3 or more
        assert (a[k] - b[k]).abs().max() < 1e-4, k
        moved += not torch.equal(a[k], init[k])
    assert moved == len(a)


def test_grpo_and_prm_stage1_run_under_torchrun(tiny_model_dir, data_dir, tmp_path):
    cfg = tmp_path / "grpo.json"
    cfg.write_text(json.dumps({"model": {"path": tiny_model_dir}, "data": str(data_dir / "grpo.jsonl"),
                               "output_dir": str(tmp_path / "grpo"), "prm": None, "prm_weight": 0.0,
                               "verifiable_weight": 1.0, "group_size": 2, "batch_size": 1, "max_new_tokens": 4,
                               "max_steps": 2}))
    p = torchrun("grpo", cfg)
    assert p.returncode == 0, p.stderr[-3000:]
    evs = [json.loads(line) for line in p.stdout.splitlines()]
    assert [e["step"] for e in evs if e["event"] == "progress"] == [1, 2] and evs[-1]["event"] == "done"
    cfg = tmp_path / "prm.json"
    cfg.write_text(json.dumps({"model": {"path": tiny_model_dir}, "data": str(data_dir / "prm.jsonl"),
                               "output_dir": str(tmp_path / "prm"), "stage": 1, "batch_size": 1, "max_steps": 2}))
    p = torchrun("prm", cfg)
    assert p.returncode == 0, p.stderr[-3000:]
    assert json.loads(p.stdout.splitlines()[-1])["event"] == "done"
