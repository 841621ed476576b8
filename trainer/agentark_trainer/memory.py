"""A memory model of the trainer's jobs: the bytes one GPU holds for sft, prm, grpo or ppo, from a model shape
(models.ARCHITECTURES) and the job's settings, to see before renting a GPU whether a job fits one 80 GB H100.

    python -m agentark_trainer.memory --arch qwen3-8b --job grpo --lora     # one job: its terms, then JSON
    python -m agentark_trainer.memory --all                                 # 0.6b/1.7b/8b x every job

A job holds some terms throughout (weights, frozen reference and PRM, AdamW moments, master weights) and others
only in one phase: the update of one micro-batch (gradients, activations, logits), the optimizer step
(gradients, the step's temporary), the rollout's prefill and decode (KV cache), the reference log-probs, PRM
scoring. Gradients exist only in the first two (loop.optimizer_step sets them to None). The peak is what is
held plus the largest phase. Where the numbers come from:
- parameters: counted from the shapes (Qwen3: no biases; RMSNorm weights, q/k norms over head_dim); the test
  checks them against transformers' models built on the meta device. LoRA adapters on every linear layer of
  the decoder (peft's "all-linear" leaves out lm_head): r x (in + out) each, in fp32 (peft's
  autocast_adapter_dtype casts bf16/fp16 adapters to fp32).
- AdamW: two moments per trainable parameter; mixed precision as in ZeRO (Rajbhandari et al. 2020, §3):
  2 + 2 + 12 bytes per bf16 parameter with fp32 master weights and moments. torch.optim.AdamW as the trainer
  calls it (loop.build_optimizer) keeps its moments in the parameter's dtype and no master copy: that is
  ``moment_dtype="param", master_weights="none"``. Its foreach step, torch's default on CUDA, allocates
  sqrt(v) for all parameters at once: one moment's size more (``optimizer="fused"`` has no such temporary).
- activations: what autograd saves in one Qwen3 decoder layer, walked op by op (layer_saved_bytes) the way
  Korthikanti et al. 2022 (§4.1) count a GPT layer (their 34sbh + 5as²b bytes, with dropout and the s² softmax).
  A Qwen3 layer trained in full, activations of a bytes, saves per token
      (8 + 4a)h + (4 + 3a)(q + kv) + 4a·i + 4(2nh + nkv) + 8      (q = nh·d, kv = nkv·d)
  and no s² term (SDPA and flash attention keep only a logsumexp): 215 kB per token for Qwen3-8B in bf16.
  The test measures it with saved_tensors_hooks (exact, device-free). Under activation checkpointing a layer
  saves only its input (a·h) and backward recomputes one layer at a time; the backward's own working set
  (backward_working_bytes) is fitted to live-tensor peaks.
- logits and no-grad forwards: peaks of live tensors, measured on CPU for logprobs.target_logprobs (16 bytes
  per logit under autograd, 8 without) and for a forward without autograd (a(4h + 3i) per token besides the
  KV cache); the test measures both again.
Not counted: CUDA context and allocator fragmentation (keep a few GB free), the rotary tables and the shared
attention mask (< 0.1%), sampling's last-token logits, DDP buckets (one GPU).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass, field, replace
from typing import Optional

from .logprobs import DEFAULT_CHUNK
from .models import ARCHITECTURES

GPU_BYTES = 80e9  # one H100 80 GB
DTYPE_BYTES = {"float32": 4, "bfloat16": 2, "float16": 2}
LORA_BYTES = 4  # peft keeps bf16/fp16 adapters in fp32
LOGIT_BYTES_GRAD = 16  # live bytes per logit in target_logprobs' forward + backward (measured, see the test)
LOGIT_BYTES_NO_GRAD = 8  # the same without autograd (reference and behaviour log-probs)
PRM_SCORE_BATCH = 16  # prm.score_steps' batch size
LINEARS_PER_LAYER = 7  # q, k, v, o, gate, up, down
JOBS = ("sft", "prm", "grpo", "ppo")


@dataclass(frozen=True)
class Shape:
    """A Qwen3 decoder's sizes: h hidden, i intermediate, nh/nkv query/key-value heads of head_dim d."""

    hidden: int
    intermediate: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    vocab: int
    tied: bool

    @classmethod
    def of(cls, arch: str) -> "Shape":
        a = ARCHITECTURES[arch]
        return cls(a["hidden_size"], a["intermediate_size"], a["num_hidden_layers"], a["num_attention_heads"],
                   a["num_key_value_heads"], a["head_dim"], a["vocab_size"], a["tie_word_embeddings"])

    @property
    def q(self) -> int:
        return self.heads * self.head_dim

    @property
    def kv(self) -> int:
        return self.kv_heads * self.head_dim

    def linears(self) -> list[tuple[int, int]]:
        """(in, out) of q, k, v, o, gate, up, down."""
        h, i = self.hidden, self.intermediate
        return [(h, self.q), (h, self.kv), (h, self.kv), (self.q, h), (h, i), (h, i), (i, h)]

    def layer_params(self) -> int:
        return sum(a * b for a, b in self.linears()) + 2 * self.head_dim + 2 * self.hidden

    def backbone_params(self) -> int:
        """Embeddings, decoder layers, final norm (Qwen3Model)."""
        return self.vocab * self.hidden + self.layers * self.layer_params() + self.hidden

    def params(self) -> int:
        """The causal LM: the backbone plus lm_head unless tied to the embeddings."""
        return self.backbone_params() + (0 if self.tied else self.vocab * self.hidden)

    def lora_params(self, r: int, layers: Optional[int] = None) -> int:
        return r * sum(a + b for a, b in self.linears()) * (self.layers if layers is None else layers)


