"""The bench's GRPO part: the grpo job's own train step (rollout, scoring, update) on synthetic prompts.

A grpo job state is built by ``grpo.setup`` as the job builds it: a grpo.jsonl of distinct prompts of
``prompt_len`` tokens and a PRM folder written by ``prm.save_reward_model`` from a freshly built
RewardModel, so scoring runs the real PRM path (loaded from its folder, as the job loads it). Each measured
``grpo.train_step`` samples until EOS or ``max_new_tokens``, as the job does; on random weights an EOS is
rare, so completions mostly run to ``max_new_tokens`` (``stopped_fraction`` says how many stopped).

``tokens_per_s`` counts generated (completion) tokens only: completion_length x samples, from the step's
own metrics, over the step's wall time; ``rollout.tokens_per_s`` is the same tokens over the rollout alone.
``flops_per_step`` counts the rollout (backbone over prompt + completion, LM head at completion tokens), the
PRM forward over what it scored (no LM head), the reference forward and the policy's forward + backward.

A named architecture without a tokenizer gets a stand-in: the byte-level BPE plus placeholder words up to
the model's vocabulary, so every sampled id decodes to text (the BPE alone decodes ids past its 259 to
nothing) and re-encodes to one token, as a real tokenizer of that vocabulary would.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import tempfile
import time

from . import data, grpo, models, prm
from .bench import flops_lm, fresh_lm, release, sync
from .config import BenchConfig, GrpoConfig, ModelSpec
from .runtime import Runtime, peak_memory_bytes

STEP_BREAK_EVERY = 24  # every 24th placeholder word starts a paragraph, so completions split into steps


def stand_in_tokenizer(spec: ModelSpec, vocab: int, folder: str) -> tuple[ModelSpec, object, str]:
    """The spec the grpo job loads (tokenizer in ``folder`` when a stand-in is needed), its tokenizer, a word."""
    tok = models.load_tokenizer(spec)
    if not spec.arch or spec.tokenizer or len(tok) >= vocab:
        return spec, tok, "the model's own"
    n = len(tok)
    tok.add_tokens([("\n\n" if i % STEP_BREAK_EVERY == STEP_BREAK_EVERY - 1 else "") + f" w{i}"
                    for i in range(vocab - n)])
    tok.save_pretrained(folder)
    return dataclasses.replace(spec, tokenizer=folder), tok, f"stand-in: byte-level BPE ({n}) + placeholder words"


def synthetic_prompts(tok, n: int, prompt_len: int, seed: int) -> list[dict]:
    """``n`` distinct grpo records whose chat-templated prompts hold ``prompt_len`` tokens or a few more
    (grown a number at a time; the job keeps the last ``max_prompt_len`` = ``prompt_len`` of them)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        numbers = [rng.randint(10, 999)]
        while len(data.prompt_ids(tok, f"Add up: {' '.join(map(str, numbers))}")) < prompt_len:
            numbers.append(rng.randint(10, 999))
        out.append({"id": f"bench-{i}", "task": "numeric", "prompt": f"Add up: {' '.join(map(str, numbers))}",
                    "gold": str(sum(numbers))})
    return out


def write_prm(cfg: BenchConfig, tok, folder: str, device) -> None:
    """A fresh RewardModel on its own freshly built backbone, saved as the prm job saves one."""
    lm = fresh_lm(cfg, device)
    rm = prm.RewardModel(models.backbone_of(lm), lm.config.hidden_size)
    prm.save_reward_model(rm, tok, folder, {"stage": 1, "step_separator": "\n", "max_seq_len": cfg.seq_len})


def job_config(cfg: BenchConfig, spec: ModelSpec, folder: str, prompt_len: int, new_tokens: int) -> GrpoConfig:
    """The grpo job's config: its defaults, the bench's shape, the PRM as the reward."""
    gcfg = GrpoConfig(model=spec, data=os.path.join(folder, "grpo.jsonl"), output_dir=os.path.join(folder, "out"),
                      seed=cfg.seed, max_steps=cfg.warmup + cfg.steps, batch_size=cfg.batch_size, lr=cfg.lr,
                      scheduler="constant", prm=os.path.join(folder, "prm"), prm_weight=1.0, verifiable_weight=0.0,
                      group_size=cfg.group_size, max_new_tokens=new_tokens, max_prompt_len=prompt_len)
    gcfg.validate()
    return gcfg


