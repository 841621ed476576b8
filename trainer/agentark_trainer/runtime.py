"""Process-level plumbing shared by the training jobs: devices, torchrun/DDP, seeding, SIGTERM."""

from __future__ import annotations

import logging
import os
import random
import signal

import numpy as np
import torch
import torch.distributed as dist

log = logging.getLogger(__name__)


class Runtime:
    def __init__(self) -> None:
        self.world_size = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        if torch.cuda.is_available():
            self.device = torch.device("cuda", self.local_rank)
            torch.cuda.set_device(self.device)
        else:
            self.device = torch.device("cpu")
        self.distributed = self.world_size > 1
        if self.distributed and not dist.is_initialized():
            dist.init_process_group(backend="nccl" if self.device.type == "cuda" else "gloo")
        self.stop_requested = False

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    # -- collectives that are no-ops on one process

    def all_sum(self, value: float) -> float:
        if not self.distributed:
            return float(value)
        t = torch.tensor([float(value)], dtype=torch.float64, device=self.device)
        dist.all_reduce(t)
        return float(t.item())

    def any(self, flag: bool) -> bool:
        return self.all_sum(1.0 if flag else 0.0) > 0

    def broadcast(self, value):
        """Rank 0's ``value`` (any picklable object) on every rank; what the other ranks pass is ignored."""
        if not self.distributed:
            return value
        box = [value]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def barrier(self) -> None:
        if self.distributed:
            dist.barrier()

    def close(self) -> None:
        if self.distributed and dist.is_initialized():
            dist.destroy_process_group()

    # -- SIGTERM: ask the loop to checkpoint and exit 75 at the next step boundary

    def install_signal_handlers(self):
        """Returns the previous SIGTERM handler (restore it with signal.signal when done)."""

        def on_term(signum, frame):  # noqa: ARG001
            log.warning("signal %s received: will checkpoint and exit after this step", signum)
            self.stop_requested = True

        return signal.signal(signal.SIGTERM, on_term)

    def should_stop(self) -> bool:
        """True on every rank when any rank received SIGTERM (so all stop at the same step)."""
        return self.any(self.stop_requested)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def rng_state() -> dict:
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def peak_memory_bytes(device: torch.device) -> int:
    if device.type == "cuda":
        return int(torch.cuda.max_memory_allocated(device))
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024  # Linux reports KiB


def current_memory_bytes(device: torch.device) -> int:
    if device.type == "cuda":
        return int(torch.cuda.memory_allocated(device))
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0
