"""Log-probabilities of target tokens from hidden states, in chunks: the one place the LM head runs in training.

Full-vocabulary logits are the largest tensor of a training step (N × T × vocab in fp32: 12 GB for 8 × 1,280
tokens of a 151,936-token vocabulary). Here they exist for ``chunk`` positions at a time. Under autograd each
chunk is checkpointed: its logits are freed after the forward and recomputed in backward, so backward holds
only one chunk's logits too. The result equals the full computation (``chunk`` only changes the order in
which positions are visited, never a sum).
"""

from __future__ import annotations

import torch
from torch.utils.checkpoint import checkpoint

DEFAULT_CHUNK = 1024  # positions per chunk: 1024 × 151,936 × 4 bytes = 0.6 GB of fp32 logits at a time


def _chunk_logprobs(head: torch.nn.Module, hidden: torch.Tensor, target: torch.Tensor,
                    temperature: float) -> torch.Tensor:
    logits = head(hidden).float()
    if temperature != 1.0:
        logits = logits / temperature
    picked = torch.gather(logits, -1, target.unsqueeze(-1)).squeeze(-1)
    return picked - torch.logsumexp(logits, dim=-1)


def target_logprobs(head: torch.nn.Module, hidden: torch.Tensor, target: torch.Tensor, temperature: float = 1.0,
                    chunk: int = DEFAULT_CHUNK) -> torch.Tensor:
    """log softmax(head(hidden) / temperature)[target] for every position: hidden [..., H], target [...]."""
    shape = target.shape
    h = hidden.reshape(-1, hidden.shape[-1])
    t = target.reshape(-1)
    if chunk <= 0 or h.shape[0] <= chunk:
        return _chunk_logprobs(head, h, t, temperature).view(shape)
    grad = torch.is_grad_enabled() and (h.requires_grad or any(p.requires_grad for p in head.parameters()))
    parts = []
    for i in range(0, h.shape[0], chunk):
        hc, tc = h[i:i + chunk], t[i:i + chunk]
        if grad:
            parts.append(checkpoint(_chunk_logprobs, head, hc, tc, temperature, use_reentrant=False))
        else:
            parts.append(_chunk_logprobs(head, hc, tc, temperature))
    return torch.cat(parts).view(shape)
