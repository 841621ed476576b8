"""Checkpoints: written to a temp folder, then renamed, so a folder named step-N is always complete.

Layout of ``<output_dir>/checkpoints/step-00000012/``:
  state.pt          model (trainable module's state_dict), optimizer, scheduler, job extras; under FSDP the
                    full state, gathered to rank 0, so any world size resumes from it
  rng-rank<R>.pt    RNG states of each rank (python, numpy, torch, cuda)
  meta.json         {"step", "job", "complete": true} - written last, before the rename
The data position is the step: every job derives its data order from (seed, epoch), so step N
always continues with the batches that come after step N.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
from typing import Any, Optional

import torch

from . import parallel
from .runtime import Runtime, rng_state, set_rng_state
from .config import ConfigError

log = logging.getLogger(__name__)
STEP_DIR = re.compile(r"^step-(\d+)$")


def checkpoints_dir(output_dir: str) -> str:
    return os.path.join(output_dir, "checkpoints")


def list_complete(output_dir: str) -> list[tuple[int, str]]:
    d = checkpoints_dir(output_dir)
    if not os.path.isdir(d):
        return []
    found = []
    for name in os.listdir(d):
        m = STEP_DIR.match(name)
        path = os.path.join(d, name)
        if m and os.path.isfile(os.path.join(path, "meta.json")):
            found.append((int(m.group(1)), path))
    return sorted(found)


def find_resume(output_dir: str, resume: Optional[str]) -> Optional[str]:
    """``auto`` = newest complete checkpoint (None if there is none); a path = that checkpoint."""
    if not resume or resume == "none":
        return None
    if resume == "auto":
        done = list_complete(output_dir)
        return done[-1][1] if done else None
    if not os.path.isfile(os.path.join(resume, "meta.json")):
        # A wrong path is the caller's mistake: exit 2 (bad config), not "interrupted, retry".
        raise ConfigError("--resume", f"{resume} is not a complete checkpoint (no meta.json)")
    return resume


def fsync_tree(folder: str) -> None:
    """Flush every file of a folder, and the folder itself, to disk before it is renamed into place,
    so a complete-looking checkpoint survives a power cut too, not only a process crash."""
    for root, _, files in os.walk(folder):
        for name in files:
            fd = os.open(os.path.join(root, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fd = os.open(root, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def save(rt: Runtime, output_dir: str, step: int, job: str, model: torch.nn.Module, optimizer, scheduler,
         extra: Optional[dict] = None, keep: int = 2) -> str:
    root = checkpoints_dir(output_dir)
    final = os.path.join(root, f"step-{step:08d}")
    tmp = os.path.join(root, f".tmp-step-{step:08d}")
    if rt.is_main:
        os.makedirs(root, exist_ok=True)
        shutil.rmtree(tmp, ignore_errors=True)  # left over by a crash
        os.makedirs(tmp)
    rt.barrier()
    torch.save(rng_state(), os.path.join(tmp, f"rng-rank{rt.rank}.pt"))
    model_sd = parallel.model_state(model)  # sharded: gathered to rank 0 (every rank takes part)
    optim_sd = parallel.optimizer_state(model, optimizer)
    if rt.is_main:
        torch.save({
            "model": model_sd,
            "optimizer": optim_sd,
            "scheduler": scheduler.state_dict() if scheduler is not None else None,
            "extra": extra or {},
            "step": step,
        }, os.path.join(tmp, "state.pt"))
    rt.barrier()
    if rt.is_main:
        with open(os.path.join(tmp, "meta.json"), "w") as f:
            json.dump({"step": step, "job": job, "world_size": rt.world_size, "complete": True}, f)
        fsync_tree(tmp)
        if os.path.exists(final):
            shutil.rmtree(final)
        os.replace(tmp, final)
        for _, old in list_complete(output_dir)[:-keep]:
            shutil.rmtree(old, ignore_errors=True)
    rt.barrier()
    return final


def load(rt: Runtime, path: str, model: torch.nn.Module, optimizer=None, scheduler=None) -> dict[str, Any]:
    state = torch.load(os.path.join(path, "state.pt"), map_location="cpu", weights_only=False)
    parallel.load_state(model, optimizer, state["model"], state["optimizer"] if optimizer is not None else None)
    if scheduler is not None and state["scheduler"] is not None:
        scheduler.load_state_dict(state["scheduler"])
    rng_file = os.path.join(path, f"rng-rank{rt.rank}.pt")
    if os.path.isfile(rng_file):
        set_rng_state(torch.load(rng_file, weights_only=False))
    else:
        log.warning("%s has no RNG state for rank %d (different world size): RNG not restored", path, rt.rank)
    return {"step": int(state["step"]), "extra": state["extra"]}


def publish_dir(rt: Runtime, target: str, write) -> str:
    """Write a folder (e.g. final/) through a temp name and rename it into place; rank 0 only."""
    if rt.is_main:
        tmp = target.rstrip("/") + ".tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(tmp)
        write(tmp)
        fsync_tree(tmp)
        if os.path.exists(target):
            shutil.rmtree(target)
        os.replace(tmp, target)
    rt.barrier()
    return target
