"""The prm job: the process reward model of PAD (§3.3.3, App. B).

The student's backbone with a scalar reward head. A step is scored at its last token; because the
backbone is causal, one forward pass over prompt + all steps of a trace scores every step with exactly
its own trace's earlier steps as context.

Loss (App. B.1), per contrastive group (r+, r-_1..r-_K):
    L = -log( exp(s(r+)/tau) / (exp(s(r+)/tau) + sum_k exp(s(r-_k)/tau)) ),   s = sigmoid(R)
averaged over the groups of the global batch. ``loss: bce`` is the ablation: binary cross-entropy of
R against every step's outcome label.

Stage 1 trains only the last transformer block and the head; stage 2 starts from a stage-1 output
and trains everything. With ``lora`` the adapters stand in for the blocks (stage 1: on the last block only)
and the head trains in full; the output folder holds the merged backbone, so its users never see LoRA.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

from . import data, loop, models, parallel
from .config import ConfigError, ModelSpec, PrmConfig, to_dict
from .runtime import Runtime, seed_everything
from .steps import split_steps

log = logging.getLogger(__name__)
HEAD_FILE = "reward_head.safetensors"
META_FILE = "prm.json"


class RewardModel(torch.nn.Module):
    def __init__(self, backbone: torch.nn.Module, hidden_size: int):
        super().__init__()
        self.backbone = backbone
        self.head = torch.nn.Linear(hidden_size, 1)
        torch.nn.init.normal_(self.head.weight, std=hidden_size ** -0.5)
        torch.nn.init.zeros_(self.head.bias)
        self.head.to(next(backbone.parameters()).dtype)

    def forward(self, input_ids, attention_mask, index):
        """R at the positions ``index`` [B, S] (-1 = none, gives 0): raw rewards, float32, [B, S]."""
        h = self.backbone(input_ids=input_ids, attention_mask=attention_mask, use_cache=False).last_hidden_state
        safe = index.clamp(min=0)
        picked = torch.gather(h, 1, safe.unsqueeze(-1).expand(-1, -1, h.shape[-1]))
        r = self.head(picked).squeeze(-1).float()
        return r.masked_fill(index < 0, 0.0)


def set_stage(rm: RewardModel, stage: int, lora: bool = False) -> list[str]:
    """Stage 1: only the last block and the head train. Stage 2: everything trains. With LoRA the adapters
    (on the last block only in stage 1) and the head train. Returns trainable names."""
    for n, p in rm.named_parameters():
        p.requires_grad_("lora_" in n if lora else stage == 2)
    if lora:
        for p in rm.head.parameters():
            p.requires_grad_(True)
    elif stage == 1:
        for p in models.decoder_layers(rm.backbone)[-1].parameters():
            p.requires_grad_(True)
        for p in rm.head.parameters():
            p.requires_grad_(True)
    return [n for n, p in rm.named_parameters() if p.requires_grad]


def last_block_linears(backbone: torch.nn.Module, targets) -> list[str]:
    """Full names of the last block's linear layers that ``targets`` ("all-linear" or name suffixes) selects."""
    block = models.decoder_layers(backbone)[-1]
    prefix = next(n for n, m in backbone.named_modules() if m is block)
    names = [f"{prefix}.{n}" for n, m in block.named_modules() if isinstance(m, torch.nn.Linear)]
    if targets != "all-linear":
        wanted = [targets] if isinstance(targets, str) else list(targets)
        names = [n for n in names if any(n == w or n.endswith("." + w) for w in wanted)]
    if not names:
        raise ConfigError("lora.target_modules", f"selects no linear layer of the last block ({prefix})")
    return names


def contrastive_loss(pos: torch.Tensor, neg: torch.Tensor, neg_mask: torch.Tensor, tau: float) -> torch.Tensor:
    """Per-group loss of App. B.1. pos [G] and neg [G, K] are raw rewards R; neg_mask [G, K] marks real
    negatives (groups may have different K). Returns [G]."""
    s_pos = torch.sigmoid(pos).unsqueeze(-1) / tau
    s_neg = (torch.sigmoid(neg) / tau).masked_fill(~neg_mask, float("-inf"))
    logits = torch.cat([s_pos, s_neg], dim=-1)
    return -torch.log_softmax(logits, dim=-1)[:, 0]


