"""The memory model (memory.py) against what torch and transformers really hold: parameter counts of the meta-device
models, peft's LoRA count, the bytes autograd saves (saved_tensors_hooks, exact and device-free), the peak of live
tensors in a training step, the LM head and forwards without autograd (a dispatch mode that sees every tensor an op
makes), the KV cache of generate; then the 8B headline and the script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import weakref

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from agentark_trainer import logprobs, memory, models
from agentark_trainer.config import LoraSpec
from agentark_trainer.models import ARCHITECTURES

TRAINER = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}
TINY = memory.Shape.of("qwen3-tiny")
B, T = 2, 64


def qwen3(arch: str = "qwen3-tiny", dtype: str = "float32", lora_r: int = 0, checkpointing: bool = False):
    from transformers import AutoModelForCausalLM, Qwen3Config

    torch.manual_seed(0)
    cfg = Qwen3Config(**ARCHITECTURES[arch])
    cfg._attn_implementation = "sdpa"
    lm = AutoModelForCausalLM.from_config(cfg, dtype=DTYPES[dtype])
    if lora_r:
        lm = models.apply_lora(lm, LoraSpec(r=lora_r))
    if checkpointing:
        models.enable_gradient_checkpointing(lm)
    return lm


def backbone(lm):
    return models.backbone_of(models.inner_model(lm))


def batch(padded: bool) -> tuple[torch.Tensor, torch.Tensor]:
    ids = torch.randint(0, TINY.vocab, (B, T), generator=torch.Generator().manual_seed(1))
    attn = torch.ones(B, T, dtype=torch.long)
    if padded:
        attn[0, :T // 4] = 0  # left padding, as GRPO's rollouts
    return ids, attn


def storages(tensors) -> set[int]:
    return {t.untyped_storage().data_ptr() for t in tensors}


class LiveBytes(TorchDispatchMode):
    """The peak of the bytes held by tensors that ops make (storages counted once), leaving out ``skip``."""

    def __init__(self, skip: set[int]):
        super().__init__()
        self.skip, self.refs, self.peak = skip, {}, 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in out if isinstance(out, (tuple, list)) else [out]:
            if isinstance(t, torch.Tensor) and t.untyped_storage().data_ptr() not in self.skip:
                self.refs[id(t)] = (weakref.ref(t), t.untyped_storage().data_ptr(), t.untyped_storage().nbytes())
        live = {}
        for key, (ref, ptr, nbytes) in list(self.refs.items()):
            if ref() is None:
                del self.refs[key]
            else:
                live[ptr] = nbytes
        self.peak = max(self.peak, sum(live.values()))
        return out


# ----------------------------------------------------------------------------- parameters


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_parameter_counts_equal_the_meta_device_models(arch):
    from transformers import AutoModelForCausalLM, Qwen3Config

    with torch.device("meta"):
        lm = AutoModelForCausalLM.from_config(Qwen3Config(**ARCHITECTURES[arch]))
    shape = memory.Shape.of(arch)
    assert shape.params() == models.count_params(lm)
    assert shape.backbone_params() == models.count_params(lm.model)
    assert shape.layer_params() == models.count_params(lm.model.layers[0])


def test_lora_parameter_count_equals_peft():
    from peft import LoraConfig, get_peft_model

    every = dict(target_modules="all-linear")
    last = dict(target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
                layers_to_transform=[TINY.layers - 1])  # PRM stage 1 (peft takes no layers with "all-linear")
    for where, expected in ((every, TINY.lora_params(8)), (last, TINY.lora_params(8, layers=1))):
        peft_model = get_peft_model(qwen3(dtype="bfloat16"), LoraConfig(r=8, lora_alpha=16, task_type="CAUSAL_LM",
                                                                         **where))
        trainable = [p for p in peft_model.parameters() if p.requires_grad]
        assert sum(p.numel() for p in trainable) == expected
        assert {p.dtype for p in trainable} == {torch.float32}  # memory.LORA_BYTES: fp32 adapters on bf16


# ----------------------------------------------------------------------------- activations

SAVED_FACTOR = 1.05  # the model leaves out the rotary tables, position ids and the shared mask


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
@pytest.mark.parametrize("lora_r", [0, 8])
@pytest.mark.parametrize("padded", [False, True])
@pytest.mark.parametrize("checkpointing", [False, True])
def test_saved_activations_match_autograd(dtype, lora_r, padded, checkpointing):
    """Every tensor autograd saves in a backbone forward, summed by storage: within 5% of backbone_saved_bytes
    (under checkpointing the forward saves only what the checkpoints keep; the recompute is one layer's set,
    the same as a layer's without checkpointing)."""
    lm = qwen3(dtype=dtype, lora_r=lora_r, checkpointing=checkpointing).train()
    params = storages(lm.parameters())
    saved: dict[int, int] = {}

    def pack(t):
        if t.untyped_storage().data_ptr() not in params:
            saved[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    ids, attn = batch(padded)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        backbone(lm)(input_ids=ids, attention_mask=attn, use_cache=False)
    model = memory.backbone_saved_bytes(TINY, memory.DTYPE_BYTES[dtype], B * T, T, lora_r, padded, checkpointing)
    assert model <= sum(saved.values()) <= model * SAVED_FACTOR


PEAK_RANGE = (0.85, 1.15)


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
@pytest.mark.parametrize("lora_r", [0, 8])
@pytest.mark.parametrize("checkpointing", [False, True])
def test_update_peak_matches_live_tensors(dtype, lora_r, checkpointing):
    """The peak of live tensors over two accumulated micro-batches (the second runs with every gradient
    present, as grad_accum > 1 does) within 15% of gradients + activation_bytes."""
    lm = qwen3(dtype=dtype, lora_r=lora_r, checkpointing=checkpointing).train()
    ids, attn = batch(False)
    with LiveBytes(storages(lm.parameters())) as live:
        for _ in range(2):
            backbone(lm)(input_ids=ids, attention_mask=attn, use_cache=False).last_hidden_state.sum().backward()
    grads = sum(p.numel() * p.element_size() for p in lm.parameters() if p.requires_grad)
    model = grads + memory.activation_bytes(TINY, memory.DTYPE_BYTES[dtype], B * T, T, lora_r,
                                            checkpointing=checkpointing)
    assert PEAK_RANGE[0] <= live.peak / model <= PEAK_RANGE[1]


# ----------------------------------------------------------------------------- LM head, no-grad forwards, KV cache


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
@pytest.mark.parametrize("grad", [True, False])
@pytest.mark.parametrize("positions,chunk", [(512, 0), (1024, 256)])
def test_logits_match_live_tensors(dtype, grad, positions, chunk):
    """logprobs.target_logprobs at temperature 0.7, forward (and backward) over a 8,192-token vocabulary: the peak
    of live tensors within 10% of logits_bytes (+ the head's gradient)."""
    hidden, vocab = 64, 8192
    head = torch.nn.Linear(hidden, vocab, bias=False).to(DTYPES[dtype])
    h = torch.randn(positions, hidden, dtype=DTYPES[dtype], requires_grad=grad)
    target = torch.randint(0, vocab, (positions,))
    with LiveBytes(storages([head.weight, h])) as live, torch.set_grad_enabled(grad):
        lp = logprobs.target_logprobs(head, h, target, 0.7, chunk)
        if grad:
            lp.sum().backward()
    shape = memory.Shape(hidden, 1, 1, 1, 1, 1, vocab, True)
    a = memory.DTYPE_BYTES[dtype]
    model = memory.logits_bytes(shape, a, positions, chunk, grad) + (head.weight.numel() * a if grad else 0)
    assert 0.9 <= live.peak / model <= 1.1


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
@pytest.mark.parametrize("use_cache", [False, True])
@pytest.mark.parametrize("padded", [False, True])
def test_no_grad_forward_matches_live_tensors(dtype, use_cache, padded):
    """A forward without autograd (reference log-probs, PRM scoring; with the cache: the rollout's prefill):
    the peak of live tensors within 15% of no_grad_forward_bytes (+ the prompts' KV cache)."""
    lm = qwen3(dtype=dtype).eval()
    ids, attn = batch(padded)
    a = memory.DTYPE_BYTES[dtype]
    with LiveBytes(storages(lm.parameters())) as live, torch.no_grad():
        backbone(lm)(input_ids=ids, attention_mask=attn, use_cache=use_cache)
    model = memory.no_grad_forward_bytes(TINY, a, B * T, T, padded)
    model += memory.kv_cache_bytes(TINY, a, B, T) if use_cache else 0
    assert 0.85 <= live.peak / model <= 1.15


def test_kv_cache_equals_generates_cache():
    lm = qwen3(dtype="bfloat16").eval()
    ids, attn = batch(True)
    new = 8
    with torch.no_grad():
        out = lm.generate(input_ids=ids, attention_mask=attn, do_sample=False, max_new_tokens=new,
                          min_new_tokens=new, return_dict_in_generate=True, use_cache=True, pad_token_id=0)
    cache = out.past_key_values
    held = sum(t.numel() * t.element_size() for layer in cache.layers for t in (layer.keys, layer.values))
    assert held == memory.kv_cache_bytes(TINY, 2, B, T + new - 1)  # the last token's K, V are never computed


# ----------------------------------------------------------------------------- the headline and the script


def test_qwen3_8b_pad_fits_80gb_with_lora_and_not_in_full():
    lora = memory.estimate(memory.settings("grpo", "qwen3-8b", lora_r=16))
    full = memory.estimate(memory.settings("grpo", "qwen3-8b"))
    assert lora.peak <= 80e9 < full.peak
    shape = memory.Shape.of("qwen3-8b")
    terms = {t.name: t.bytes for t in full.terms}
    assert terms["reference policy"] == 2 * shape.params()  # a second bf16 copy of the policy
    per_param = terms["weights"] + terms["AdamW moments"] + terms["master weights"] + terms["gradients"]
    assert per_param == 16 * shape.params()  # ZeRO's mixed-precision Adam: 2 + 2 + 4 + 4 + 4 bytes
    assert {t.name: t.bytes for t in lora.terms}["reference policy"] == 0  # the adapter disabled


def test_checkpointing_and_chunking_shrink_the_update():
    base = dict(job="grpo", arch="qwen3-8b", lora_r=16)
    on = memory.estimate(memory.settings(**base))
    off = memory.estimate(memory.settings(**base, gradient_checkpointing=False, logits_chunk=0))
    by = lambda e: {t.name: t.bytes for t in e.terms}  # noqa: E731
    assert by(off)["activations"] > 5 * by(on)["activations"]
    assert by(off)["logits"] > 5 * by(on)["logits"]


def run_script(*args: str) -> dict:
    proc = subprocess.run([sys.executable, "-m", "agentark_trainer.memory", *args], cwd=TRAINER,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_script_prints_the_table_and_json_for_all():
    out = run_script("--all")
    ests = out["estimates"]
    assert len(ests) == len(memory.ALL_ARCHS) * len(memory.ALL_VARIANTS)
    pad = {e["settings"]["lora_r"]: e["fits"] for e in ests
           if e["settings"]["arch"] == "qwen3-8b" and e["settings"]["job"] == "grpo"}
    assert pad == {0: False, 16: True}


def test_script_one_job_reports_its_terms():
    out = run_script("--arch", "qwen3-1.7b", "--job", "sft", "--lora", "--lora-r", "32", "--no-gradient-checkpointing")
    (est,) = out["estimates"]
    assert est["settings"]["lora_r"] == 32 and not est["settings"]["gradient_checkpointing"]
    assert est["params"]["trainable"] == memory.Shape.of("qwen3-1.7b").lora_params(32)
    assert est["peak_bytes"] == max(est["phases"].values())
