"""The sft job: RSFT and DA (§3.3.1-3.3.2). Supervised fine-tuning on prompt -> reasoning + answer,
loss on completion tokens only, full fine-tuning or LoRA.

Loss = sum of token NLL over every completion token of the global batch / their number (per-token
normalisation over the whole batch, across micro-batches and ranks), so packed and padded batches, and
one process or several, give the same gradient. With ``da_weighting: per-problem`` (the default) each
token counts 1/k, k the number of traces of its problem in the file (records sharing an ``id``), in both
sums: Eq. 2's average over a problem's k traces, so every problem weighs alike whatever its k. A file with
one record per problem (rsft.jsonl) is unaffected. The examples come from a memory-mapped token cache
(token_cache.py) under ``<output_dir>/token-cache/``.
"""

from __future__ import annotations

import json
import logging
import math
import os
from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch

from . import data, logprobs, loop, models, parallel, token_cache
from .config import SftConfig, to_dict
from .runtime import Runtime, seed_everything

log = logging.getLogger(__name__)

# Implementations whose masks honour position_ids restarts (block-causal) when attention_mask is None.
PACKING_EXACT = {"sdpa", "flash_attention_2", "flex_attention"}


class CompletionLoss(torch.nn.Module):
    """Wraps a causal LM; forward returns (sum of NLL over labelled tokens, their count), each token weighted
    by ``weights`` when given (DA's per-problem weights).

    The LM head is applied only at labelled positions, in chunks (logprobs.py), so the full-vocabulary logits
    of the batch never exist at once. Wrapping the whole computation in one module lets DDP see it as one
    forward."""

    def __init__(self, lm: torch.nn.Module, chunk: int = logprobs.DEFAULT_CHUNK):
        super().__init__()
        self.lm = lm
        self.chunk = chunk

    def forward(self, input_ids, labels, attention_mask=None, position_ids=None, weights=None):
        inner = models.inner_model(self.lm)
        out = models.backbone_of(inner)(input_ids=input_ids, attention_mask=attention_mask,
                                        position_ids=position_ids, use_cache=False)
        hidden = out.last_hidden_state[:, :-1]
        target = labels[:, 1:]
        keep = target != -100
        lp = logprobs.target_logprobs(inner.get_output_embeddings(), hidden[keep], target[keep], chunk=self.chunk)
        if weights is None:
            return -lp.sum(), keep.sum()
        w = weights[:, 1:][keep]
        return -(lp * w).sum(), w.sum()


@dataclass
class SftState:
    cfg: SftConfig
    rt: Runtime
    tokenizer: object
    lm: torch.nn.Module
    loss_module: torch.nn.Module  # CompletionLoss, DDP-wrapped when distributed
    examples: token_cache.SftTokens
    weights: Optional[np.ndarray]  # per example (per-problem DA weighting), None = every trace alike
    sampler: data.Sampler
    optimizer: torch.optim.Optimizer
    scheduler: object
    total_steps: int
    packing: bool


def setup(cfg: SftConfig, rt: Runtime) -> SftState:
    seed_everything(cfg.seed)
    lm, tok = models.load(parallel.master_spec(cfg))
    lm.to(rt.device)
    if cfg.lora is not None:
        lm = models.apply_lora(lm, cfg.lora)
    examples = token_cache.load(rt, cfg.data, tok, cfg.max_seq_len, os.path.join(cfg.output_dir, "token-cache"))
    sizes = examples.problem_sizes()
    weights = 1.0 / sizes if cfg.da_weighting == "per-problem" and (sizes > 1).any() else None
    impl = getattr(lm.config, "_attn_implementation", None) or cfg.model.attn_implementation
    packing = cfg.packing and impl in PACKING_EXACT
    if cfg.packing and not packing:
        log.warning("packing is not exact with attn_implementation=%s: using padded batches", impl)
    sampler = data.Sampler(len(examples), cfg.batch_size * cfg.grad_accum * rt.world_size, cfg.seed)
    total = cfg.max_steps or cfg.epochs * sampler.steps_per_epoch()
    loss_module = parallel.wrap(rt, cfg, CompletionLoss(lm, cfg.logprob_chunk))
    optimizer = loop.build_optimizer(cfg, [p for p in lm.parameters() if p.requires_grad])
    scheduler = loop.build_scheduler(cfg, optimizer, total)
    return SftState(cfg, rt, tok, lm, loss_module, examples, weights, sampler, optimizer, scheduler, total, packing)


