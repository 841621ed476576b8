"""Data parallelism across ranks: DDP (every rank holds the whole model, gradients and optimizer states) or
FSDP2 (``parallel: fsdp``: ``fully_shard`` on every decoder layer and on the trained module, so parameters,
gradients and optimizer states are split across ranks and gathered one layer at a time).

Mixed precision under FSDP: the sharded master weights (and so AdamW's states) are float32, each layer is
gathered in ``model.dtype`` (bf16) for compute, and gradients are reduced in float32. Checkpoints hold the
full float32 state (gathered to rank 0 layer by layer, on CPU), so a job resumes on any number of ranks and
``final/`` holds the weights in ``model.dtype`` like every other job's.

Everything here is a no-op on one process with DDP, so the jobs call it unconditionally.
"""

from __future__ import annotations

import contextlib
import dataclasses
from typing import Optional

import torch
from torch.nn.parallel import DistributedDataParallel as DDP

from .config import ConfigError, ModelSpec
from .models import DTYPES, decoder_layers
from .runtime import Runtime


def master_spec(cfg) -> ModelSpec:
    """The model spec to load: under FSDP the weights load in float32 (the master copy); compute is in
    model.dtype through the mixed-precision policy."""
    if cfg.parallel == "fsdp":
        if getattr(cfg, "lora", None) is not None:
            raise ConfigError("parallel", "fsdp shards full fine-tuning; with lora the model fits one GPU: use ddp")
        return dataclasses.replace(cfg.model, dtype="float32")
    return cfg.model


def wrap(rt: Runtime, cfg, module: torch.nn.Module) -> torch.nn.Module:
    """The module as it trains: DDP-wrapped across ranks, or sharded in place by FSDP2 (even on one rank).
    Build the optimizer after this: FSDP replaces the parameters by their shards."""
    if cfg.parallel == "fsdp":
        from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard

        if not torch.distributed.is_initialized():
            raise ConfigError("parallel", "fsdp needs torchrun (a process group), even for one process")
        compute = DTYPES[cfg.model.dtype]
        mp = MixedPrecisionPolicy(param_dtype=compute if compute != torch.float32 else None,
                                  reduce_dtype=torch.float32)
        for layer in decoder_layers(module):
            fully_shard(layer, mp_policy=mp)
        fully_shard(module, mp_policy=mp)
        if hasattr(module, "generate"):  # rollouts enter through the root, as forward does
            from torch.distributed.fsdp import register_fsdp_forward_method

            register_fsdp_forward_method(module, "generate")
        return module
    if not rt.distributed:
        return module
    ids = [rt.device.index] if rt.device.type == "cuda" else None
    return DDP(module, device_ids=ids)


def is_sharded(module: torch.nn.Module) -> bool:
    from torch.distributed.tensor import DTensor

    return any(isinstance(p, DTensor) for p in module.parameters())


def accumulation_context(rt: Runtime, module: torch.nn.Module, sync: bool):
    """Gradients reduce once per optimizer step: DDP's no_sync(), FSDP's requires_gradient_sync, on the
    micro-batches before the last."""
    from torch.distributed.fsdp import FSDPModule

    if isinstance(module, FSDPModule):
        module.set_requires_gradient_sync(sync)
        return contextlib.nullcontext()
    if rt.distributed and not sync:
        return module.no_sync()
    return contextlib.nullcontext()


@contextlib.contextmanager
def generation(module: torch.nn.Module):
    """Around ``module.generate``: a sharded module keeps each layer gathered from its first decode step to
    the end of the rollout (one all-gather per layer, not one per layer per token), then reshards."""
    from torch.distributed.fsdp import FSDPModule

    if not isinstance(module, FSDPModule):
        yield
        return
    module.set_reshard_after_forward(False)
    try:
        yield
    finally:
        module.set_reshard_after_forward(True)
        for m in module.modules():
            if isinstance(m, FSDPModule):
                m.reshard()


@contextlib.contextmanager
def gathered(module: torch.nn.Module):
    """Every sharded group of ``module`` gathered (full parameters in compute dtype on every rank) for the
    duration, then resharded: around writing final/, where ``state_for_save`` reads the full parameters.
    Nothing to do for a module with no sharded parts."""
    from torch.distributed.fsdp import FSDPModule

    groups = [m for m in module.modules() if isinstance(m, FSDPModule)]
    for m in groups:
        m.unshard()
    try:
        yield
    finally:
        for m in groups:
            m.reshard()


def state_for_save(module: torch.nn.Module) -> Optional[dict]:
    """What save_pretrained should write for a module with sharded parts, inside ``gathered``: the gathered
    parameters themselves (FSDP's state_dict hooks would hand out shards). None for a plain module."""
    from torch.distributed.fsdp import FSDPModule

    if not any(isinstance(m, FSDPModule) for m in module.modules()):
        return None
    # cloned: the gathered parameters are views of one all-gather buffer, which safetensors cannot write
    state = {n: p.detach().clone() for n, p in module.named_parameters()}  # a tied weight once, as saved
    for prefix, sub in module.named_modules():
        for name, buf in sub.named_buffers(recurse=False):
            if name not in sub._non_persistent_buffers_set:
                state[f"{prefix}.{name}" if prefix else name] = buf
    return state


def model_state(module: torch.nn.Module) -> dict:
    """state_dict(); sharded: the full float32 state on rank 0 (CPU), {} elsewhere. Collective when sharded."""
    if not is_sharded(module):
        return module.state_dict()
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

    return get_model_state_dict(module, options=StateDictOptions(full_state_dict=True, cpu_offload=True))


def optimizer_state(module: torch.nn.Module, optimizer) -> dict:
    if not is_sharded(module):
        return optimizer.state_dict()
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_optimizer_state_dict

    return get_optimizer_state_dict(module, optimizer,
                                    options=StateDictOptions(full_state_dict=True, cpu_offload=True))


def load_state(module: torch.nn.Module, optimizer, model_sd: dict, optim_sd) -> None:
    """Loads a full state (every rank passes the same full dicts) into a plain or a sharded module."""
    if not is_sharded(module):
        module.load_state_dict(model_sd)
        if optimizer is not None:
            optimizer.load_state_dict(optim_sd)
        return
    from torch.distributed.checkpoint.state_dict import (StateDictOptions, set_model_state_dict,
                                                         set_optimizer_state_dict)

    opts = StateDictOptions(full_state_dict=True)
    set_model_state_dict(module, model_sd, options=opts)
    if optimizer is not None:
        set_optimizer_state_dict(module, optimizer, optim_state_dict=optim_sd, options=opts)


def as_float(x) -> float:
    """A scalar that may be a DTensor (clip_grad_norm_ of sharded gradients)."""
    return float(x.full_tensor()) if hasattr(x, "full_tensor") else float(x)