@dataclass(frozen=True)
class Settings:
    """One job's settings. rows: sequences per micro-batch for sft/prm, prompts per micro-batch for grpo/ppo
    (each gives group_size sequences of prompt_len + new_tokens); grad_accum micro-batches make the global batch.
    The update holds one micro-batch; grpo/ppo generate and score the whole step's samples first."""

    job: str
    arch: str
    dtype: str = "bfloat16"
    lora_r: int = 0  # 0 = full fine-tuning
    master_weights: str = "fp32"  # fp32 | none: an fp32 copy of trainable bf16/fp16 weights
    moment_dtype: str = "float32"  # float32 | param (torch.optim.AdamW: the parameter's dtype)
    optimizer: str = "foreach"  # foreach (torch's default on CUDA) | fused
    gradient_checkpointing: bool = True
    logits_chunk: int = DEFAULT_CHUNK  # positions per LM-head chunk; 0 = all at once
    attn: str = "sdpa"  # sdpa | flash_attention_2 (no mask on padded batches)
    rows: int = 1
    seq_len: int = 4096  # sft, prm
    grad_accum: int = 4
    prm_stage: int = 2
    group_size: int = 8  # grpo, ppo: samples per prompt
    prompt_len: int = 1024
    new_tokens: int = 1024
    generation_batch: int = 0  # sequences per generate() call; 0 = all of a micro-batch
    reference: bool = True  # a frozen reference for the KL term (beta > 0)
    prm: bool = True  # grpo/ppo: a frozen PRM as reward (false: verifiable reward only)
    prm_arch: Optional[str] = None  # the PRM's shape; None = the student's


JOB_DEFAULTS = {
    "sft": dict(rows=1, seq_len=4096),  # one packed row of 4,096 tokens
    "prm": dict(rows=4, seq_len=2048),  # one contrastive group: 1 positive + 3 negatives
    "grpo": dict(rows=1),  # 1 prompt x G 8 = 8 sequences of 1,024 + 1,024 tokens
    "ppo": dict(rows=8, group_size=1),  # PpoConfig's one sample per prompt; grpo's 8 sequences per micro-batch
}


def settings(job: str, arch: str, **kw) -> Settings:
    if job not in JOBS:
        raise ValueError(f"unknown job {job!r} (known: {JOBS})")
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {arch!r} (known: {sorted(ARCHITECTURES)})")
    return Settings(job=job, arch=arch, **{**JOB_DEFAULTS[job], **kw})


@dataclass
class Term:
    name: str
    bytes: int
    phases: tuple[str, ...]  # ("held",) or the phases it belongs to
    note: str = ""


