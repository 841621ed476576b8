import math

import pytest
import torch

from agentark_trainer import grpo, prm
from agentark_trainer.config import GrpoConfig, load_config
from agentark_trainer.runtime import Runtime


def grpo_cfg(model_dir, data_dir, out, **kw):
    base = {"model": {"path": model_dir}, "data": str(data_dir / "grpo.jsonl"), "output_dir": str(out),
            "prm": None, "prm_weight": 0.0, "verifiable_weight": 1.0, "group_size": 4, "batch_size": 2,
            "max_new_tokens": 6, "lr": 3e-2, "max_steps": 2, "scheduler": "constant", "beta": 0.04,
            # a random tiny model seldom ends its turn within 6 tokens: keep truncated samples in the loss
            "truncated": "keep"}
    base.update(kw)
    return load_config(GrpoConfig, base)


def test_group_advantages_match_hand_computed_values():
    r = torch.tensor([1.0, 0.0, 0.0, 1.0, 0.5, 0.5, 0.5, 0.5, 3.0, 1.0, 2.0, 2.0])
    eps = 1e-4
    got = grpo.group_advantages(r, 4, eps).tolist()
    # group 1: mean 0.5, population std 0.5; group 2: std 0 -> all 0
    # group 3: mean 2, std sqrt((1 + 1 + 0 + 0) / 4) = sqrt(0.5)
    s3 = math.sqrt(0.5)
    expected = [0.5 / (0.5 + eps), -0.5 / (0.5 + eps), -0.5 / (0.5 + eps), 0.5 / (0.5 + eps),
                0, 0, 0, 0, 1 / (s3 + eps), -1 / (s3 + eps), 0, 0]
    assert got == pytest.approx(expected, abs=1e-6)


def test_clipped_objective_kl_and_clip_fraction_match_hand_computed_values():
    eps, beta = 0.2, 0.1
    # two samples, three completion tokens each, the last token of sample 2 is padding
    logp = torch.tensor([[math.log(0.5), math.log(0.3), math.log(0.9)],
                         [math.log(0.2), math.log(0.6), math.log(0.1)]])
    old = torch.tensor([[math.log(0.25), math.log(0.3), math.log(0.6)],
                        [math.log(0.4), math.log(0.3), math.log(0.1)]])
    ref = torch.tensor([[math.log(0.4), math.log(0.3), math.log(0.5)],
                        [math.log(0.25), math.log(0.5), math.log(0.7)]])
    adv = torch.tensor([1.0, -2.0])
    mask = torch.tensor([[1, 1, 1], [1, 1, 0]])
    denom = 5.0

    def by_hand():
        total, kls, clipped = 0.0, 0.0, 0
        for i in range(2):
            for t in range(3):
                if not mask[i, t]:
                    continue
                p, o, q, a = math.exp(logp[i, t]), math.exp(old[i, t]), math.exp(ref[i, t]), float(adv[i])
                ratio = p / o
                obj = min(ratio * a, max(min(ratio, 1 + eps), 1 - eps) * a)
                kl = q / p - math.log(q / p) - 1
                total += -(obj - beta * kl)
                kls += kl
                clipped += (ratio > 1 + eps and a > 0) or (ratio < 1 - eps and a < 0)
        return total / denom, kls, clipped

    loss, stats = grpo.policy_loss(logp, old, ref, adv, mask, eps, beta, denom)
    exp_loss, exp_kl, exp_clipped = by_hand()
    assert loss.item() == pytest.approx(exp_loss, rel=1e-5)
    assert stats["kl"] == pytest.approx(exp_kl, rel=1e-5)
    # sample 1 token 1: ratio 2 > 1.2 with A > 0; token 3: ratio 1.5; sample 2 token 1: ratio 0.5 < 0.8
    # with A < 0; sample 2 token 2: ratio 2 with A < 0 is not clipped (the unclipped term is the min)
    assert stats["clipped"] == exp_clipped == 3
    assert stats["tokens"] == 5