def make_batch(st: SftState, idx: list[int]) -> dict:
    ex = [st.examples[i] for i in idx]
    b = data.collate_packed(ex) if st.packing else data.collate_padded(ex, st.tokenizer.pad_token_id)
    if st.weights is not None:
        w = [float(st.weights[i]) for i in idx]
        b["weights"] = torch.tensor([[x for x, e in zip(w, ex) for _ in e["input_ids"]]]) if st.packing else \
            torch.tensor(w).unsqueeze(1).expand(-1, b["input_ids"].shape[1]).contiguous()
    return {k: v.to(st.rt.device) for k, v in b.items()}


def count_targets(st: SftState, idx: list[int]) -> float:
    """The loss's denominator share of these examples: their labelled tokens, weighted as the loss weighs them."""
    if st.weights is None:
        return sum(st.examples.targets(i) for i in idx)
    return sum(float(st.weights[i]) * st.examples.targets(i) for i in idx)


def train_step(st: SftState, step: int) -> loop.StepResult:
    cfg, rt = st.cfg, st.rt
    micro = st.sampler.rank_micro_batches(step, rt.rank, rt.world_size, cfg.batch_size, cfg.grad_accum)
    global_targets = rt.all_sum(sum(count_targets(st, m) for m in micro))
    st.lm.train()
    loss_total, tokens = 0.0, 0
    for i, idx in enumerate(micro):
        batch = make_batch(st, idx)
        sync = i == len(micro) - 1
        with parallel.accumulation_context(rt, st.loss_module, sync):
            nll, _ = st.loss_module(**batch)
            loss = nll / global_targets
            loop.backward(rt, loss)
        loss_total += float(loss.detach())
        tokens += sum(st.examples.length(j) for j in idx)
    params = [p for p in st.lm.parameters() if p.requires_grad]
    grad_norm = loop.optimizer_step(cfg, params, st.optimizer, st.scheduler)
    return loop.StepResult(loss=loss_total, tokens=tokens, metrics={"grad_norm": grad_norm})


def write_final(st: SftState, folder: str) -> None:
    models.save_student(st.lm, st.tokenizer, folder, st.cfg.lora is not None, st.cfg.merge_lora)
    with open(folder + "/agentark_job.json", "w") as f:
        json.dump({"job": "sft", "config": to_dict(st.cfg), "steps": st.total_steps}, f, indent=1)


def main(cfg: SftConfig, rt: Runtime, resume: str | None) -> dict:
    st = setup(cfg, rt)
    final = loop.run("sft", cfg, rt, st.lm, st.optimizer, st.scheduler, st.total_steps,
                     lambda s: train_step(st, s), lambda d: write_final(st, d), resume,
                     extra_start={"examples": len(st.examples), "problems": st.examples.meta["problems"],
                                  "dropped": st.examples.meta["dropped"], "packing": st.packing,
                                  "lora": cfg.lora is not None, "da_weighting": cfg.da_weighting},
                     root=st.loss_module)
    return {"output": final, "steps": st.total_steps}


def perplexity(st: SftState, idx: list[int]) -> float:
    """Mean completion-token NLL of a set of examples, exponentiated (for tests and evaluation)."""
    with torch.no_grad():
        b = make_batch(st, idx)
        nll, n = CompletionLoss(st.lm)(**b)
    return math.exp(float(nll) / float(n))
