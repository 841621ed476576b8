import math

import pytest
import torch

from agentark_trainer import ppo
from agentark_trainer.config import ConfigError, PpoConfig, load_config
from agentark_trainer.runtime import Runtime


def ppo_cfg(model_dir, data_dir, out, **kw):
    base = {"model": {"path": model_dir}, "data": str(data_dir / "grpo.jsonl"), "output_dir": str(out),
            "prm": None, "prm_weight": 0.0, "verifiable_weight": 1.0, "group_size": 2, "batch_size": 2,
            "max_new_tokens": 6, "lr": 1e-2, "max_steps": 2, "scheduler": "constant", "truncated": "keep"}
    base.update(kw)
    return load_config(PpoConfig, base)


def test_gae_matches_hand_computed_values():
    gamma, lam = 0.9, 0.8
    values = torch.tensor([[0.5, 0.2, 0.1], [0.3, -0.4, 7.0]])
    mask = torch.tensor([[1, 1, 1], [1, 1, 0]])
    rewards = ppo.final_token_rewards(torch.tensor([1.0, -1.0]), mask)
    assert rewards.tolist() == [[0, 0, 1], [0, -1, 0]]
    adv, ret = ppo.gae(rewards, values, mask, gamma, lam)

    def by_hand(r, v):
        n, out, running = len(v), [0.0] * len(v), 0.0
        for t in reversed(range(n)):
            nxt = v[t + 1] if t + 1 < n else 0.0
            running = r[t] + gamma * nxt - v[t] + gamma * lam * running
            out[t] = running
        return out

    a1 = by_hand([0, 0, 1], [0.5, 0.2, 0.1])
    a2 = by_hand([0, -1], [0.3, -0.4])  # the padded position is not part of the sample
    assert adv.tolist()[0] == pytest.approx(a1, abs=1e-6)
    assert adv.tolist()[1] == pytest.approx(a2 + [0.0], abs=1e-6)
    assert ret.tolist()[0] == pytest.approx([a + v for a, v in zip(a1, [0.5, 0.2, 0.1])], abs=1e-6)
    assert ret[1, 2].item() == 0.0
    # gamma = lambda = 1: every advantage is the final reward minus the value (Monte Carlo)
    mc, _ = ppo.gae(rewards, values, mask, 1.0, 1.0)
    assert mc[0].tolist() == pytest.approx([1 - 0.5, 1 - 0.2, 1 - 0.1], abs=1e-6)


def test_clipped_value_loss_matches_hand_computed_values():
    values = torch.tensor([[1.0, 0.0, 3.0]])
    old = torch.tensor([[0.5, 0.3, 0.0]])
    returns = torch.tensor([[2.0, 0.0, 9.0]])
    mask = torch.tensor([[1, 1, 0]])
    loss, clipped = ppo.value_loss(values, old, returns, mask, clip=0.2, denom=2.0)
    # token 1: v 1.0, clipped to 0.7: max((1-2)^2, (0.7-2)^2) = 1.69 (clipped term larger); token 2: v 0.0 clipped to 0.1: max(0, 0.01)
    assert loss.item() == pytest.approx(0.5 * (1.69 + 0.01) / 2, rel=1e-6)
    assert clipped == 2


def test_whitening_is_over_the_masked_entries_only():
    x = torch.tensor([1.0, 2.0, 3.0, 100.0])
    w = ppo.whiten(x, torch.tensor([1, 1, 1, 0]))
    assert w.tolist() == pytest.approx([-math.sqrt(1.5), 0.0, math.sqrt(1.5), 0.0], abs=1e-5)


def test_ppo_allows_one_sample_per_prompt_and_checks_its_fields(tiny_model_dir, data_dir, tmp_path):
    assert ppo_cfg(tiny_model_dir, data_dir, tmp_path, group_size=1).group_size == 1
    with pytest.raises(ConfigError) as e:
        ppo_cfg(tiny_model_dir, data_dir, tmp_path, lam=1.5)
    assert e.value.field == "lam"


def test_ppo_learns_a_toy_reward_and_logs_value_metrics(tiny_model_dir, data_dir, tmp_path, event_log):
    def digit_share(records, texts):
        return [sum(c.isdigit() for c in t) / max(1, len(t)) for t in texts]

    cfg = ppo_cfg(tiny_model_dir, data_dir, tmp_path / "run", max_steps=10, group_size=6, batch_size=4, lr=3e-2,
                  vf_coef=0.5)
    out = ppo.main(cfg, Runtime(), None, reward_fn=digit_share)["output"]
    metrics = [m["metrics"] for m in event_log.of("metric")]
    assert len(metrics) == 10
    for key in ("value_loss", "value_clip_fraction", "explained_variance", "kl", "clip_fraction", "reward"):
        assert key in metrics[0], key
    rewards = [m["reward"] for m in metrics]
    assert sum(rewards[-2:]) > 1.5 * sum(rewards[:2])
    assert metrics[-1]["value_loss"] < metrics[0]["value_loss"]
    import os

    assert os.path.isfile(os.path.join(out, ppo.VALUE_HEAD_FILE))
    assert os.path.isfile(os.path.join(out, "model.safetensors"))