def bce_loss(r: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Per-step binary cross-entropy of sigmoid(R) against the outcome label."""
    return F.binary_cross_entropy_with_logits(r, labels.float(), reduction="none")


# ----------------------------------------------------------------------------- loading and saving


def build_reward_model(spec: ModelSpec, init_from: str | None = None):
    """A fresh PRM on the student's backbone (stage 1), or one loaded from a stage-1 output/checkpoint."""
    if init_from and os.path.isfile(os.path.join(init_from, META_FILE)):
        rm, tok = load_reward_model(init_from, spec.dtype, spec.attn_implementation)
        if spec.gradient_checkpointing:
            models.enable_gradient_checkpointing(rm.backbone)
        return rm, tok
    lm, tok = models.load(spec)
    rm = RewardModel(models.backbone_of(lm), lm.config.hidden_size)
    if init_from:  # a checkpoint folder of a stage-1 run
        state = torch.load(os.path.join(init_from, "state.pt"), map_location="cpu", weights_only=False)
        if any("lora_" in k for k in state["model"]):
            raise ConfigError("init_from", f"{init_from} is a checkpoint of a LoRA stage 1: start from its final/ "
                                           "folder (merged weights)")
        rm.load_state_dict(state["model"])
    return rm, tok


def load_reward_model(folder: str, dtype: str = "float32", attn: str = "sdpa"):
    from transformers import AutoModel, AutoTokenizer

    backbone = AutoModel.from_pretrained(folder, local_files_only=True, dtype=models.DTYPES[dtype],
                                         attn_implementation=attn)
    rm = RewardModel(backbone, backbone.config.hidden_size)
    rm.head.load_state_dict({k: v.to(rm.head.weight.dtype) for k, v in load_file(os.path.join(folder, HEAD_FILE)).items()})
    tok = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    return rm, tok


def read_meta(folder: str) -> dict:
    with open(os.path.join(folder, META_FILE)) as f:
        return json.load(f)


def save_reward_model(rm: RewardModel, tok, folder: str, meta: dict) -> None:
    """The backbone as a Hugging Face folder (LoRA adapters merged into it), the head, the tokenizer, prm.json."""
    backbone = rm.backbone
    if hasattr(backbone, "merge_and_unload"):
        import copy

        backbone = copy.deepcopy(backbone).merge_and_unload()
    backbone.save_pretrained(folder, state_dict=parallel.state_for_save(backbone))
    # cloned: gathered FSDP parameters are views of one all-gather buffer, which safetensors cannot write
    save_file({k: v.detach().clone() for k, v in rm.head.named_parameters()}, os.path.join(folder, HEAD_FILE))
    tok.save_pretrained(folder)
    with open(os.path.join(folder, META_FILE), "w") as f:
        json.dump(meta, f, indent=1)


@torch.no_grad()
def score_steps(rm: RewardModel, tok, prompts: list[str], step_lists: list[list[str]], sep: str, max_len: int,
                device, batch_size: int = 16) -> list[list[float]]:
    """sigmoid(R) of every step of every trace (steps beyond max_len are scored at the last kept token)."""
    out = []
    for b in range(0, len(prompts), batch_size):
        rows, ends = [], []
        for p, steps in zip(prompts[b:b + batch_size], step_lists[b:b + batch_size]):
            ids, e = data.encode_trace(tok, p, steps, sep, max_len)
            rows.append(ids)
            ends.append([x if x >= 0 else len(ids) - 1 for x in e])
        ids, mask = data.pad_rows(rows, tok.pad_token_id)
        index, _ = data.pad_rows(ends, -1)
        r = torch.sigmoid(rm(ids.to(device), mask.to(device), index.to(device)))
        out += [r[i, :len(e)].tolist() for i, e in enumerate(ends)]
    return out


@torch.no_grad()
def score_completions(rm: RewardModel, tok, prompts: list[str], completions: list[str], meta: dict,
                      device) -> list[list[float]]:
    """sigmoid(R) of every step of each completion, its steps cut by the rule that cut prm.jsonl
    (steps.split_steps, the port of core/steps.ts) and joined with the PRM's own step_separator.
    A completion with no step (empty or blank) gets no score: an empty list."""
    step_lists = [split_steps(c) for c in completions]
    scored = [i for i, s in enumerate(step_lists) if s]
    scores = score_steps(rm, tok, [prompts[i] for i in scored], [step_lists[i] for i in scored],
                         meta.get("step_separator", "\n"), int(meta.get("max_seq_len", 4096)), device)
    out: list[list[float]] = [[] for _ in completions]
    for i, s in zip(scored, scores):
        out[i] = s
    return out


# ----------------------------------------------------------------------------- the job


@dataclass
class PrmState:
    cfg: PrmConfig
    rt: Runtime
    tokenizer: object
    rm: RewardModel
    ddp: torch.nn.Module
    problems: list
    sampler: data.Sampler
    optimizer: torch.optim.Optimizer
    scheduler: object
    total_steps: int
    trainable: list


def setup(cfg: PrmConfig, rt: Runtime) -> PrmState:
    seed_everything(cfg.seed)
    problems = data.load_prm(cfg.data)
    if cfg.loss == "contrastive":
        problems = [p for p in problems if p["groups"]]
        if not problems:
            raise data.DataError(f"{cfg.data}: no record has a contrastive group (use loss: bce?)")
    rm, tok = build_reward_model(parallel.master_spec(cfg), cfg.init_from)
    rm.to(rt.device)
    if cfg.lora is not None:
        spec = cfg.lora if cfg.stage == 2 else dataclasses.replace(cfg.lora, target_modules=last_block_linears(
            rm.backbone, cfg.lora.target_modules))
        rm.backbone = models.apply_lora(rm.backbone, spec, task_type=None)
    trainable = set_stage(rm, cfg.stage, cfg.lora is not None)
    sampler = data.Sampler(len(problems), cfg.batch_size * cfg.grad_accum * rt.world_size, cfg.seed)
    total = cfg.max_steps or cfg.epochs * sampler.steps_per_epoch()
    wrapped = parallel.wrap(rt, cfg, rm)
    optimizer = loop.build_optimizer(cfg, [p for p in rm.parameters() if p.requires_grad])
    scheduler = loop.build_scheduler(cfg, optimizer, total)
    return PrmState(cfg, rt, tok, rm, wrapped, problems, sampler, optimizer, scheduler, total,
                    trainable)


def encode_problems(st: PrmState, idx: list[int]) -> dict:
    """One row per trace that the loss needs, the index of each step's last token, and the units of the
    loss: contrastive groups as (row, position) pairs, or labelled steps for BCE."""
    rows, ends, groups, steps = [], [], [], []
    for i in idx:
        pr = st.problems[i]
        need = sorted({t for g in pr["groups"] for t in [g["positive"], *g["negatives"]]}) \
            if st.cfg.loss == "contrastive" else range(len(pr["traces"]))
        row_of = {}
        for t in need:
            ids, e = data.encode_trace(st.tokenizer, pr["prompt"], pr["traces"][t]["steps"], st.cfg.step_separator,
                                       st.cfg.max_seq_len)
            row_of[t] = len(rows)
            rows.append(ids)
            ends.append(e)
            steps += [(row_of[t], j, lab) for j, lab in enumerate(pr["traces"][t]["labels"]) if e[j] >= 0]
        if st.cfg.loss != "contrastive":
            continue
        for g in pr["groups"]:
            members = [g["positive"], *g["negatives"]]
            if all(ends[row_of[t]][g["position"]] >= 0 for t in members):  # not truncated away
                groups.append((row_of[g["positive"]], [row_of[t] for t in g["negatives"]], g["position"]))
    return {"rows": rows, "ends": ends, "groups": groups, "steps": steps}


def micro_loss(st: PrmState, enc: dict, denom: float) -> tuple[torch.Tensor, dict]:
    dev = st.rt.device
    ids, mask = data.pad_rows(enc["rows"], st.tokenizer.pad_token_id)
    index, _ = data.pad_rows(enc["ends"], -1)
    r = st.ddp(ids.to(dev), mask.to(dev), index.to(dev))
    if st.cfg.loss == "contrastive":
        groups = enc["groups"]
        if not groups:
            return r.sum() * 0.0, {"correct": 0, "units": 0}
        k = max(len(n) for _, n, _ in groups)
        pos = torch.stack([r[row, p] for row, _, p in groups])
        neg = torch.zeros(len(groups), k, device=dev)
        neg_mask = torch.zeros(len(groups), k, dtype=torch.bool, device=dev)
        for gi, (_, negs, p) in enumerate(groups):
            neg[gi, :len(negs)] = torch.stack([r[row, p] for row in negs])
            neg_mask[gi, :len(negs)] = True
        per = contrastive_loss(pos, neg, neg_mask, st.cfg.tau)
        correct = int((pos.unsqueeze(-1) > neg.masked_fill(~neg_mask, float("-inf"))).all(-1).sum())
    else:
        rows = torch.tensor([s[0] for s in enc["steps"]], device=dev)
        cols = torch.tensor([s[1] for s in enc["steps"]], device=dev)
        labels = torch.tensor([s[2] for s in enc["steps"]], device=dev)
        logits = r[rows, cols]
        per = bce_loss(logits, labels)
        correct = int(((logits > 0).long() == labels).sum())
    return per.sum() / denom, {"correct": correct, "units": int(per.numel())}


def count_units(st: PrmState, enc: dict) -> int:
    return len(enc["groups"]) if st.cfg.loss == "contrastive" else len(enc["steps"])


def train_step(st: PrmState, step: int) -> loop.StepResult:
    cfg, rt = st.cfg, st.rt
    micro = st.sampler.rank_micro_batches(step, rt.rank, rt.world_size, cfg.batch_size, cfg.grad_accum)
    encs = [encode_problems(st, m) for m in micro]
    denom = max(1.0, rt.all_sum(sum(count_units(st, e) for e in encs)))
    st.rm.train()
    total_loss, tokens, correct = 0.0, 0, 0
    for i, enc in enumerate(encs):
        sync = i == len(encs) - 1
        with parallel.accumulation_context(rt, st.ddp, sync):
            loss, info = micro_loss(st, enc, denom)
            loop.backward(rt, loss)
        total_loss += float(loss.detach())
        tokens += sum(len(r) for r in enc["rows"])
        correct += info["correct"]
    params = [p for p in st.rm.parameters() if p.requires_grad]
    grad_norm = loop.optimizer_step(cfg, params, st.optimizer, st.scheduler)
    name = "group_accuracy" if cfg.loss == "contrastive" else "step_accuracy"
    return loop.StepResult(total_loss, tokens, {name: rt.all_sum(correct) / denom, "grad_norm": grad_norm})


def write_final(st: PrmState, folder: str) -> None:
    save_reward_model(st.rm, st.tokenizer, folder, {
        "stage": st.cfg.stage, "loss": st.cfg.loss, "tau": st.cfg.tau, "step_separator": st.cfg.step_separator,
        "max_seq_len": st.cfg.max_seq_len, "config": to_dict(st.cfg)})


def main(cfg: PrmConfig, rt: Runtime, resume: str | None) -> dict:
    st = setup(cfg, rt)
    final = loop.run("prm", cfg, rt, st.rm, st.optimizer, st.scheduler, st.total_steps,
                     lambda s: train_step(st, s), lambda d: write_final(st, d), resume,
                     extra_start={"stage": cfg.stage, "loss": cfg.loss, "problems": len(st.problems)},
                     root=st.ddp)
    return {"output": final, "steps": st.total_steps, "stage": cfg.stage}