def test_step_score_aggregation():
    s = [0.9, 0.2, 0.6]
    assert grpo.aggregate_steps(s, "min") == pytest.approx(0.2)
    assert grpo.aggregate_steps(s, "mean") == pytest.approx(1.7 / 3)
    assert grpo.aggregate_steps(s, "last") == pytest.approx(0.6)
    w = [math.exp(-x / 0.1) for x in s]
    assert grpo.aggregate_steps(s, "softmin", 0.1) == pytest.approx(sum(a * b for a, b in zip(w, s)) / sum(w))


def test_grpo_reward_goes_up_on_a_learnable_toy_reward(tiny_model_dir, data_dir, tmp_path, event_log):
    def digit_share(records, texts):  # a toy reward: the share of digits in the completion
        return [sum(c.isdigit() for c in t) / max(1, len(t)) for t in texts]

    cfg = grpo_cfg(tiny_model_dir, data_dir, tmp_path / "run", max_steps=10, group_size=6, batch_size=4)
    grpo.main(cfg, Runtime(), None, reward_fn=digit_share)
    rewards = [m["metrics"]["reward"] for m in event_log.of("metric")]
    assert len(rewards) == 10
    assert sum(rewards[-2:]) / 2 > 2 * sum(rewards[:2]) / 2


def test_grpo_with_prm_and_verifiable_reward_logs_every_metric(tiny_model_dir, data_dir, tmp_path, event_log):
    from agentark_trainer import models
    from agentark_trainer.config import ModelSpec

    torch.manual_seed(1)
    lm, tok = models.load(ModelSpec(path=tiny_model_dir))
    rm = prm.RewardModel(models.backbone_of(lm), lm.config.hidden_size)
    prm_dir = tmp_path / "prm"
    prm_dir.mkdir()
    prm.save_reward_model(rm, tok, str(prm_dir), {"step_separator": "\n", "max_seq_len": 128})
    cfg = grpo_cfg(tiny_model_dir, data_dir, tmp_path / "run", prm=str(prm_dir), prm_weight=1.0,
                   verifiable_weight=0.5, aggregate="softmin", updates_per_batch=2, lr=1e-2)
    grpo.main(cfg, Runtime(), None)
    metrics = [m["metrics"] for m in event_log.of("metric")]
    assert len(metrics) == 2
    for m in metrics:
        for key in ("reward", "accuracy", "kl", "clip_fraction", "completion_length", "zero_std_group_fraction",
                    "prm_reward", "rollout_s", "score_s", "update_s"):
            assert key in m, key
        assert 0 < m["prm_reward"] < 1
        assert 0 <= m["accuracy"] <= 1 and 0 <= m["zero_std_group_fraction"] <= 1
        assert 1 <= m["completion_length"] <= 6
    # the first step starts at the reference policy: the update moves it, so KL follows at step 2
    assert metrics[1]["kl"] > 0


def test_the_sequence_level_ratio_is_the_ratio_of_sequence_probabilities():
    eps = 0.2
    logp = torch.tensor([[-1.0, -2.0, -0.5], [-0.3, -0.2, -9.0]])
    old = torch.tensor([[-1.1, -2.05, -0.5], [-0.5, -0.6, 0.0]])
    adv = torch.tensor([1.0, -1.0])
    mask = torch.tensor([[1, 1, 1], [1, 1, 0]])
    loss, stats = grpo.policy_loss(logp, old, None, adv, mask, eps, 0.0, 5.0, ratio_level="sequence")
    r1 = math.exp(0.1 + 0.05 + 0.0)  # 1.162: inside the clip range
    r2 = math.exp(0.2 + 0.4)  # 1.822 with A < 0: the unclipped term is the min
    expected = -(3 * min(r1 * 1, min(max(r1, 1 - eps), 1 + eps) * 1) + 2 * (r2 * -1)) / 5
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    assert stats["clipped"] == 0
    token, _ = grpo.policy_loss(logp, old, None, adv, mask, eps, 0.0, 5.0)
    assert token.item() != pytest.approx(expected, rel=1e-3)


