"""The bench job: tokens/s, MFU and peak memory of each job's training step on one model and sequence
length, with synthetic token data. Through the CLI, stdout holds exactly one JSON object: the ``done``
event, whose ``bench`` field is the result (no start/progress events for this job; progress is logged
to stderr).

MFU = tokens/s x FLOPs per token / peak FLOP/s of the device. FLOPs per token of a full training step:
6N + 12 L H d T (N = matmul parameters incl. the LM head, L layers, H heads, d head dim, T sequence
length); the frozen-backbone PRM stage 1 and the rollout count only the work they do (see flops_*).
Timings: median over ``steps`` after ``warmup`` steps. Tokens are real tokens (no padding).
With ``compare_trl`` TRL's SFTTrainer in its default configuration trains on the same token ids, and
the ratio of our SFT tokens/s to it is reported from the same run.
"""

from __future__ import annotations

import copy
import logging
import statistics
import tempfile
import time

import torch

from . import grpo, models, prm
from .config import BenchConfig
from .runtime import peak_memory_bytes, seed_everything
from .sft import CompletionLoss

log = logging.getLogger(__name__)

# dense bf16 tensor-core peaks per device (vendor datasheets)
PEAK_FLOPS = {"H100": 989.4e12, "H200": 989.4e12, "H800": 989.4e12, "A100": 312e12, "L40S": 362e12,
              "A10G": 125e12, "L4": 121e12}


def device_peak(device: torch.device, given: float) -> float | None:
    if given > 0:
        return given
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        for key, v in PEAK_FLOPS.items():
            if key in name:
                return v
    return None


def shape(lm) -> dict:
    c = lm.config
    emb = lm.get_input_embeddings().weight.numel()
    n_total = models.count_params(lm)
    n_matmul = n_total - emb + c.vocab_size * c.hidden_size  # embeddings are lookups; the LM head is a matmul
    head_dim = getattr(c, "head_dim", None) or c.hidden_size // c.num_attention_heads
    return {"params": n_total, "matmul_params": n_matmul, "layers": c.num_hidden_layers,
            "heads": c.num_attention_heads, "head_dim": head_dim, "vocab": c.vocab_size}


def flops_train(s: dict, T: int) -> float:
    return 6 * s["matmul_params"] + 12 * s["layers"] * s["heads"] * s["head_dim"] * T


def flops_forward(s: dict, T: int) -> float:
    return 2 * s["matmul_params"] + 4 * s["layers"] * s["heads"] * s["head_dim"] * T


def flops_prm_stage1(s: dict, block_params: int, T: int) -> float:
    """Forward of everything, backward (x2 of forward) of the last block only."""
    return flops_forward(s, T) + 4 * block_params + 8 * s["heads"] * s["head_dim"] * T


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _reset_peak(device):
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def _time(fn, cfg: BenchConfig, device) -> list[float]:
    times = []
    for i in range(cfg.warmup + cfg.steps):
        _sync(device)
        t0 = time.perf_counter()
        fn()
        _sync(device)
        if i >= cfg.warmup:
            times.append(time.perf_counter() - t0)
    return times


def _report(tokens_per_step: int, times: list[float], flops_per_token: float, peak: float | None, device) -> dict:
    med = statistics.median(times)
    tps = tokens_per_step / med
    return {"tokens_per_s": tps, "step_time_s": med, "tokens_per_step": tokens_per_step,
            "mfu": (tps * flops_per_token / peak) if peak else None, "peak_memory_bytes": peak_memory_bytes(device)}


def bench_sft(lm, ids, n_prompt, cfg, device, peak, s) -> dict:
    B, T = ids.shape
    labels = ids.clone()
    labels[:, :n_prompt] = -100
    packed = {"input_ids": ids.reshape(1, -1), "labels": labels.reshape(1, -1),
              "position_ids": torch.arange(T, device=device).repeat(B).reshape(1, -1)}
    loss_mod = CompletionLoss(lm)
    opt = torch.optim.AdamW([p for p in lm.parameters() if p.requires_grad], lr=cfg.lr)

    def step():
        nll, n = loss_mod(**packed)
        (nll / n).backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    _reset_peak(device)
    out = _report(B * T, _time(step, cfg, device), flops_train(s, T), peak, device)
    del opt
    return out