@dataclass
class Estimate:
    settings: Settings
    params: dict
    terms: list[Term] = field(default_factory=list)

    def add(self, name: str, nbytes: float, phases: tuple[str, ...] = ("held",), note: str = "") -> None:
        self.terms.append(Term(name, int(nbytes), phases, note))

    def phase_bytes(self) -> dict[str, int]:
        held = sum(t.bytes for t in self.terms if t.phases == ("held",))
        names = sorted({p for t in self.terms for p in t.phases if p != "held"})
        return {p: held + sum(t.bytes for t in self.terms if p in t.phases) for p in names}

    @property
    def peak(self) -> int:
        return max(self.phase_bytes().values())

    @property
    def peak_phase(self) -> str:
        phases = self.phase_bytes()
        return max(phases, key=phases.get)

    def fits(self, gpu_bytes: float = GPU_BYTES) -> bool:
        return self.peak <= gpu_bytes

    def to_dict(self, gpu_bytes: float = GPU_BYTES) -> dict:
        return {"settings": asdict(self.settings), "params": self.params,
                "terms": [asdict(t) for t in self.terms], "phases": self.phase_bytes(), "peak_bytes": self.peak,
                "peak_phase": self.peak_phase, "gpu_bytes": gpu_bytes, "fits": self.fits(gpu_bytes)}


# ----------------------------------------------------------------------------- activations


def norm_saved(width: int, a: int, input_grad: bool, weight_trained: bool, output_saved: bool) -> int:
    """Bytes per token Qwen3RMSNorm keeps for backward: x in fp32 and rsqrt (for x's gradient), the
    normalised x in dtype (for the weight's), and its output when a trained linear reads it."""
    return (4 * width + 4) * input_grad + a * width * weight_trained + a * width * output_saved


def layer_saved_bytes(s: Shape, a: int, seq: int, lora_r: int = 0, padded: bool = False,
                      input_grad: bool = True) -> int:
    """Bytes per token one decoder layer saves for backward, activations in ``a`` bytes, the layer trained
    in full (lora_r 0) or through LoRA adapters (frozen weights, lora_r > 0). Op by op:
      input and post-attention norms   norm_saved (a frozen linear keeps its weight, not its input)
      q_norm, k_norm                   q and k in fp32, their rsqrt per head, normalised q, k if trained;
                                       RoPE's products with cos/sin keep only cos/sin
      attention (SDPA / flash)         q, k, v after RoPE and the output (o_proj's input), logsumexp per head;
                                       a padded batch under sdpa repeats k, v to all heads and keeps the mask
                                       as a float row of ``seq`` per token
      MLP                              gate, up, silu(gate), and their product (down_proj's input) if trained
      LoRA                             each adapter's input in fp32 (one copy per adapter when the activations
                                       are narrower, else shared) and its r-wide A x
    """
    h, i, q, kv, full = s.hidden, s.intermediate, s.q, s.kv, lora_r == 0
    norms = norm_saved(h, a, input_grad, full, full) + norm_saved(h, a, True, full, full)
    qk = (4 + a * full) * (q + kv) + 4 * (s.heads + s.kv_heads)
    attention = a * (2 * q + 2 * kv) + 4 * s.heads
    if padded:
        attention += 2 * a * (q - kv) + a * seq
    mlp = (4 if full else 3) * a * i
    adapters = 0
    if not full:
        inputs = 2 * h + i if LORA_BYTES == a else 5 * h + q + i
        adapters = LORA_BYTES * (inputs + LINEARS_PER_LAYER * lora_r)
    return norms + qk + attention + mlp + adapters


def backbone_saved_bytes(s: Shape, a: int, tokens: int, seq: int, lora_r: int = 0, padded: bool = False,
                         checkpointing: bool = False, trained_layers: Optional[int] = None) -> int:
    """What a backbone forward saves until its backward: the trained layers (all, or the last
    ``trained_layers``, those before them frozen: PRM stage 1; under checkpointing only their inputs), the
    final norm, the input ids."""
    n = s.layers if trained_layers is None else trained_layers
    embeddings_trained = lora_r == 0 and n == s.layers
    if checkpointing:
        layers = n * a * s.hidden
    else:
        layers = (layer_saved_bytes(s, a, seq, lora_r, padded, input_grad=embeddings_trained)
                  + (n - 1) * layer_saved_bytes(s, a, seq, lora_r, padded))
    final_norm = norm_saved(s.hidden, a, True, embeddings_trained, False)
    return tokens * (layers + final_norm + 8 * embeddings_trained)


