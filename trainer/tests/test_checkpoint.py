import os
import signal

import pytest
import torch
from safetensors.torch import load_file

from agentark_trainer import checkpoint, grpo, loop, ppo, prm, sft
from agentark_trainer.config import GrpoConfig, PpoConfig, PrmConfig, SftConfig, load_config
from agentark_trainer.loop import Interrupted
from agentark_trainer.runtime import Runtime


def configs(model_dir, data_dir, out):
    c = {
        "sft": (sft, SftConfig, {"model": {"path": model_dir}, "data": str(data_dir / "rsft.jsonl"),
                                 "output_dir": str(out), "batch_size": 4, "lr": 1e-2, "max_steps": 5,
                                 "max_seq_len": 64, "warmup_steps": 2}),
        # GRPO samples: resuming must also restore the RNG for the same completions to be drawn
        "grpo": (grpo, GrpoConfig, {"model": {"path": model_dir}, "data": str(data_dir / "grpo.jsonl"),
                                    "output_dir": str(out), "prm": None, "prm_weight": 0.0,
                                    "verifiable_weight": 1.0, "group_size": 3, "batch_size": 2,
                                    "max_new_tokens": 4, "lr": 1e-2, "max_steps": 4, "truncated": "keep"}),
        "prm-lora": (prm, PrmConfig, {"model": {"path": model_dir}, "data": str(data_dir / "prm.jsonl"),
                                      "output_dir": str(out), "batch_size": 2, "lr": 1e-2, "max_steps": 4,
                                      "max_seq_len": 128, "lora": {"r": 4, "alpha": 8}}),
    }
    c["grpo-lora"] = (grpo, GrpoConfig, {**c["grpo"][2], "lora": {"r": 4, "alpha": 8}, "group_size": 4})
    c["ppo"] = (ppo, PpoConfig, {**c["grpo"][2], "group_size": 2, "updates_per_batch": 2})
    c["ppo-value-lr"] = (ppo, PpoConfig, {**c["ppo"][2], "value_lr": 3e-2, "warmup_steps": 2})
    return c


def final_weights(folder):
    weights = load_file(os.path.join(folder, "model.safetensors"))
    for head in (prm.HEAD_FILE, ppo.VALUE_HEAD_FILE):
        if os.path.isfile(os.path.join(folder, head)):
            weights.update({head + k: v for k, v in load_file(os.path.join(folder, head)).items()})
    return weights


@pytest.mark.parametrize("job", ["sft", "grpo", "grpo-lora", "prm-lora", "ppo", "ppo-value-lr"])
def test_interrupted_then_resumed_run_ends_with_the_same_weights(tiny_model_dir, data_dir, tmp_path, event_log, job):
    mod, cls, raw = configs(tiny_model_dir, data_dir, tmp_path / "straight")[job]
    straight = mod.main(load_config(cls, raw), Runtime(), None)["output"]

    raw = {**raw, "output_dir": str(tmp_path / "interrupted")}

    def sigterm_after_step_2(ev):
        if ev["event"] == "progress" and ev["step"] == 2:
            os.kill(os.getpid(), signal.SIGTERM)  # the real signal, handled by the job's handler

    event_log.hooks.append(sigterm_after_step_2)
    with pytest.raises(Interrupted) as e:
        mod.main(load_config(cls, raw), Runtime(), None)
    event_log.hooks.clear()
    assert e.value.step == 2
    ckpts = checkpoint.list_complete(raw["output_dir"])
    assert [s for s, _ in ckpts] == [2]
    assert not os.path.exists(os.path.join(raw["output_dir"], "final"))

    resumed = mod.main(load_config(cls, raw), Runtime(), "auto")["output"]
    starts = event_log.of("start")
    assert starts[-1]["step"] == 2 and starts[-1]["resumed_from"] == ckpts[0][1]
    a, b = final_weights(straight), final_weights(resumed)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_the_value_head_trains_at_value_lr_from_the_optimizers_creation(tiny_model_dir, data_dir, tmp_path):
    _, cls, raw = configs(tiny_model_dir, data_dir, tmp_path / "run")["ppo-value-lr"]
    built = []
    real = loop.build_optimizer
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(loop, "build_optimizer", lambda cfg, params: built.append(params) or real(cfg, params))
        st = ppo.setup(load_config(cls, raw), Runtime())
    head = list(st.module.value_head.parameters())
    policy = [p for p in st.module.parameters() if p.requires_grad and all(p is not h for h in head)]
    # the groups are the optimizer's own from the start (what the scheduler and checkpoints see), not patched in
    assert [[id(p) for p in g["params"]] for g in built[0]] == [[id(p) for p in policy], [id(p) for p in head]]
    assert [g["params"] for g in st.optimizer.param_groups] == [policy, head]
    assert [g["initial_lr"] for g in st.optimizer.param_groups] == [1e-2, 3e-2]
    assert st.scheduler.base_lrs == [1e-2, 3e-2]
    for _ in range(3):  # warmup 2: both groups scaled by the one schedule
        st.optimizer.step()  # no gradients: moves nothing
        st.scheduler.step()
        assert st.optimizer.param_groups[1]["lr"] == pytest.approx(3 * st.optimizer.param_groups[0]["lr"])


def test_checkpoint_every_keeps_the_newest_and_never_exposes_a_partial_folder(tiny_model_dir, data_dir, tmp_path,
                                                                                event_log):
    mod, cls, raw = configs(tiny_model_dir, data_dir, tmp_path / "run")["sft"]
    raw = {**raw, "max_steps": 7, "checkpoint_every": 2, "keep_checkpoints": 2}
    # a crash mid-write leaves a temp folder behind: it must not count as a checkpoint
    os.makedirs(os.path.join(raw["output_dir"], "checkpoints", ".tmp-step-00000009"))
    mod.main(load_config(cls, raw), Runtime(), None)
    assert [s for s, _ in checkpoint.list_complete(raw["output_dir"])] == [4, 6]
    saved = [e["step"] for e in event_log.of("checkpoint") if not e.get("final")]
    assert saved == [2, 4, 6]
    assert checkpoint.find_resume(raw["output_dir"], "auto").endswith("step-00000006")


def test_a_job_checkpoints_by_default_so_a_crash_does_not_lose_it(tiny_model_dir, data_dir, tmp_path):
    _, cls, raw = configs(tiny_model_dir, data_dir, tmp_path / "run")["sft"]
    cfg = load_config(cls, raw)
    assert 0 < cfg.checkpoint_every <= 100
