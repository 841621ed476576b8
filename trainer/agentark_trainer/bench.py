"""The bench job: tokens/s, MFU and peak memory of each job's training step on one model and sequence
length, with synthetic data. Through the CLI, stdout holds exactly one JSON object: the ``done`` event,
whose ``bench`` field is the result (no start/progress events for this job; progress is logged to stderr).

Every job section has ``tokens_per_s``, ``mfu``, ``peak_memory_bytes`` and ``flops_per_token``.
MFU = tokens/s x FLOPs per token / peak FLOP/s of the device, with only the work the job does counted:
a forward costs 2 N_backbone + 4 L H d T per token (N_backbone = matmul parameters without the LM head,
L layers, H heads, d head dim, T sequence length; full-attention convention, as in 6N + 12 L H d T) plus
2 V h for each token that goes through the LM head (V vocabulary, h hidden size); training is 3x forward.
Our SFT applies the head to completion tokens only, TRL's to every token, the PRM never (backbone + scalar
head), the frozen-backbone PRM stage 1 runs the backward of the last block only. Recomputation under
gradient checkpointing is not counted. Timings: median over ``steps`` after ``warmup`` steps; tokens are
real tokens (no padding).

Each job builds its own model, seeded as every other job's (no copy of the weights is kept between jobs),
and frees it before the next. On CUDA the peak counter is reset before each job, so a job's
``peak_memory_bytes`` is its own, model included; on CPU it is the process's max RSS, a high-water mark that
never goes down, not a per-job figure (``memory_kind`` says which).

With ``compare_trl`` TRL's SFTTrainer trains on the same token ids twice: ``trl_sft`` at our settings
(gradient checkpointing as ``model.gradient_checkpointing``, the model's precision, torch AdamW, constant
learning rate, gradient clipping at 1.0), which ``ratios.sft_vs_trl_tokens_per_s`` compares with, and
``trl_sft_default`` in SFTConfig's defaults (gradient checkpointing on, fused AdamW, linear schedule), for
reference; each section's ``settings`` says what it ran with. GRPO runs the real train step (bench_grpo.py).
"""

from __future__ import annotations

import gc
import logging
import statistics
import tempfile
import time

import torch

from . import models, prm
from .config import BenchConfig
from .runtime import peak_memory_bytes, seed_everything
from .sft import CompletionLoss

log = logging.getLogger(__name__)

# dense bf16 tensor-core peaks per device (vendor datasheets)
PEAK_FLOPS = {"H100": 989.4e12, "H200": 989.4e12, "H800": 989.4e12, "A100": 312e12, "L40S": 362e12,
              "A10G": 125e12, "L4": 121e12}
MAX_GRAD_NORM = 1.0  # the training jobs' default (TrainConfig.max_grad_norm)


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
    head = lm.get_output_embeddings().weight.numel()
    backbone = models.count_params(models.backbone_of(lm)) - emb  # embeddings are lookups, not matmuls
    head_dim = getattr(c, "head_dim", None) or c.hidden_size // c.num_attention_heads
    return {"params": models.count_params(lm), "matmul_params": backbone + head, "head_params": head,
            "layers": c.num_hidden_layers, "heads": c.num_attention_heads, "head_dim": head_dim,
            "vocab": c.vocab_size, "hidden": c.hidden_size}


def flops_lm(s: dict, tokens: float, head_tokens: float, T: float) -> float:
    """Forward FLOPs of the backbone over ``tokens`` tokens at context T, and of the LM head at ``head_tokens``."""
    per_token = 2 * (s["matmul_params"] - s["head_params"]) + 4 * s["layers"] * s["heads"] * s["head_dim"] * T
    return per_token * tokens + 2 * s["head_params"] * head_tokens


def flops_forward(s: dict, T: int, head_share: float = 1.0) -> float:
    """Per token, with the LM head on ``head_share`` of the tokens."""
    return flops_lm(s, 1, head_share, T)


def flops_train(s: dict, T: int, head_share: float = 1.0) -> float:
    return 3 * flops_forward(s, T, head_share)


def flops_prm_forward(s: dict, T: int) -> float:
    """The PRM is the backbone and a scalar head read at a few step ends: no LM head."""
    return flops_forward(s, T, head_share=0.0)


def flops_prm_stage1(s: dict, block_params: int, T: int) -> float:
    """Forward of the backbone, backward (x2 of forward) of the last block only."""
    return flops_prm_forward(s, T) + 4 * block_params + 8 * s["heads"] * s["head_dim"] * T


def flops_prm_stage2(s: dict, T: int) -> float:
    return 3 * flops_prm_forward(s, T)