def recompute_bytes(s: Shape, a: int, tokens: int, seq: int, lora_r: int = 0, padded: bool = False) -> int:
    """Under checkpointing, backward recomputes one layer at a time: its saved set exists while it runs."""
    return tokens * layer_saved_bytes(s, a, seq, lora_r, padded)


def backward_working_bytes(s: Shape, a: int, tokens: int, lora_r: int = 0) -> int:
    """Gradients alive in one layer's backward beyond what it frees: two of the MLP's intermediates in dtype,
    and with fp32 adapters on narrower activations the down adapter's input gradient in fp32 (fitted to the
    live-tensor peaks measured on CPU; see the test)."""
    return tokens * s.intermediate * (2 * a + (LORA_BYTES if lora_r and LORA_BYTES != a else 0))


def activation_bytes(s: Shape, a: int, tokens: int, seq: int, lora_r: int = 0, padded: bool = False,
                     checkpointing: bool = False, trained_layers: Optional[int] = None) -> int:
    """Activations of one micro-batch at their peak in backward: the saved set, one layer's recompute under
    checkpointing, and the backward's working set."""
    saved = backbone_saved_bytes(s, a, tokens, seq, lora_r, padded, checkpointing, trained_layers)
    recompute = recompute_bytes(s, a, tokens, seq, lora_r, padded) if checkpointing else 0
    return saved + recompute + backward_working_bytes(s, a, tokens, lora_r)


def no_grad_forward_bytes(s: Shape, a: int, tokens: int, seq: int, padded: bool) -> int:
    """Live bytes of a forward without autograd, besides weights and KV cache: the embedding output held by
    the model's forward, the residual stream, the MLP's input and output, three MLP intermediates; the float
    mask of one layer on a padded sdpa batch."""
    return tokens * (a * (4 * s.hidden + 3 * s.intermediate) + (a * seq if padded else 0))


def logits_bytes(s: Shape, a: int, positions: int, chunk: int, grad: bool) -> int:
    """The LM head over ``positions`` in chunks of ``chunk`` (0 = all at once): its input for every position,
    and the full-vocabulary logits of one chunk."""
    rows = min(positions, chunk or positions)
    return positions * s.hidden * a + rows * s.vocab * (LOGIT_BYTES_GRAD if grad else LOGIT_BYTES_NO_GRAD)


def kv_cache_bytes(s: Shape, a: int, sequences: int, tokens: int) -> int:
    return 2 * s.layers * s.kv * tokens * sequences * a


# ----------------------------------------------------------------------------- the jobs


@dataclass(frozen=True)
class Batch:
    """One micro-batch: sequences of ``seq`` tokens, ``positions`` of them through the LM head; grpo/ppo
    generate ``step_sequences`` (the step's samples on one GPU) before the first update."""

    sequences: int
    seq: int
    positions: int
    step_sequences: int = 0

    @property
    def tokens(self) -> int:
        return self.sequences * self.seq


def micro_batch(st: Settings) -> Batch:
    if st.job in ("grpo", "ppo"):
        n = st.rows * st.group_size
        return Batch(n, st.prompt_len + st.new_tokens, n * st.new_tokens, n * st.grad_accum)
    return Batch(st.rows, st.seq_len, 0 if st.job == "prm" else st.rows * st.seq_len)  # sft: at most every token


def model_params(st: Settings, s: Shape) -> int:
    """The trained model: the LM, the PRM (backbone + reward head), or the policy with PPO's value head."""
    if st.job == "prm":
        return s.backbone_params() + s.hidden + 1
    return s.params() + (s.hidden + 1 if st.job == "ppo" else 0)


def trainables(st: Settings, s: Shape) -> list[tuple[int, int]]:
    """(parameters, bytes each) that train: adapters or weights (PRM stage 1: the last block), and the head
    (the PRM's in dtype, prm.RewardModel; PPO's value head in fp32, ppo.PolicyWithValue)."""
    a, head = DTYPE_BYTES[st.dtype], s.hidden + 1
    stage1 = st.job == "prm" and st.prm_stage == 1
    if st.lora_r:
        out = [(s.lora_params(st.lora_r, 1 if stage1 else None), LORA_BYTES)]
    elif stage1:
        out = [(s.layer_params(), a)]
    else:
        out = [(s.backbone_params() if st.job == "prm" else s.params(), a)]
    return out + {"prm": [(head, a)], "ppo": [(head, 4)]}.get(st.job, [])


