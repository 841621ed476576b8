"""The driver every training job shares: resume, the step loop, progress events, checkpoints, SIGTERM.

A job supplies ``step_fn(step) -> StepResult`` (its forward/backward/optimizer work for one optimizer
step, on this rank's share of the global batch) and ``write_final(folder)``. The loop does the rest.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from dataclasses import dataclass, field
from typing import Callable, Optional

import torch

from . import checkpoint, parallel, tracking
from .events import emit
from .runtime import Runtime, current_memory_bytes, peak_memory_bytes

log = logging.getLogger(__name__)


class Interrupted(Exception):
    """SIGTERM was received; a checkpoint was written. The CLI exits 75."""

    def __init__(self, checkpoint_path: str, step: int):
        super().__init__(f"interrupted at step {step}; resumable from {checkpoint_path}")
        self.checkpoint_path = checkpoint_path
        self.step = step


@dataclass
class StepResult:
    loss: float  # this rank's contribution; the loop sums over ranks
    tokens: int  # tokens processed on this rank (real tokens, no padding)
    metrics: dict = field(default_factory=dict)  # already global (or rank-0) values, logged as a metric event


def build_optimizer(cfg, params: list) -> torch.optim.Optimizer:
    """AdamW at ``cfg.lr``. ``params`` is the parameters, or torch's parameter groups (dicts of ``params`` and
    settings of their own such as ``lr``): a job training parts at different rates passes its groups here, so
    the scheduler and checkpoints see them from the start."""
    return torch.optim.AdamW(params, lr=cfg.lr, betas=tuple(cfg.betas), weight_decay=cfg.weight_decay)


def build_scheduler(cfg, optimizer, total_steps: int):
    from transformers import get_scheduler

    name = {"cosine": "cosine", "linear": "linear", "constant": "constant_with_warmup"}[cfg.scheduler]
    return get_scheduler(name, optimizer, num_warmup_steps=cfg.warmup_steps, num_training_steps=total_steps)


def backward(rt: Runtime, loss: torch.Tensor) -> None:
    """Backward of a loss already normalised by a *global* count: DDP and FSDP average gradients over
    ranks, so scale by the world size to get the gradient of the global sum."""
    (loss * rt.world_size).backward()


def optimizer_step(cfg, params, optimizer, scheduler) -> float:
    norm = torch.nn.utils.clip_grad_norm_(params, cfg.max_grad_norm if cfg.max_grad_norm > 0 else float("inf"))
    optimizer.step()
    scheduler.step()
    optimizer.zero_grad(set_to_none=True)
    return parallel.as_float(norm)


def run(job: str, cfg, rt: Runtime, module: torch.nn.Module, optimizer, scheduler, total_steps: int,
        step_fn: Callable[[int], StepResult], write_final: Callable[[str], None], resume: Optional[str],
        extra_start: Optional[dict] = None, root: Optional[torch.nn.Module] = None) -> str:
    """Train from the resume point to total_steps; returns the final/ folder. ``module`` is what checkpoints
    hold; ``root`` the module parallel.wrap wrapped or sharded (default ``module``), gathered while final/ is
    written."""
    start = 0
    ckpt = checkpoint.find_resume(cfg.output_dir, resume)
    if ckpt:
        start = checkpoint.load(rt, ckpt, module, optimizer, scheduler)["step"]
        log.info("resumed from %s at step %d", ckpt, start)
    n_params = sum(p.numel() for p in module.parameters())
    n_train = sum(p.numel() for p in module.parameters() if p.requires_grad)
    emit("start", job=job, step=start, total=total_steps, resumed_from=ckpt, world_size=rt.world_size,
         device=str(rt.device), params=n_params, trainable_params=n_train, **(extra_start or {}))
    previous = rt.install_signal_handlers()
    tracker = tracking.open_tracker(job, cfg.output_dir, start, rt.is_main)
    try:
        for step in range(start, total_steps):
            t0 = time.perf_counter()
            res = step_fn(step)
            dt = time.perf_counter() - t0
            loss = rt.all_sum(res.loss)
            tokens = rt.all_sum(res.tokens)
            done = step + 1
            if done % cfg.log_every == 0 or done == total_steps or done == start + 1:
                scalars = dict(loss=loss, lr=scheduler.get_last_lr()[0], tokens_per_s=tokens / dt if dt > 0 else None,
                               step_time_s=dt, tokens=int(tokens), memory_bytes=current_memory_bytes(rt.device),
                               peak_memory_bytes=peak_memory_bytes(rt.device))
                emit("progress", job=job, step=done, total=total_steps, **scalars)
                tracker.log(done, scalars)
                if res.metrics:
                    emit("metric", job=job, step=done, metrics=res.metrics)
                    tracker.log(done, res.metrics)
            stop = rt.should_stop()
            if stop or (cfg.checkpoint_every and done % cfg.checkpoint_every == 0 and done < total_steps):
                path = checkpoint.save(rt, cfg.output_dir, done, job, module, optimizer, scheduler,
                                       keep=cfg.keep_checkpoints)
                emit("checkpoint", job=job, step=done, path=os.path.abspath(path))
                tracker.flush()
            if stop:
                raise Interrupted(path, done)
    finally:
        tracker.close()
        signal.signal(signal.SIGTERM, previous)

    final = os.path.join(cfg.output_dir, "final")
    with parallel.gathered(root if root is not None else module):
        checkpoint.publish_dir(rt, final, write_final)
    emit("checkpoint", job=job, step=total_steps, path=os.path.abspath(final), final=True)
    return os.path.abspath(final)
