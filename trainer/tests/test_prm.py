import math

import pytest
import torch

from agentark_trainer import models, prm
from agentark_trainer.config import PrmConfig, load_config
from agentark_trainer.runtime import Runtime


def prm_cfg(model_dir, data_dir, out, **kw):
    base = {"model": {"path": model_dir}, "data": str(data_dir / "prm.jsonl"), "output_dir": str(out),
            "batch_size": 3, "lr": 1e-2, "max_steps": 8, "scheduler": "constant", "max_seq_len": 128}
    base.update(kw)
    return load_config(PrmConfig, base)


def test_contrastive_loss_matches_hand_computed_value():
    # one group: R(r+) = 0.0, R(r-) = [1.0, -2.0], tau = 0.5
    s = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731
    zp, zn = s(0.0) / 0.5, [s(1.0) / 0.5, s(-2.0) / 0.5]
    expected = -(zp - math.log(math.exp(zp) + sum(math.exp(z) for z in zn)))
    # a second group with only one real negative (the other slot is padding)
    zp2, zn2 = s(2.0) / 0.5, s(-1.0) / 0.5
    expected2 = -(zp2 - math.log(math.exp(zp2) + math.exp(zn2)))
    got = prm.contrastive_loss(torch.tensor([0.0, 2.0]), torch.tensor([[1.0, -2.0], [-1.0, 123.0]]),
                               torch.tensor([[True, True], [True, False]]), tau=0.5)
    assert got[0].item() == pytest.approx(expected, rel=1e-6)
    assert got[1].item() == pytest.approx(expected2, rel=1e-6)


def test_bce_ablation_matches_hand_computed_value():
    got = prm.bce_loss(torch.tensor([0.5, -1.0]), torch.tensor([1, 0]))
    s = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731
    assert got.tolist() == pytest.approx([-math.log(s(0.5)), -math.log(1 - s(-1.0))], rel=1e-6)


def optimizer_param_ids(opt):
    return {id(p) for g in opt.param_groups for p in g["params"]}


def test_stage1_optimizer_holds_exactly_last_block_and_head_and_stage2_everything(
        tiny_model_dir, data_dir, tmp_path, event_log):
    cfg1 = prm_cfg(tiny_model_dir, data_dir, tmp_path / "s1", max_steps=2)
    st = prm.setup(cfg1, Runtime())
    blocks = models.decoder_layers(st.rm.backbone)
    assert len(blocks) == 2
    expected = {id(p) for p in blocks[-1].parameters()} | {id(p) for p in st.rm.head.parameters()}
    assert optimizer_param_ids(st.optimizer) == expected
    frozen_before = {n: p.detach().clone() for n, p in st.rm.named_parameters() if id(p) not in expected}
    trained_before = {n: p.detach().clone() for n, p in st.rm.named_parameters() if id(p) in expected}
    result = prm.main(cfg1, Runtime(), resume=None)
    # the job's own run: frozen tensors unchanged, every trainable tensor moved
    rm1, _ = prm.load_reward_model(result["output"])
    after = dict(rm1.named_parameters())
    assert all(torch.equal(after[n], v) for n, v in frozen_before.items())
    assert all(not torch.equal(after[n], v) for n, v in trained_before.items())

    cfg2 = prm_cfg(tiny_model_dir, data_dir, tmp_path / "s2", stage=2, init_from=result["output"], max_steps=1)
    st2 = prm.setup(cfg2, Runtime())
    assert optimizer_param_ids(st2.optimizer) == {id(p) for p in st2.rm.parameters()}
    # stage 2 starts from the stage-1 weights, head included
    for n, p in st2.rm.named_parameters():
        assert torch.equal(p.detach(), after[n].detach()), n


def test_prm_stage2_rejects_missing_init_from(tiny_model_dir, data_dir, tmp_path):
    from agentark_trainer.config import ConfigError

    with pytest.raises(ConfigError) as e:
        prm_cfg(tiny_model_dir, data_dir, tmp_path, stage=2)
    assert e.value.field == "init_from"


@pytest.mark.parametrize("loss", ["contrastive", "bce"])
def test_prm_loss_goes_down_and_ranks_correct_steps_higher(tiny_model_dir, data_dir, tmp_path, event_log, loss):
    # stage 2 needs a stage-1 output: train both stages briefly, as the pipeline does
    s1 = prm.main(prm_cfg(tiny_model_dir, data_dir, tmp_path / "s1", loss=loss, max_steps=6, batch_size=6,
                          lr=2e-3), Runtime(), None)
    cfg = prm_cfg(tiny_model_dir, data_dir, tmp_path / "s2", stage=2, init_from=s1["output"], loss=loss,
                  max_steps=4, batch_size=6, lr=1e-3)
    res = prm.main(cfg, Runtime(), None)
    losses = [e["loss"] for e in event_log.of("progress")]
    s1_losses, s2_losses = losses[:6], losses[6:]
    assert s1_losses[-1] < 0.5 * s1_losses[0]
    assert s2_losses[-1] <= s2_losses[0] + 1e-3
    assert max(s2_losses) < 0.5 * s1_losses[0]
    rm, tok = prm.load_reward_model(res["output"])
    from conftest import toy_prm_records

    rec = toy_prm_records(6)[0]
    scores = prm.score_steps(rm, tok, [rec["prompt"]] * 3, [t["steps"] for t in rec["traces"]], "\n", 128, "cpu")
    assert min(scores[0]) > max(max(scores[1]), max(scores[2]))