def moment_bytes(st: Settings, param_bytes: int) -> int:
    return 4 if st.moment_dtype == "float32" else param_bytes


def estimate(st: Settings) -> Estimate:
    """Every term of one job, each held throughout or in its phases."""
    s, a = Shape.of(st.arch), DTYPE_BYTES[st.dtype]
    model, train = model_params(st, s), trainables(st, s)
    est = Estimate(st, {"model": model, "trainable": sum(n for n, _ in train)})
    held_terms(est, s, a, model, train)
    batch = micro_batch(st)
    padded = st.job != "sft" and st.attn == "sdpa"  # sft packs its rows without padding
    update_terms(est, s, a, batch, train, padded)
    if st.job in ("grpo", "ppo"):
        rl_terms(est, s, a, batch, padded)
    return est


def held_terms(est: Estimate, s: Shape, a: int, model: int, train: list[tuple[int, int]]) -> None:
    """The trained model's weights and adapters, AdamW's moments and master weights."""
    st = est.settings
    value_head = s.hidden + 1 if st.job == "ppo" else 0
    frozen = " (frozen; the adapters train)" if st.lora_r else ""
    est.add("weights", (model - value_head) * a + value_head * 4,
            note=f"{model / 1e9:.3f}B parameters in {st.dtype}{frozen}")
    if st.lora_r:
        est.add("LoRA adapters", train[0][0] * LORA_BYTES, note=f"r={st.lora_r} on every linear layer, fp32")
    est.add("AdamW moments", sum(2 * n * moment_bytes(st, b) for n, b in train),
            note=f"two per trainable, {st.moment_dtype}")
    if st.master_weights == "fp32":
        est.add("master weights", sum(4 * n for n, b in train if b < 4), note="fp32 copy of bf16/fp16 trainables")


def update_terms(est: Estimate, s: Shape, a: int, batch: Batch, train: list[tuple[int, int]], padded: bool) -> None:
    """One micro-batch's forward and backward, and the optimizer step."""
    st = est.settings
    trained_layers = 1 if st.job == "prm" and st.prm_stage == 1 else s.layers
    est.add("gradients", sum(n * b for n, b in train), ("update", "optimizer step"),
            "in the trainables' dtype, freed after each step")
    est.add("activations", activation_bytes(s, a, batch.tokens, batch.seq, st.lora_r, padded,
                                            st.gradient_checkpointing, trained_layers), ("update",),
            f"{batch.tokens:,} tokens, checkpointing {'on' if st.gradient_checkpointing else 'off'}")
    if batch.positions:
        est.add("logits", logits_bytes(s, a, batch.positions, st.logits_chunk, grad=True), ("update",),
                f"{batch.positions:,} positions x {s.vocab:,}, chunk {st.logits_chunk or 'all'}")
    if st.job == "ppo" and a != 4:
        est.add("value head input", batch.positions * s.hidden * 4, ("update",), "the hidden states in fp32")
    if st.optimizer == "foreach":
        est.add("AdamW step temporary", sum(n * moment_bytes(st, b) for n, b in train), ("optimizer step",),
                "foreach: sqrt(v) of every trainable at once")


