"""The ppo job: the paper's PPO ablation of PAD (App. B.2, C.2), with the same PRM reward and KL as grpo.

What differs from grpo.py, whose rollout, reward, KL and step (grpo.train_step) it shares, plugged in as a
grpo.Algorithm:
  - a value head (one linear layer) on the policy's last hidden state gives V_t at every completion position
    (the state before token t is generated);
  - the sample's reward R (the PRM aggregate, optionally mixed with the verifiable reward, exactly as in grpo)
    is given at its last token: r_t = R at t = T-1, else 0;
  - advantages by GAE: delta_t = r_t + gamma V_{t+1} - V_t (V_T = 0), A_t = sum_k (gamma lambda)^k delta_{t+k},
    returns G_t = A_t + V_t; A whitened over the step's loss tokens (``whiten_advantages``);
  - loss per token: -(min(rho A, clip(rho, 1-eps, 1+eps) A) - beta KL_k3) + vf_coef * value loss,
    value loss = 0.5 max((V - G)^2, (V_old + clip(V - V_old, -c, c) - G)^2) (clipped value loss),
    normalised by the number of loss tokens of the global batch, as grpo's.
Values and behaviour log-probs are computed once per step before the updates (the "old" policy and values).
Events, checkpoints (the policy and the value head together), resume and SIGTERM are loop.py's, as for every job.
"""

from __future__ import annotations

import json
import os
from typing import Optional

import torch
from safetensors.torch import save_file

from . import grpo, logprobs, loop, models
from .config import PpoConfig, to_dict
from .runtime import Runtime

VALUE_HEAD_FILE = "value_head.safetensors"


# ----------------------------------------------------------------------------- the maths (tested alone)


def gae(rewards: torch.Tensor, values: torch.Tensor, mask: torch.Tensor, gamma: float, lam: float):
    """Advantages and returns, [N, T], of per-token rewards and values over each row's first mask.sum() tokens
    (the completion; positions after its end are 0). The value after the last token is 0."""
    n, t = rewards.shape
    mask = mask.to(values.dtype)
    adv = torch.zeros_like(values)
    running = torch.zeros(n, dtype=values.dtype, device=values.device)
    next_value = torch.zeros(n, dtype=values.dtype, device=values.device)
    for i in reversed(range(t)):
        delta = rewards[:, i] + gamma * next_value - values[:, i]
        running = (delta + gamma * lam * running) * mask[:, i]
        adv[:, i] = running
        next_value = values[:, i] * mask[:, i]
    return adv, (adv + values) * mask


