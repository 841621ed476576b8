"""The generate job: batched generation for evaluation sets.

Input JSONL {id, prompt}; output JSONL {id, sample, completion, finishReason, tokens} (finishReason "stop"
when the model ended its turn, "length" when max_new_tokens cut it; tokens: the completion's generated tokens). Greedy when temperature is 0.

Lines are appended to ``<output>.partial`` batch by batch and the file is renamed to ``output`` at the
end. With ``--resume auto`` the prompts already in the partial file are skipped; each batch is seeded
from (seed, batch number), so a resumed sampled run draws the same samples as an uninterrupted one.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import time

import torch

from . import data, models
from .config import GenerateConfig
from .events import emit
from .loop import Interrupted
from .runtime import Runtime, peak_memory_bytes, seed_everything

log = logging.getLogger(__name__)


def _done_ids(partial: str, num_samples: int) -> set[str]:
    """ids whose every sample is in the partial file. The file is rewritten to hold only those: a torn
    last line and the samples of a prompt cut short are dropped, since that prompt is generated again."""
    if not os.path.isfile(partial):
        return set()
    lines: list[tuple[str, bytes]] = []
    with open(partial, "rb") as f:
        for line in f:
            if not line.endswith(b"\n"):
                break
            try:
                lines.append((json.loads(line)["id"], line))
            except (json.JSONDecodeError, KeyError, TypeError):
                break
    counts: dict[str, int] = {}
    for i, _ in lines:
        counts[i] = counts.get(i, 0) + 1
    done = {i for i, n in counts.items() if n >= num_samples}
    tmp = partial + ".tmp"
    with open(tmp, "wb") as f:
        f.writelines(line for i, line in lines if i in done)
    os.replace(tmp, partial)
    return done


@torch.no_grad()
def generate_batch(lm, tok, prompts: list[str], cfg: GenerateConfig, device) -> list[list[tuple[str, str, int]]]:
    """For each prompt, num_samples (completion, finishReason, generated tokens) triples."""
    rows = [data.prompt_ids(tok, p)[-cfg.max_prompt_len:] for p in prompts]
    ids, attn = data.pad_rows(rows, tok.pad_token_id, left=True)
    sampled = cfg.temperature > 0
    kw = dict(do_sample=True, temperature=cfg.temperature, top_p=cfg.top_p, top_k=0) if sampled else \
        dict(do_sample=False, temperature=None, top_p=None, top_k=None)
    out = lm.generate(input_ids=ids.to(device), attention_mask=attn.to(device), max_new_tokens=cfg.max_new_tokens,
                      num_return_sequences=cfg.num_samples, pad_token_id=tok.pad_token_id,
                      eos_token_id=tok.eos_token_id, **kw)
    results = []
    for i in range(len(prompts)):
        samples = []
        for s in range(cfg.num_samples):
            gen = out[i * cfg.num_samples + s, ids.shape[1]:].tolist()
            stop = tok.eos_token_id in gen
            if stop:
                gen = gen[:gen.index(tok.eos_token_id)]
            gen = [t for t in gen if t != tok.pad_token_id]
            samples.append((tok.decode(gen, skip_special_tokens=True), "stop" if stop else "length", len(gen)))
        results.append(samples)
    return results


def main(cfg: GenerateConfig, rt: Runtime, resume: str | None) -> dict:
    if rt.distributed:
        log.warning("generate runs on rank 0 only; other ranks idle")
    records = data.load_generate(cfg.input)
    partial = cfg.output + ".partial"
    done = _done_ids(partial, cfg.num_samples) if resume and resume != "none" else set()
    if not done and os.path.exists(partial):
        os.remove(partial)
    lm, tok = models.load(cfg.model)
    lm.to(rt.device).eval()
    emit("start", job="generate", step=len(done), total=len(records), prompts=len(records), resumed=len(done),
         device=str(rt.device))
    previous = rt.install_signal_handlers()
    written = len(done)
    os.makedirs(os.path.dirname(os.path.abspath(cfg.output)), exist_ok=True)
    with open(partial, "a", encoding="utf-8") as f:
        for b in range(0, len(records), cfg.batch_size):
            batch = [r for r in records[b:b + cfg.batch_size] if r["id"] not in done]
            if not batch:
                continue
            if rt.is_main:
                seed_everything(cfg.seed * 1_000_003 + b // cfg.batch_size)
                t0 = time.perf_counter()
                outs = generate_batch(lm, tok, [r["prompt"] for r in batch], cfg, rt.device)
                dt = time.perf_counter() - t0
                n_tok = 0
                for r, samples in zip(batch, outs):
                    for s, (text, reason, tokens) in enumerate(samples):
                        f.write(json.dumps({"id": r["id"], "sample": s, "completion": text,
                                            "finishReason": reason, "tokens": tokens}, ensure_ascii=False) + "\n")
                        n_tok += tokens
                f.flush()
                written += len(batch)
                emit("progress", job="generate", step=written, total=len(records), tokens_per_s=n_tok / dt,
                     peak_memory_bytes=peak_memory_bytes(rt.device))
            if rt.should_stop():
                raise Interrupted(partial, written)
    signal.signal(signal.SIGTERM, previous)
    if rt.is_main:
        os.replace(partial, cfg.output)
    return {"output": os.path.abspath(cfg.output), "prompts": len(records),
            "completions": len(records) * cfg.num_samples}