def rl_terms(est: Estimate, s: Shape, a: int, batch: Batch, padded: bool) -> None:
    """GRPO/PPO: the frozen reference and PRM, and the phases without autograd (rollout, reference, scoring)."""
    st = est.settings
    prm_arch = (st.prm_arch or st.arch) if st.prm else None
    if st.reference:
        est.add("reference policy", 0 if st.lora_r else s.params() * a,
                note="the policy with its adapter disabled" if st.lora_r else "a frozen copy of the policy")
    if prm_arch:
        p = Shape.of(prm_arch)
        est.add("frozen PRM", (p.backbone_params() + p.hidden + 1) * a, note=f"{prm_arch} backbone + reward head")
    gen = min(batch.step_sequences, st.generation_batch or batch.step_sequences)
    est.add("KV cache", kv_cache_bytes(s, a, gen, batch.seq), ("decode",), f"{gen} sequences x {batch.seq:,} tokens")
    est.add("prefill", kv_cache_bytes(s, a, gen, st.prompt_len)
            + no_grad_forward_bytes(s, a, gen * st.prompt_len, st.prompt_len, padded), ("prefill",),
            f"the prompts' KV cache and the forward over {gen} x {st.prompt_len:,} tokens")
    if st.reference or st.job == "ppo":
        est.add("log-prob forward", no_grad_forward_bytes(s, a, batch.tokens, batch.seq, padded)
                + logits_bytes(s, a, batch.positions, st.logits_chunk, grad=False), ("reference log-probs",),
                "the reference's (and PPO's behaviour) log-probs of a micro-batch, no autograd")
    if prm_arch:
        n = min(batch.step_sequences, PRM_SCORE_BATCH)
        est.add("PRM forward", no_grad_forward_bytes(Shape.of(prm_arch), a, n * batch.seq, batch.seq, padded),
                ("PRM scoring",), f"{n} sequences per batch, no autograd")


# ----------------------------------------------------------------------------- the script

ALL_ARCHS = ("qwen3-0.6b", "qwen3-1.7b", "qwen3-8b")
ALL_VARIANTS = (("sft", False, 2), ("sft", True, 2), ("prm", False, 1), ("prm", False, 2), ("grpo", False, 2),
                ("grpo", True, 2), ("ppo", False, 2), ("ppo", True, 2))  # (job, LoRA, PRM stage)


def gb(b: float) -> str:
    return f"{b / 1e9:.1f}"


def variant_name(st: Settings) -> str:
    name = {"prm": f"prm stage {st.prm_stage}", "grpo": "PAD (grpo)"}.get(st.job, st.job)
    return name + (f" LoRA r={st.lora_r}" if st.lora_r else " full")


def summary(est: Estimate) -> dict[str, int]:
    by = {t.name: t.bytes for t in est.terms}
    return {"trained model": by["weights"] + by.get("LoRA adapters", 0),
            "frozen models": by.get("reference policy", 0) + by.get("frozen PRM", 0),
            "optimizer": by["AdamW moments"] + by.get("master weights", 0), "gradients": by["gradients"],
            "activations": by["activations"], "logits": by.get("logits", 0),
            "rollout": max(by.get("KV cache", 0), by.get("prefill", 0))}


def table(ests: list[Estimate], gpu_bytes: float) -> str:
    cols = list(summary(ests[0]))
    lines = ["| model | job | " + " | ".join(cols) + " | peak | peak phase | fits |",
             "|" + " --- |" * (len(cols) + 5)]
    for e in ests:
        cells = [gb(v) for v in summary(e).values()]
        lines.append(f"| {e.settings.arch} | {variant_name(e.settings)} | " + " | ".join(cells)
                     + f" | **{gb(e.peak)}** | {e.peak_phase} | {'yes' if e.fits(gpu_bytes) else 'no'} |")
    return "\n".join(lines)


def verdict(est: Estimate, gpu_bytes: float) -> str:
    fits = "fits" if est.fits(gpu_bytes) else "does not fit"
    return f"{est.settings.arch} {variant_name(est.settings)}: {gb(est.peak)} GB at {est.peak_phase}, {fits}"


def detail(est: Estimate, gpu_bytes: float) -> str:
    lines = [verdict(est, gpu_bytes)]
    lines += [f"  {t.name:<22} {gb(t.bytes):>7} GB  {'/'.join(t.phases):<28} {t.note}" for t in est.terms]
    lines += [f"  phase {p:<20} {gb(b):>7} GB" for p, b in est.phase_bytes().items()]
    return "\n".join(lines)