def test_completions_are_scored_on_the_steps_core_steps_ts_would_cut(tiny_model_dir):
    from agentark_trainer import models
    from agentark_trainer.config import ModelSpec

    torch.manual_seed(0)
    lm, tok = models.load(ModelSpec(path=tiny_model_dir))
    rm = prm.RewardModel(models.backbone_of(lm), lm.config.hidden_size).eval()
    meta = {"step_separator": "\n", "max_seq_len": 128}
    completions = [
        "We add 3 and 4.\nThat is 7.\n\nSo the sum is 7.\n\n#### 7",  # blank lines; the answer joins the last step
        "Let us see.\n1. We add 3 and 4.\n2. The sum is 7.",  # one block with numbered steps
        " \n\n ",  # no step at all
    ]
    got = prm.score_completions(rm, tok, ["What is 3 plus 4?"] * 3, completions, meta, "cpu")
    want = prm.score_steps(rm, tok, ["What is 3 plus 4?"] * 2, [
        ["We add 3 and 4.\nThat is 7.", "So the sum is 7.\n#### 7"],
        ["Let us see.", "1. We add 3 and 4.", "2. The sum is 7."],
    ], "\n", 128, "cpu")
    assert [len(s) for s in got] == [2, 3, 0]
    for g, w in zip(got, want):
        assert g == pytest.approx(w)
    assert got[2] == []


def test_stage2_from_a_final_folder_honours_gradient_checkpointing(tiny_model_dir, data_dir, tmp_path, event_log):
    s1 = prm.main(prm_cfg(tiny_model_dir, data_dir, tmp_path / "s1", max_steps=1), Runtime(), resume=None)
    for on in (True, False):
        cfg = prm_cfg(tiny_model_dir, data_dir, tmp_path / f"s2-{on}", stage=2, init_from=s1["output"], max_steps=1,
                      model={"path": tiny_model_dir, "gradient_checkpointing": on})
        assert prm.setup(cfg, Runtime()).rm.backbone.is_gradient_checkpointing is on


@pytest.mark.parametrize("stage", [1, 2])
def test_lora_prm_trains_adapters_and_head_and_saves_a_merged_backbone(tiny_model_dir, data_dir, tmp_path, stage,
                                                                       event_log):
    init = prm.main(prm_cfg(tiny_model_dir, data_dir, tmp_path / "s1", max_steps=1), Runtime(), None)["output"] \
        if stage == 2 else None
    cfg = prm_cfg(tiny_model_dir, data_dir, tmp_path / "run", stage=stage, init_from=init, max_steps=3,
                  lora={"r": 4, "alpha": 8})
    st = prm.setup(cfg, Runtime())
    names = [n for n, p in st.rm.named_parameters() if p.requires_grad]
    assert {n for n in names if not n.startswith("head.")} and all("lora_" in n for n in names if
                                                                   not n.startswith("head."))
    layers = {n.split("layers.")[1].split(".")[0] for n in names if "layers." in n}
    assert layers == ({"1"} if stage == 1 else {"0", "1"})  # stage 1: the last of the two blocks only
    out = prm.main(cfg, Runtime(), None)["output"]
    assert not any("lora" in n for n, _ in prm.load_reward_model(out)[0].named_parameters())
    # the merged folder scores as the adapted model did
    with torch.no_grad():
        for n, p in st.rm.named_parameters():
            if "lora_B" in n:
                p.normal_(std=0.5)
    prompts, steps = ["What is 2 plus 3?"], [["We add 2 and 3.", "The sum is 5."]]
    before = prm.score_steps(st.rm.eval(), st.tokenizer, prompts, steps, "\n", 128, "cpu")[0]
    prm.save_reward_model(st.rm, st.tokenizer, str(tmp_path / "saved"), {})
    rm, tok = prm.load_reward_model(str(tmp_path / "saved"))
    after = prm.score_steps(rm, tok, prompts, steps, "\n", 128, "cpu")[0]
    assert after == pytest.approx(before, abs=1e-5)
    st.rm.backbone.disable_adapter_layers()
    assert prm.score_steps(st.rm, st.tokenizer, prompts, steps, "\n", 128, "cpu")[0] != pytest.approx(before, abs=1e-4)