def sync(device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def release(device) -> None:
    """Free what the previous job left and start the next job's peak from here (CUDA)."""
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def fresh_lm(cfg: BenchConfig, device):
    """The job's own model, built and seeded like every other job's."""
    release(device)
    seed_everything(cfg.seed)
    return models.load_causal_lm(cfg.model).to(device)


def memory_kind(device) -> str:
    if device.type == "cuda":
        return "cuda_max_allocated, reset before each job: each job's own peak, its model included"
    return "process_max_rss: the process's high-water mark so far, not per job (it never goes down)"


def _time(fn, cfg: BenchConfig, device) -> list[float]:
    times = []
    for i in range(cfg.warmup + cfg.steps):
        sync(device)
        t0 = time.perf_counter()
        fn()
        sync(device)
        if i >= cfg.warmup:
            times.append(time.perf_counter() - t0)
    return times


def _report(tokens_per_step: int, times: list[float], flops_per_token: float, peak: float | None, device) -> dict:
    med = statistics.median(times)
    tps = tokens_per_step / med
    return {"tokens_per_s": tps, "step_time_s": med, "tokens_per_step": tokens_per_step,
            "flops_per_token": flops_per_token, "mfu": (tps * flops_per_token / peak) if peak else None,
            "peak_memory_bytes": peak_memory_bytes(device)}


def _dtype_name(module: torch.nn.Module) -> str:
    return str(next(module.parameters()).dtype).removeprefix("torch.")


def bench_sft(cfg: BenchConfig, ids, n_prompt: int, device, peak) -> dict:
    lm = fresh_lm(cfg, device)
    s = shape(lm)
    B, T = ids.shape
    labels = ids.clone()
    labels[:, :n_prompt] = -100
    packed = {"input_ids": ids.reshape(1, -1), "labels": labels.reshape(1, -1),
              "position_ids": torch.arange(T, device=device).repeat(B).reshape(1, -1)}
    loss_mod = CompletionLoss(lm)
    params = [p for p in lm.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr)
    lm.train()

    def step():
        nll, n = loss_mod(**packed)
        (nll / n).backward()
        torch.nn.utils.clip_grad_norm_(params, MAX_GRAD_NORM)
        opt.step()
        opt.zero_grad(set_to_none=True)

    head_share = float((packed["labels"][:, 1:] != -100).sum()) / (B * T)  # the head runs at labelled tokens only
    out = _report(B * T, _time(step, cfg, device), flops_train(s, T, head_share), peak, device)
    out["settings"] = {"gradient_checkpointing": lm.is_activation_checkpointing, "dtype": _dtype_name(lm),
                       "optimizer": "torch.optim.AdamW", "lr_schedule": "constant", "max_grad_norm": MAX_GRAD_NORM,
                       "batch": "padding-free packing (position_ids)", "loss": "completion tokens only"}
    return out


def bench_prm(cfg: BenchConfig, ids, stage: int, device, peak) -> dict:
    lm = fresh_lm(cfg, device)
    s = shape(lm)
    rm = prm.RewardModel(models.backbone_of(lm), s["hidden"]).to(device)
    del lm  # as in the prm job: the PRM keeps the backbone, the LM head goes
    B, T = ids.shape
    prm.set_stage(rm, stage)
    n_steps = 8
    index = torch.linspace(T // 4, T - 1, n_steps, device=device).long().repeat(B, 1)
    labels = (torch.arange(B * n_steps, device=device) % 2).float().view(B, n_steps)
    mask = torch.ones_like(ids)
    params = [p for p in rm.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr)
    rm.train()

    def step():
        r = rm(ids, mask, index)
        prm.bce_loss(r, labels).mean().backward()
        torch.nn.utils.clip_grad_norm_(params, MAX_GRAD_NORM)
        opt.step()
        opt.zero_grad(set_to_none=True)

    block = sum(p.numel() for p in models.decoder_layers(rm.backbone)[-1].parameters())
    fpt = flops_prm_stage1(s, block, T) if stage == 1 else flops_prm_stage2(s, T)
    out = _report(B * T, _time(step, cfg, device), fpt, peak, device)
    out["trainable_params"] = sum(p.numel() for p in params)
    out["settings"] = {"gradient_checkpointing": rm.backbone.is_activation_checkpointing, "dtype": _dtype_name(rm)}
    return out


def _trl_args(cfg: BenchConfig, folder: str, B: int, T: int, device, dtype, ours: bool):
    """SFTConfig at our settings (``ours``) or at its defaults; precision follows the model either way."""
    from trl import SFTConfig

    kw = dict(output_dir=folder, max_steps=cfg.warmup + cfg.steps, per_device_train_batch_size=B, max_length=T,
              learning_rate=cfg.lr, report_to=[], save_strategy="no", logging_strategy="no",
              use_cpu=device.type == "cpu", bf16=dtype == torch.bfloat16, fp16=dtype == torch.float16,
              seed=cfg.seed, disable_tqdm=True)
    if ours:
        kw.update(gradient_checkpointing=cfg.model.gradient_checkpointing,
                  gradient_checkpointing_kwargs={"use_reentrant": False}, optim="adamw_torch",
                  lr_scheduler_type="constant", max_grad_norm=MAX_GRAD_NORM)
    return SFTConfig(**kw)


def _trl_settings(trainer) -> dict:
    """What the trainer ran with, read back from it after training."""
    a = trainer.args
    return {"gradient_checkpointing": a.gradient_checkpointing,
            "model_gradient_checkpointing": trainer.model.is_activation_checkpointing,
            "dtype": _dtype_name(trainer.model), "bf16": a.bf16, "fp16": a.fp16,
            "optimizer": getattr(a.optim, "value", a.optim),
            "lr_schedule": getattr(a.lr_scheduler_type, "value", a.lr_scheduler_type),
            "max_grad_norm": a.max_grad_norm, "packing": a.packing, "padding_free": a.padding_free,
            "loss": "completion tokens only (completion_mask)"}


def bench_trl_sft(cfg: BenchConfig, ids, n_prompt: int, device, peak, ours: bool) -> dict:
    """TRL's SFTTrainer on the same token ids (rows of equal length: no padding either way)."""
    from datasets import Dataset
    from transformers import TrainerCallback
    from trl import SFTTrainer

    B, T = ids.shape
    rows = ids.cpu().tolist()
    n_rows = B * (cfg.warmup + cfg.steps)
    ds = Dataset.from_dict({"input_ids": [rows[i % B] for i in range(n_rows)],
                            "completion_mask": [[0] * n_prompt + [1] * (T - n_prompt)] * n_rows})
    times: list[float] = []

    class Timer(TrainerCallback):
        def on_step_begin(self, args, state, control, **kw):
            sync(device)
            self.t0 = time.perf_counter()

        def on_step_end(self, args, state, control, **kw):
            sync(device)
            times.append(time.perf_counter() - self.t0)

    lm = fresh_lm(cfg, device)
    s = shape(lm)
    with tempfile.TemporaryDirectory() as tmp:
        args = _trl_args(cfg, tmp, B, T, device, next(lm.parameters()).dtype, ours)
        tok = models.train_bpe_tokenizer([])  # the data is tokenised already; SFTTrainer still wants one
        trainer = SFTTrainer(model=lm, args=args, train_dataset=ds, processing_class=tok, callbacks=[Timer()])
        trainer.train()
    out = _report(B * T, times[cfg.warmup:], flops_train(s, T), peak, device)  # its head runs at every token
    out["settings"] = _trl_settings(trainer)
    return out


def _shape_of(cfg: BenchConfig) -> dict:
    """The model's shape, from one built on the CPU (seeded as every job's) and dropped at once."""
    seed_everything(cfg.seed)
    lm = models.load_causal_lm(cfg.model)
    s = shape(lm)
    del lm
    gc.collect()
    return s


def _ratios(result: dict) -> dict:
    pairs = {"sft_vs_trl_tokens_per_s": ("sft", "trl_sft"),
             "sft_vs_trl_default_tokens_per_s": ("sft", "trl_sft_default"),
             "prm_stage1_vs_sft_tokens_per_s": ("prm_stage1", "sft")}
    return {name: result[a]["tokens_per_s"] / result[b]["tokens_per_s"]
            for name, (a, b) in pairs.items() if a in result and b in result}


def main(cfg: BenchConfig) -> dict:
    from . import bench_grpo

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    peak = device_peak(device, cfg.peak_flops)
    s = _shape_of(cfg)
    T, B = cfg.seq_len, cfg.batch_size
    ids = torch.randint(0, s["vocab"], (B, T), generator=torch.Generator().manual_seed(cfg.seed)).to(device)
    n_prompt = T // 4
    result: dict = {"device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
                    "peak_flops": peak, "dtype": cfg.model.dtype, "seq_len": T, "batch_size": B, "model": s,
                    "memory_kind": memory_kind(device)}
    for done, job in enumerate(cfg.jobs, 1):
        if job == "sft":
            result["sft"] = bench_sft(cfg, ids, n_prompt, device, peak)
        elif job in ("prm1", "prm2"):
            result["prm_stage" + job[-1]] = bench_prm(cfg, ids, int(job[-1]), device, peak)
        elif job == "grpo":
            result["grpo"] = bench_grpo.bench_grpo(cfg, s, device, peak)
        log.info("bench %s done (%d/%d)", job, done, len(cfg.jobs))
    if cfg.compare_trl:
        result["trl_sft"] = bench_trl_sft(cfg, ids, n_prompt, device, peak, ours=True)
        result["trl_sft_default"] = bench_trl_sft(cfg, ids, n_prompt, device, peak, ours=False)
    release(device)
    result["ratios"] = _ratios(result)
    result["targets"] = {"sft_mfu_1.7b": ">= 0.40", "prm_stage1_vs_sft_tokens_per_s": ">= 2.5",
                         "grpo_tokens_per_s_0.6b": ">= 1000", "peak_memory_bytes": "<= 72e9",
                         "measured_on": result["device"]}
    return {"bench": result}
