"""The sft job: RSFT and DA (§3.3.1-3.3.2). Supervised fine-tuning on prompt -> reasoning + answer,
loss on completion tokens only, full fine-tuning or LoRA.

Loss = sum of token NLL over every completion token of the global batch / their number (per-token
normalisation over the whole batch, across micro-batches and ranks), so packed and padded batches, and
one process or several, give the same gradient.
"""

from __future__ import annotations

import copy
import json
import logging
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from . import data, loop, models
from .config import SftConfig, to_dict
from .runtime import Runtime, seed_everything

log = logging.getLogger(__name__)

# Implementations whose masks honour position_ids restarts (block-causal) when attention_mask is None.
PACKING_EXACT = {"sdpa", "flash_attention_2", "flex_attention"}


class CompletionLoss(torch.nn.Module):
    """Wraps a causal LM; forward returns (sum of NLL over labelled tokens, their count).

    The LM head is applied only at labelled positions, which saves the full-vocabulary logits of the
    prompt tokens. Wrapping the whole computation in one module lets DDP see it as one forward."""

    def __init__(self, lm: torch.nn.Module):
        super().__init__()
        self.lm = lm

    def forward(self, input_ids, labels, attention_mask=None, position_ids=None):
        inner = self.lm.get_base_model() if hasattr(self.lm, "get_base_model") else self.lm
        out = models.backbone_of(inner)(input_ids=input_ids, attention_mask=attention_mask,
                                        position_ids=position_ids, use_cache=False)
        hidden = out.last_hidden_state[:, :-1]
        target = labels[:, 1:]
        keep = target != -100
        logits = inner.get_output_embeddings()(hidden[keep]).float()
        nll = F.cross_entropy(logits, target[keep], reduction="sum")
        return nll, keep.sum()


@dataclass
class SftState:
    cfg: SftConfig
    rt: Runtime
    tokenizer: object
    lm: torch.nn.Module
    loss_module: torch.nn.Module  # CompletionLoss, DDP-wrapped when distributed
    examples: list
    sampler: data.Sampler
    optimizer: torch.optim.Optimizer
    scheduler: object
    total_steps: int
    packing: bool


def setup(cfg: SftConfig, rt: Runtime) -> SftState:
    seed_everything(cfg.seed)
    records = data.load_sft(cfg.data)
    lm, tok = models.load(cfg.model)
    lm.to(rt.device)
    if cfg.lora is not None:
        from peft import LoraConfig, get_peft_model

        lm = get_peft_model(lm, LoraConfig(r=cfg.lora.r, lora_alpha=cfg.lora.alpha, lora_dropout=cfg.lora.dropout,
                                           target_modules=cfg.lora.target_modules, task_type="CAUSAL_LM"))
    examples = [data.encode_sft(tok, r, cfg.max_seq_len) for r in records]
    examples = [e for e in examples if any(x != -100 for x in e["labels"][1:])]
    if not examples:
        raise data.DataError(f"{cfg.data}: every completion was truncated away (max_seq_len={cfg.max_seq_len})")
    impl = getattr(lm.config, "_attn_implementation", None) or cfg.model.attn_implementation
    packing = cfg.packing and impl in PACKING_EXACT
    if cfg.packing and not packing:
        log.warning("packing is not exact with attn_implementation=%s: using padded batches", impl)
    sampler = data.Sampler(len(examples), cfg.batch_size * cfg.grad_accum * rt.world_size, cfg.seed)
    total = cfg.max_steps or cfg.epochs * sampler.steps_per_epoch()
    params = [p for p in lm.parameters() if p.requires_grad]
    optimizer = loop.build_optimizer(cfg, params)
    scheduler = loop.build_scheduler(cfg, optimizer, total)
    loss_module = loop.wrap_ddp(rt, CompletionLoss(lm))
    return SftState(cfg, rt, tok, lm, loss_module, examples, sampler, optimizer, scheduler, total, packing)


def make_batch(st: SftState, idx: list[int]) -> dict:
    ex = [st.examples[i] for i in idx]
    b = data.collate_packed(ex) if st.packing else data.collate_padded(ex, st.tokenizer.pad_token_id)
    return {k: v.to(st.rt.device) for k, v in b.items()}


def count_targets(st: SftState, idx: list[int]) -> int:
    return sum(sum(1 for x in st.examples[i]["labels"][1:] if x != -100) for i in idx)


def train_step(st: SftState, step: int) -> loop.StepResult:
    cfg, rt = st.cfg, st.rt
    micro = st.sampler.rank_micro_batches(step, rt.rank, rt.world_size, cfg.batch_size, cfg.grad_accum)
    global_targets = rt.all_sum(sum(count_targets(st, m) for m in micro))
    st.lm.train()
    loss_total, tokens = 0.0, 0
    for i, idx in enumerate(micro):
        batch = make_batch(st, idx)
        sync = i == len(micro) - 1
        with loop.accumulation_context(rt, st.loss_module, sync):
            nll, _ = st.loss_module(**batch)
            loss = nll / global_targets
            loop.backward(rt, loss)
        loss_total += float(loss.detach())
        tokens += sum(len(st.examples[j]["input_ids"]) for j in idx)
    params = [p for p in st.lm.parameters() if p.requires_grad]
    grad_norm = loop.optimizer_step(cfg, params, st.optimizer, st.scheduler)
    return loop.StepResult(loss=loss_total, tokens=tokens, metrics={"grad_norm": grad_norm})


def write_final(st: SftState, folder: str) -> None:
    lm = st.lm
    if st.cfg.lora is not None:
        if st.cfg.merge_lora:
            lm = copy.deepcopy(lm).merge_and_unload()
        else:
            # The adapter alone in adapter/, and the base model beside it without the LoRA layers
            # (get_base_model() would still hold them, under names a plain loader does not know).
            lm.save_pretrained(folder + "/adapter")
            lm = copy.deepcopy(lm).unload()
    lm.save_pretrained(folder)
    st.tokenizer.save_pretrained(folder)
    with open(folder + "/agentark_job.json", "w") as f:
        json.dump({"job": "sft", "config": to_dict(st.cfg), "steps": st.total_steps}, f, indent=1)


def main(cfg: SftConfig, rt: Runtime, resume: str | None) -> dict:
    st = setup(cfg, rt)
    final = loop.run("sft", cfg, rt, st.lm, st.optimizer, st.scheduler, st.total_steps,
                     lambda s: train_step(st, s), lambda d: write_final(st, d), resume,
                     extra_start={"examples": len(st.examples), "packing": st.packing,
                                  "lora": cfg.lora is not None})
    return {"output": final, "steps": st.total_steps}


def perplexity(st: SftState, idx: list[int]) -> float:
    """Mean completion-token NLL of a set of examples, exponentiated (for tests and evaluation)."""
    with torch.no_grad():
        b = make_batch(st, idx)
        nll, n = CompletionLoss(st.lm)(**b)
    return math.exp(float(nll) / int(n))