def describe(st: Settings, gpu_bytes: float, jobs: tuple[str, ...]) -> str:
    """The settings every estimate used, and each job's micro-batch."""
    lines = [f"{st.dtype} weights, master weights {st.master_weights}, AdamW moments {st.moment_dtype} "
             f"({st.optimizer} step), activation checkpointing {'on' if st.gradient_checkpointing else 'off'}, "
             f"LM head in chunks of {st.logits_chunk or 'all'} positions, attention {st.attn}; sizes in GB "
             f"(1e9 bytes) against {gb(gpu_bytes)} GB"]
    for job in jobs:
        j = st if job == st.job else replace(st, job=job, **JOB_DEFAULTS[job])
        shape = (f"{j.rows} prompt(s) x G {j.group_size} = {j.rows * j.group_size} sequences of "
                 f"{j.prompt_len} + {j.new_tokens} tokens" if job in ("grpo", "ppo")
                 else f"{j.rows} row(s) of {j.seq_len} tokens")
        unit = "prompts" if job in ("grpo", "ppo") else "rows"
        lines.append(f"  {job} micro-batch: {shape}; x {j.grad_accum} accumulated = {j.rows * j.grad_accum} {unit}")
    return "\n".join(lines)
def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m agentark_trainer.memory", description=__doc__.split("\n\n")[0])
    p.add_argument("--all", action="store_true", help="the table for 0.6b/1.7b/8b x every job")
    p.add_argument("--arch", default="qwen3-8b", choices=sorted(ARCHITECTURES))
    p.add_argument("--job", default="grpo", choices=JOBS)
    p.add_argument("--dtype", default="bfloat16", choices=sorted(DTYPE_BYTES))
    p.add_argument("--lora", action="store_true", help="LoRA on all linear layers (rank --lora-r)")
    p.add_argument("--lora-r", type=int, default=16)
    p.add_argument("--master-weights", default="fp32", choices=("fp32", "none"))
    p.add_argument("--moment-dtype", default="float32", choices=("float32", "param"))
    p.add_argument("--optimizer", default="foreach", choices=("foreach", "fused"))
    p.add_argument("--gradient-checkpointing", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--logits-chunk", type=int, default=DEFAULT_CHUNK, help="positions per LM-head chunk, 0 = all")
    p.add_argument("--attn", default="sdpa", choices=("sdpa", "flash_attention_2"))
    for name in ("rows", "seq-len", "grad-accum", "prm-stage", "group-size", "prompt-len", "new-tokens",
                 "generation-batch"):
        p.add_argument(f"--{name}", type=int)
    p.add_argument("--no-reference", action="store_true", help="grpo/ppo without a KL reference (beta 0)")
    p.add_argument("--no-prm", action="store_true", help="grpo/ppo with the verifiable reward only")
    p.add_argument("--prm-arch", choices=sorted(ARCHITECTURES), help="the PRM's shape (default: the student's)")
    p.add_argument("--gpu-gb", type=float, default=GPU_BYTES / 1e9)
    return p.parse_args(argv)


def settings_from_args(args: argparse.Namespace, job: str, arch: str) -> Settings:
    kw = {k: getattr(args, k) for k in ("dtype", "master_weights", "moment_dtype", "optimizer",
                                        "gradient_checkpointing", "logits_chunk", "attn")}
    for k in ("rows", "seq_len", "grad_accum", "prm_stage", "group_size", "prompt_len", "new_tokens",
              "generation_batch"):
        if getattr(args, k) is not None:
            kw[k] = getattr(args, k)
    kw.update(lora_r=args.lora_r if args.lora else 0, reference=not args.no_reference, prm=not args.no_prm,
              prm_arch=args.prm_arch)
    return settings(job, arch, **kw)


def main(argv: Optional[list[str]] = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    gpu = args.gpu_gb * 1e9
    base = settings_from_args(args, args.job, args.arch)
    if args.all:
        ests = [estimate(replace(settings_from_args(args, job, arch), lora_r=args.lora_r if lora else 0,
                                 prm_stage=stage)) for arch in ALL_ARCHS for job, lora, stage in ALL_VARIANTS]
        print(describe(base, gpu, JOBS))
        print(table(ests, gpu))
        print("\n".join(verdict(e, gpu) for e in ests if e.settings.arch == "qwen3-8b" and e.settings.job == "grpo"))
    else:
        ests = [estimate(base)]
        print(describe(base, gpu, (base.job,)))
        print(detail(ests[0], gpu))
    print(json.dumps({"gpu_bytes": gpu, "estimates": [e.to_dict(gpu) for e in ests]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