def final_token_rewards(reward: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """[N, T] zeros with each row's reward at its last completion token."""
    out = torch.zeros(mask.shape, dtype=torch.float32, device=mask.device)
    last = (mask.sum(-1) - 1).clamp(min=0).long()
    out[torch.arange(mask.shape[0], device=mask.device), last] = reward.to(out.device).float()
    return out * (mask.sum(-1, keepdim=True) > 0)


def whiten(x: torch.Tensor, mask: torch.Tensor, rt: Optional[Runtime] = None, eps: float = 1e-8) -> torch.Tensor:
    """(x - mean) / std over the masked entries (over every rank's when ``rt`` is distributed)."""
    m = mask.to(x.dtype)
    all_sum = rt.all_sum if rt is not None else float
    n = max(1.0, all_sum(float(m.sum())))
    mean = all_sum(float((x * m).sum())) / n
    var = all_sum(float((((x - mean) * m) ** 2).sum())) / n
    return (x - mean) / (var ** 0.5 + eps) * m


def value_loss(values, old_values, returns, mask, clip: float, denom: float):
    """Clipped value loss, summed over the mask and divided by ``denom``; and the share of clipped tokens."""
    m = mask.to(values.dtype)
    clipped = old_values + torch.clamp(values - old_values, -clip, clip)
    a, b = (values - returns) ** 2, (clipped - returns) ** 2
    loss = 0.5 * (torch.maximum(a, b) * m).sum() / denom
    return loss, float(((b > a).to(m.dtype) * m).sum())


# ----------------------------------------------------------------------------- the model


class PolicyWithValue(grpo.PolicyLogprobs):
    """The policy and its value head as one module (so DDP and checkpoints see both): forward gives the
    completion's log-probs and values, [N, T] each, from one pass of the backbone."""

    def __init__(self, lm: torch.nn.Module, chunk: int = logprobs.DEFAULT_CHUNK):
        super().__init__(lm, chunk)
        hidden = models.inner_model(lm).config.hidden_size
        self.value_head = torch.nn.Linear(hidden, 1)
        torch.nn.init.normal_(self.value_head.weight, std=hidden ** -0.5)
        torch.nn.init.zeros_(self.value_head.bias)

    def forward(self, ids, attn, n_prompt: int, temperature: float):
        inner = models.inner_model(self.lm)
        pos = (attn.cumsum(-1) - 1).clamp(min=0)
        h = models.backbone_of(inner)(input_ids=ids, attention_mask=attn, position_ids=pos,
                                      use_cache=False).last_hidden_state[:, n_prompt - 1:-1]
        logp = logprobs.target_logprobs(inner.get_output_embeddings(), h, ids[:, n_prompt:], temperature, self.chunk)
        values = self.value_head(h.to(self.value_head.weight.dtype)).squeeze(-1).float()
        return logp, values

    def param_groups(self, cfg) -> list:
        """With ``value_lr`` the value head in a group of its own at that rate, the policy at ``lr``."""
        if not cfg.value_lr:
            return super().param_groups(cfg)
        head = list(self.value_head.parameters())
        policy = [p for p in self.parameters() if p.requires_grad and all(p is not h for h in head)]
        return [{"params": policy}, {"params": head, "lr": cfg.value_lr}]


# ----------------------------------------------------------------------------- the job


def setup(cfg: PpoConfig, rt: Runtime, reward_fn: Optional[grpo.RewardFn] = None) -> grpo.GrpoState:
    return grpo.setup(cfg, rt, reward_fn, trainable=lambda lm: PolicyWithValue(lm, cfg.logprob_chunk))


@torch.no_grad()
def behaviour(st: grpo.GrpoState, batch: dict) -> dict:
    """Log-probs and values of the policy that sampled (the "old" ones), the reference's log-probs, and
    the advantages and returns by GAE."""
    cfg = st.cfg
    st.module.eval()
    batch["old_logp"], batch["old_values"] = st.policy(batch["ids"], batch["attn"], batch["n_prompt"],
                                                       cfg.temperature)
    batch["ref_logp"] = grpo.reference_logprobs(st, batch)
    rewards = final_token_rewards(batch["rewards"], batch["mask"])
    batch["adv"], batch["returns"] = gae(rewards, batch["old_values"], batch["mask"], cfg.gamma, cfg.lam)
    return batch


def whiten_advantages(st: grpo.GrpoState, batches: list[dict]) -> None:
    """``adv_w``, the advantages the loss uses: whitened over every loss token of the step, on every rank."""
    for b in batches:
        b["adv_w"] = b["adv"]
    if not st.cfg.whiten_advantages:
        return
    flat_adv = torch.cat([b["adv"].flatten() for b in batches])
    flat_mask = torch.cat([b["loss_mask"].flatten() for b in batches])
    white = whiten(flat_adv, flat_mask, st.rt)
    offset = 0
    for b in batches:
        n = b["adv"].numel()
        b["adv_w"] = white[offset:offset + n].view_as(b["adv"])
        offset += n


def ppo_loss(st: grpo.GrpoState, b: dict, denom: float):
    """The policy loss with one advantage per token (GAE) plus vf_coef times the clipped value loss."""
    cfg = st.cfg
    logp, values = st.policy(b["ids"], b["attn"], b["n_prompt"], cfg.temperature)
    pl, stats = grpo.policy_loss(logp, b["old_logp"], b["ref_logp"], b["adv_w"], b["loss_mask"], cfg.epsilon,
                                 cfg.beta, denom)
    vl, v_clipped = value_loss(values, b["old_values"], b["returns"], b["loss_mask"], cfg.value_clip, denom)
    return pl + cfg.vf_coef * vl, {**stats, "value_loss": float(vl.detach()) / cfg.updates_per_batch,
                                   "value_clipped": v_clipped}


def value_metrics(st: grpo.GrpoState, batches: list[dict], totals: dict) -> dict:
    """What ppo logs beyond grpo's step metrics: the value loss, its clipped share, explained variance."""
    rt = st.rt
    n_tokens = max(1.0, rt.all_sum(totals["tokens"]))
    returns = torch.cat([b["returns"][b["loss_mask"].bool()] for b in batches])
    values = torch.cat([b["old_values"][b["loss_mask"].bool()] for b in batches])
    var = float(returns.var(unbiased=False)) if returns.numel() > 1 else 0.0
    return dict(value_loss=totals["value_loss"], value_clip_fraction=rt.all_sum(totals["value_clipped"]) / n_tokens,
                explained_variance=(1 - float((returns - values).var(unbiased=False)) / var) if var > 0 else 0.0)


PPO = grpo.Algorithm(behaviour, whiten_advantages, ppo_loss, value_metrics)


def train_step(st: grpo.GrpoState, step: int) -> loop.StepResult:
    """grpo's step (rollout, score, behaviour, updates, metrics) with ppo's parts plugged in."""
    return grpo.train_step(st, step, PPO)


def write_final(st: grpo.GrpoState, folder: str) -> None:
    """The policy as grpo writes it (a plain model folder), and the value head beside it."""
    models.save_student(st.lm, st.tokenizer, folder, st.cfg.lora is not None, st.cfg.merge_lora)
    save_file({k: v.detach().clone() for k, v in st.module.value_head.named_parameters()},
              os.path.join(folder, VALUE_HEAD_FILE))
    with open(os.path.join(folder, "agentark_job.json"), "w") as f:
        json.dump({"job": "ppo", "config": to_dict(st.cfg), "steps": st.total_steps}, f, indent=1)


def main(cfg: PpoConfig, rt: Runtime, resume: str | None, reward_fn: Optional[grpo.RewardFn] = None) -> dict:
    st = setup(cfg, rt, reward_fn)
    final = loop.run("ppo", cfg, rt, st.module, st.optimizer, st.scheduler, st.total_steps,
                     lambda s: train_step(st, s), lambda d: write_final(st, d), resume,
                     extra_start=grpo.start_fields(st), root=st.policy)
    return {"output": final, "steps": st.total_steps}