def step_flops(s: dict, gcfg: GrpoConfig, row: dict) -> dict:
    samples = row["samples"]
    seq, comp = row["sequence_tokens"], row["completion_tokens"]
    T = seq / samples
    policy_fwd = flops_lm(s, seq, comp, T)
    prm_T = row["prm_tokens"] / max(1, row["prm_rows"])
    extra_fwd = int(gcfg.beta > 0) + int(gcfg.updates_per_batch > 1)  # reference and behaviour log-probs
    return {"rollout": policy_fwd, "scoring": flops_lm(s, row["prm_tokens"], 0, prm_T),
            "update": (extra_fwd + 3 * gcfg.updates_per_batch) * policy_fwd}


def run_steps(st: grpo.GrpoState, cfg: BenchConfig, device) -> list[dict]:
    """``grpo.train_step`` warmup + steps times; one row per measured step, from the step's own metrics."""
    scored: list[tuple[int, int]] = []  # (real tokens, rows) of each PRM forward

    def on_prm_forward(module, args, kwargs, out):
        mask = args[1] if len(args) > 1 else kwargs["attention_mask"]
        scored.append((int(mask.sum()), mask.shape[0]))

    hook = st.prm.register_forward_hook(on_prm_forward, with_kwargs=True)
    rows = []
    try:
        for step in range(cfg.warmup + cfg.steps):
            scored.clear()
            sync(device)
            t0 = time.perf_counter()
            res = grpo.train_step(st, step)
            sync(device)
            if step < cfg.warmup:
                continue
            m = res.metrics
            samples = cfg.batch_size * cfg.group_size
            rows.append({"completion_length": m["completion_length"], "samples": samples,
                         "completion_tokens": round(m["completion_length"] * samples),
                         "sequence_tokens": res.tokens, "prm_tokens": sum(t for t, _ in scored),
                         "prm_rows": sum(r for _, r in scored), "stopped_fraction": m["stopped_fraction"],
                         "rollout_s": m["rollout_s"], "score_s": m["score_s"], "update_s": m["update_s"],
                         "step_time_s": time.perf_counter() - t0})
    finally:
        hook.remove()
    return rows


def summarise(rows: list[dict], flops: list[dict], peak: float | None) -> dict:
    def total(key):
        return sum(r[key] for r in rows)

    def mfu(work, seconds):
        return work / seconds / peak if peak else None

    n, gen, seq = len(rows), total("completion_tokens"), total("sequence_tokens")
    work = {k: sum(f[k] for f in flops) for k in ("rollout", "scoring", "update")}
    return {"tokens_per_s": gen / total("step_time_s"), "tokens_per_step": gen / n,
            "sequence_tokens_per_step": seq / n, "step_time_s": total("step_time_s") / n,
            "flops_per_step": sum(work.values()) / n, "mfu": mfu(sum(work.values()), total("step_time_s")),
            "stopped_fraction": total("stopped_fraction") / n,
            "rollout": {"tokens_per_s": gen / total("rollout_s"), "time_s": total("rollout_s") / n,
                        "mfu": mfu(work["rollout"], total("rollout_s"))},
            "scoring": {"prm_tokens_per_step": total("prm_tokens") / n, "time_s": total("score_s") / n,
                        "mfu": mfu(work["scoring"], total("score_s"))},
            "update": {"tokens_per_s": seq / total("update_s"), "time_s": total("update_s") / n,
                       "mfu": mfu(work["update"], total("update_s"))}}


def bench_grpo(cfg: BenchConfig, s: dict, device, peak: float | None) -> dict:
    prompt_len = cfg.prompt_len or cfg.seq_len // 2
    new_tokens = cfg.max_new_tokens or max(1, cfg.seq_len - prompt_len)
    with tempfile.TemporaryDirectory() as tmp:
        spec, tok, tokenizer_kind = stand_in_tokenizer(cfg.model, s["vocab"], os.path.join(tmp, "tokenizer"))
        records = synthetic_prompts(tok, cfg.batch_size * (cfg.warmup + cfg.steps), prompt_len, cfg.seed)
        with open(os.path.join(tmp, "grpo.jsonl"), "w") as f:
            f.writelines(json.dumps(r) + "\n" for r in records)
        write_prm(cfg, tok, os.path.join(tmp, "prm"), device)
        gcfg = job_config(cfg, spec, tmp, prompt_len, new_tokens)
        release(device)
        st = grpo.setup(gcfg, Runtime())
        rows = run_steps(st, cfg, device)
        out = summarise(rows, [step_flops(s, gcfg, r) for r in rows], peak)
        out["peak_memory_bytes"] = peak_memory_bytes(device)
        out["reward"] = "prm" if st.prm is not None else "none"
    out.update(prompt_len=prompt_len, max_new_tokens=new_tokens, group_size=cfg.group_size,
               prompts_per_step=cfg.batch_size, tokenizer=tokenizer_kind, steps=rows)
    return out