def bench_prm(rm, ids, stage, cfg, device, peak, s) -> dict:
    B, T = ids.shape
    prm.set_stage(rm, stage)
    n_steps = 8
    index = torch.linspace(T // 4, T - 1, n_steps, device=device).long().repeat(B, 1)
    labels = (torch.arange(B * n_steps, device=device) % 2).float().view(B, n_steps)
    mask = torch.ones_like(ids)
    opt = torch.optim.AdamW([p for p in rm.parameters() if p.requires_grad], lr=cfg.lr)

    def step():
        r = rm(ids, mask, index)
        prm.bce_loss(r, labels).mean().backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    block = sum(p.numel() for p in prm.transformer_blocks(rm.backbone)[-1].parameters())
    fpt = flops_prm_stage1(s, block, T) if stage == 1 else flops_train(s, T)
    _reset_peak(device)
    out = _report(B * T, _time(step, cfg, device), fpt, peak, device)
    out["trainable_params"] = sum(p.numel() for p in rm.parameters() if p.requires_grad)
    del opt
    return out


def bench_grpo(lm, rm, prompt, cfg, device, peak, s, new_tokens) -> dict:
    G = cfg.group_size
    prompts = prompt[:1].repeat(G, 1)
    attn = torch.ones_like(prompts)
    ref = copy.deepcopy(lm).eval().requires_grad_(False)
    opt = torch.optim.AdamW([p for p in lm.parameters() if p.requires_grad], lr=cfg.lr)
    n_prompt = prompts.shape[1]
    state = {}

    def rollout():
        lm.eval()
        with torch.no_grad():
            state["seq"] = lm.generate(input_ids=prompts, attention_mask=attn, do_sample=True, top_k=0,
                                       max_new_tokens=new_tokens, min_new_tokens=new_tokens,
                                       pad_token_id=0, use_cache=True)

    def scoring():
        seq = state["seq"]
        index = torch.linspace(n_prompt, seq.shape[1] - 1, 8, device=device).long().repeat(G, 1)
        with torch.no_grad():
            state["r"] = rm(seq, torch.ones_like(seq), index).min(-1).values

    def update():
        seq = state["seq"]
        full_attn = torch.ones_like(seq)
        adv = grpo.group_advantages(state["r"].float().cpu(), G, 1e-4).to(device)
        with torch.no_grad():
            ref_logp = grpo.token_logprobs(ref, seq, full_attn, n_prompt, 1.0)
        lm.train()
        logp = grpo.token_logprobs(lm, seq, full_attn, n_prompt, 1.0)
        mask = torch.ones_like(logp)
        loss, _ = grpo.policy_loss(logp, logp.detach(), ref_logp, adv, mask, 0.2, 0.04, float(mask.numel()))
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    T = n_prompt + new_tokens
    _reset_peak(device)
    parts = {"rollout": [], "scoring": [], "update": []}
    for i in range(cfg.warmup + cfg.steps):
        for name, fn in (("rollout", rollout), ("scoring", scoring), ("update", update)):
            _sync(device)
            t0 = time.perf_counter()
            fn()
            _sync(device)
            if i >= cfg.warmup:
                parts[name].append(time.perf_counter() - t0)
    gen = G * new_tokens
    seq_tokens = G * T
    # rollout: forward per generated token with the average context; scoring: one forward; update:
    # policy forward+backward and the reference forward
    out = {
        "rollout": _report(gen, parts["rollout"], flops_forward(s, n_prompt + new_tokens // 2), peak, device),
        "scoring": _report(seq_tokens, parts["scoring"], flops_forward(s, T), peak, device),
        "update": _report(seq_tokens, parts["update"], flops_train(s, T) + flops_forward(s, T), peak, device),
    }
    total = sum(statistics.median(parts[k]) for k in parts)
    out["generated_tokens_per_s"] = gen / total
    out["tokens_per_s"] = seq_tokens / total
    out["group_size"] = G
    del opt, ref
    return out


def bench_trl_sft(lm, ids, n_prompt, cfg, device, peak, s) -> dict:
    """TRL's SFTTrainer with its default SFTConfig (only what the run needs is set) on the same token ids."""
    from datasets import Dataset
    from transformers import TrainerCallback
    from trl import SFTConfig, SFTTrainer

    B, T = ids.shape
    rows = ids.cpu().tolist()
    n_rows = B * (cfg.warmup + cfg.steps)
    ds = Dataset.from_dict({"input_ids": [rows[i % B] for i in range(n_rows)],
                            "completion_mask": [[0] * n_prompt + [1] * (T - n_prompt)] * n_rows})
    times: list[float] = []

    class Timer(TrainerCallback):
        def on_step_begin(self, args, state, control, **kw):
            _sync(device)
            self.t0 = time.perf_counter()

        def on_step_end(self, args, state, control, **kw):
            _sync(device)
            times.append(time.perf_counter() - self.t0)

    with tempfile.TemporaryDirectory() as tmp:
        args = SFTConfig(output_dir=tmp, max_steps=cfg.warmup + cfg.steps, per_device_train_batch_size=B,
                         max_length=T, learning_rate=cfg.lr, report_to=[], save_strategy="no", logging_strategy="no",
                         use_cpu=device.type == "cpu", bf16=lm.dtype == torch.bfloat16,
                         fp16=lm.dtype == torch.float16, seed=cfg.seed, disable_tqdm=True)
        tok = models.train_bpe_tokenizer([])  # the data is tokenised already; SFTTrainer still wants one
        _reset_peak(device)
        trainer = SFTTrainer(model=lm, args=args, train_dataset=ds, processing_class=tok, callbacks=[Timer()])
        trainer.train()
    out = _report(B * T, times[cfg.warmup:], flops_train(s, T), peak, device)
    out["config"] = "SFTConfig defaults (packing off, padding_free off, loss_type default)"
    return out


def main(cfg: BenchConfig) -> dict:
    seed_everything(cfg.seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    peak = device_peak(device, cfg.peak_flops)
    lm = models.load_causal_lm(cfg.model).to(device)
    s = shape(lm)
    T, B = cfg.seq_len, cfg.batch_size
    ids = torch.randint(0, s["vocab"], (B, T), device=device)
    n_prompt = T // 4
    result: dict = {"device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
                    "peak_flops": peak, "dtype": cfg.model.dtype, "seq_len": T, "batch_size": B, "model": s,
                    "memory_kind": "cuda_max_allocated" if device.type == "cuda" else "process_max_rss"}
    init_state = {k: v.detach().clone() for k, v in lm.state_dict().items()}

    def fresh():
        lm.load_state_dict(init_state)
        for p in lm.parameters():
            p.requires_grad_(True)
        return lm

    done = 0
    for job in cfg.jobs:
        if job == "sft":
            result["sft"] = bench_sft(fresh(), ids, n_prompt, cfg, device, peak, s)
        elif job in ("prm1", "prm2"):
            rm = prm.RewardModel(models.backbone_of(fresh()), lm.config.hidden_size).to(device)
            result["prm_stage1" if job == "prm1" else "prm_stage2"] = bench_prm(rm, ids, int(job[-1]), cfg, device,
                                                                               peak, s)
            del rm
        elif job == "grpo":
            p_len = cfg.prompt_len or T // 2
            new = cfg.max_new_tokens or max(1, T - p_len)
            rm = prm.RewardModel(copy.deepcopy(models.backbone_of(fresh())), lm.config.hidden_size).to(device).eval()
            result["grpo"] = bench_grpo(fresh(), rm, ids[:, :p_len], cfg, device, peak, s, new)
            del rm
        done += 1
        log.info("bench %s done (%d/%d)", job, done, len(cfg.jobs))
    if cfg.compare_trl:
        result["trl_sft_default"] = bench_trl_sft(fresh(), ids, n_prompt, cfg, device, peak, s)
    ratios = {}
    if "sft" in result and "trl_sft_default" in result:
        ratios["sft_vs_trl_default_tokens_per_s"] = result["sft"]["tokens_per_s"] / result["trl_sft_default"]["tokens_per_s"]
    if "sft" in result and "prm_stage1" in result:
        ratios["prm_stage1_vs_sft_tokens_per_s"] = result["prm_stage1"]["tokens_per_s"] / result["sft"]["tokens_per_s"]
    result["ratios"] = ratios
    result["targets"] = {"sft_mfu_1.7b": ">= 0.40", "prm_stage1_vs_sft_tokens_per_s": ">= 2.5",
                         "grpo_tokens_per_s_0.6b": ">= 1000", "peak_memory_bytes": "<= 72e9",
                         "measured_on": result["device"]}
    return {"bench": result}