def test_truncated_samples_are_masked_or_penalised(tiny_model_dir, data_dir, tmp_path):
    def fixed(records, texts):
        return [1.0 + i for i in range(len(texts))]

    batch = {"idx": [0], "texts": ["a", "b", "c", "d"], "stopped": torch.tensor([True, False, True, False]),
             "mask": torch.ones(4, 3, dtype=torch.long)}
    for mode, rewards, loss_rows in (("mask", [1, 2, 3, 4], [1, 0, 1, 0]), ("penalize", [1, -5, 3, -5], [1] * 4),
                                     ("keep", [1, 2, 3, 4], [1] * 4)):
        st = grpo.setup(grpo_cfg(tiny_model_dir, data_dir, tmp_path / mode, truncated=mode, truncated_reward=-5.0),
                        Runtime(), reward_fn=fixed)
        out = grpo.score(st, {k: (v.clone() if torch.is_tensor(v) else v) for k, v in batch.items()})
        assert out["rewards"].tolist() == rewards
        assert out["loss_mask"].sum(-1).tolist() == [3 * x for x in loss_rows]


def test_every_rank_starts_from_the_same_random_init_and_reference(tiny_model_dir, data_dir, tmp_path):
    def state(rank):
        rt = Runtime()
        rt.rank = rank
        return grpo.setup(grpo_cfg(tiny_model_dir, data_dir, tmp_path / f"r{rank}", model={"arch": "qwen3-tiny"}), rt,
                          reward_fn=lambda recs, texts: [0.0] * len(texts))

    a, b = state(0), state(1)
    for (n, p), q in zip(a.ref.named_parameters(), b.ref.parameters()):
        assert torch.equal(p, q), n


def test_generation_is_batched_by_generation_batch_size_not_by_micro_batch(tiny_model_dir, data_dir, tmp_path):
    st = grpo.setup(grpo_cfg(tiny_model_dir, data_dir, tmp_path / "run", batch_size=1, grad_accum=4,
                             generation_batch_size=8), Runtime())
    calls = []
    real = st.lm.generate
    st.lm.generate = lambda **kw: calls.append(kw["input_ids"].shape[0]) or real(**kw)
    res = grpo.train_step(st, 0)
    assert calls == [8, 8]  # 4 prompts x G 4 = 16 samples, in two calls, for four micro-batches
    assert res.metrics["completion_length"] > 0


def test_lora_grpo_trains_adapters_against_the_base_model_as_reference(tiny_model_dir, data_dir, tmp_path):
    from agentark_trainer import models
    from agentark_trainer.config import ModelSpec

    cfg = grpo_cfg(tiny_model_dir, data_dir, tmp_path / "run", lora={"r": 4, "alpha": 8}, group_size=6)
    st = grpo.setup(cfg, Runtime(), reward_fn=lambda recs, texts: [float(len(t)) for t in texts])
    assert st.ref is None  # no second copy of the weights
    assert all("lora_" in n for n, p in st.lm.named_parameters() if p.requires_grad)
    base, _ = models.load(ModelSpec(path=tiny_model_dir))
    for _ in range(2):
        res = grpo.train_step(st, 0)
    assert res.metrics["kl"] > 0  # the adapters moved away from the reference
    samples = grpo.score(st, grpo.rollout(st, [0, 1]))
    ref = grpo.behaviour_logprobs(st, samples)["ref_logp"]
    args = (samples["ids"], samples["attn"], samples["n_prompt"], cfg.temperature)
    with torch.no_grad():
        assert torch.allclose(ref, grpo.token_logprobs(base, *args), atol=1e-5)
        assert not torch.allclose(ref, grpo.token_logprobs(st.lm, *args), atol=1e-5)


def test_continuous_batching_rollouts_equal_generate_where_sampling_is_deterministic(tiny_model_dir, data_dir,
                                                                                     tmp_path):
    # a temperature this low makes sampling an argmax: both engines must then give the very same samples
    out = {}
    for engine in ("generate", "continuous"):
        st = grpo.setup(grpo_cfg(tiny_model_dir, data_dir, tmp_path / engine, rollout_engine=engine,
                                 temperature=1e-6, max_new_tokens=5, group_size=2), Runtime())
        out[engine] = grpo.rollout(st, [0, 1, 2])
    a, b = out["generate"], out["continuous"]
    assert a["texts"] == b["texts"] and any(a["texts"])
    assert torch.equal(a["mask"], b["mask"]) and torch.equal(a["stopped"], b["stopped"])
    assert torch.equal(a["ids"][a["attn"].bool()], b["ids"][b["attn"].bool()])
