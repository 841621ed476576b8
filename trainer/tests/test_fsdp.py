"""FSDP2 (parallel: fsdp) under torchrun: two gloo processes on CPU give what one process (or DDP) gives."""

import json
import os
import subprocess
import sys

import torch
from safetensors.torch import load_file

from agentark_trainer import prm

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}


def run(job, cfg: dict, path, procs: int):
    path.write_text(json.dumps(cfg))
    launch = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(procs)] \
        if procs > 1 else [sys.executable]
    p = subprocess.run([*launch, "-m", "agentark_trainer", job, "--config", str(path)], capture_output=True, text=True,
                       env=ENV, timeout=240)
    assert p.returncode == 0, p.stderr[-3000:]
    return [json.loads(line) for line in p.stdout.splitlines()]


def weights(folder, *extra):
    out = load_file(os.path.join(folder, "model.safetensors"))
    for name in extra:
        out.update({name + k: v for k, v in load_file(os.path.join(folder, name)).items()})
    return out


def assert_close(a, b, tol=1e-4):
    assert a.keys() == b.keys()
    for k in a:
        # float32 reduction order differs between the layouts; a wrong split or gradient scale shows at 1e-3
        assert (a[k].float() - b[k].float()).abs().max() < tol, k


def test_sft_sharded_on_two_processes_matches_one_process(tiny_model_dir, data_dir, tmp_path):
    base = {"model": {"path": tiny_model_dir}, "data": str(data_dir / "rsft.jsonl"), "max_steps": 3, "lr": 1e-2,
            "max_seq_len": 64, "grad_accum": 2}
    run("sft", {**base, "output_dir": str(tmp_path / "one"), "batch_size": 4}, tmp_path / "one.json", 1)
    evs = run("sft", {**base, "output_dir": str(tmp_path / "two"), "batch_size": 2, "parallel": "fsdp"},
              tmp_path / "two.json", 2)
    assert evs[0]["world_size"] == 2 and evs[-1]["event"] == "done"
    a, b = weights(str(tmp_path / "one" / "final")), weights(str(tmp_path / "two" / "final"))
    assert_close(a, b)
    init = load_file(os.path.join(tiny_model_dir, "model.safetensors"))
    assert all(not torch.equal(a[k], init[k]) for k in a)


def test_prm_stage1_sharded_matches_one_process(tiny_model_dir, data_dir, tmp_path):
    base = {"model": {"path": tiny_model_dir}, "data": str(data_dir / "prm.jsonl"), "stage": 1, "max_steps": 2,
            "lr": 1e-2, "max_seq_len": 128}
    run("prm", {**base, "output_dir": str(tmp_path / "one"), "batch_size": 2}, tmp_path / "one.json", 1)
    run("prm", {**base, "output_dir": str(tmp_path / "two"), "batch_size": 1, "parallel": "fsdp"},
        tmp_path / "two.json", 2)
    assert_close(weights(str(tmp_path / "one" / "final"), prm.HEAD_FILE),
                 weights(str(tmp_path / "two" / "final"), prm.HEAD_FILE))


def test_grpo_sharded_matches_ddp_on_the_same_ranks(tiny_model_dir, data_dir, tmp_path):
    base = {"model": {"path": tiny_model_dir}, "data": str(data_dir / "grpo.jsonl"), "prm": None, "prm_weight": 0.0,
            "verifiable_weight": 1.0, "group_size": 2, "batch_size": 1, "max_new_tokens": 4, "max_steps": 2,
            "lr": 1e-2, "truncated": "keep", "beta": 0.04}
    run("grpo", {**base, "output_dir": str(tmp_path / "ddp")}, tmp_path / "ddp.json", 2)
    run("grpo", {**base, "output_dir": str(tmp_path / "fsdp"), "parallel": "fsdp"}, tmp_path / "fsdp.json", 2)
    assert_close(weights(str(tmp_path / "ddp" / "final")), weights(str(tmp_path / "fsdp" / "final")))


def test_mixed_precision_keeps_float32_masters_in_checkpoints_and_writes_bf16_weights(tiny_model_dir, data_dir,
                                                                                     tmp_path):
    out = tmp_path / "bf16"
    run("sft", {"model": {"path": tiny_model_dir, "dtype": "bfloat16"}, "data": str(data_dir / "rsft.jsonl"),
                "max_steps": 2, "lr": 1e-2, "max_seq_len": 64, "batch_size": 2, "parallel": "fsdp",
                "checkpoint_every": 1, "output_dir": str(out)}, tmp_path / "bf16.json", 2)
    state = torch.load(out / "checkpoints" / "step-00000001" / "state.pt", weights_only=False)
    assert {v.dtype for v in state["model"].values()} == {torch.float32}
    assert {s["exp_avg"].dtype for s in state["optimizer"]["state"].values()} == {torch.float32}
    assert {v.dtype for v in weights(str(out / "final")).values()} == {torch.bfloat16}
