"""Job configuration: dataclasses loaded from JSON, strictly.

Unknown keys, missing required fields and values of the wrong type raise ConfigError naming the
field by its dotted path (e.g. ``model.dtype``); the CLI turns that into exit code 2.
"""

from __future__ import annotations

import dataclasses
import json
import re
import typing
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Optional, Union


class ConfigError(Exception):
    """A bad configuration value. ``field`` is the dotted path of the offending key."""

    def __init__(self, field: str, message: str):
        super().__init__(f"config field '{field}': {message}")
        self.field = field
        self.message = message


# ----------------------------------------------------------------------------- shared pieces


@dataclass
class ModelSpec:
    """Where the weights come from: exactly one of path, gguf, arch. Nothing is fetched from a hub."""

    path: Optional[str] = None  # local folder in Hugging Face format
    gguf: Optional[str] = None  # a .gguf file (dequantised to dtype on load)
    arch: Optional[str] = None  # named architecture with random weights: see models.ARCHITECTURES
    tokenizer: Optional[str] = None  # folder or .gguf; default: the model's own, or a byte-level BPE for arch
    dtype: Literal["float32", "bfloat16", "float16"] = "float32"
    attn_implementation: Literal["sdpa", "eager", "flash_attention_2", "flex_attention"] = "sdpa"
    overrides: dict = field(default_factory=dict)  # config overrides for arch (e.g. num_hidden_layers)
    gradient_checkpointing: bool = False

    def validate(self, prefix: str) -> None:
        given = [k for k in ("path", "gguf", "arch") if getattr(self, k)]
        if len(given) != 1:
            raise ConfigError(prefix, f"exactly one of path, gguf, arch must be set (got {given or 'none'})")
        if self.overrides and not self.arch:
            raise ConfigError(f"{prefix}.overrides", "only allowed with arch")


@dataclass
class LoraSpec:
    r: int = 16
    alpha: int = 32
    dropout: float = 0.0
    target_modules: Union[str, list] = "all-linear"

    def validate(self, prefix: str) -> None:
        if self.r <= 0:
            raise ConfigError(f"{prefix}.r", "must be > 0")


@dataclass
class TrainConfig:
    """Fields every training job shares."""

    model: ModelSpec
    data: str
    output_dir: str
    seed: int = 0
    max_steps: int = 0  # optimizer steps; 0 = epochs × steps per epoch
    epochs: int = 1
    batch_size: int = 8  # examples per device per micro-batch
    grad_accum: int = 1
    lr: float = 1e-5
    weight_decay: float = 0.0
    betas: list = field(default_factory=lambda: [0.9, 0.999])
    warmup_steps: int = 0
    scheduler: Literal["cosine", "linear", "constant"] = "cosine"
    max_grad_norm: float = 1.0  # 0 disables clipping
    log_every: int = 1
    checkpoint_every: int = 50  # optimizer steps; 0 = only on SIGTERM (a crash then loses the whole job)
    keep_checkpoints: int = 2
    # across ranks (torchrun): ddp replicates the model on every rank; fsdp shards parameters, gradients and
    # optimizer states (FSDP2), float32 master weights with compute in model.dtype (parallel.py)
    parallel: Literal["ddp", "fsdp"] = "ddp"

    def validate(self, prefix: str = "") -> None:
        p = (prefix + ".") if prefix else ""
        self.model.validate(p + "model")
        for name in ("epochs", "batch_size", "grad_accum", "log_every", "keep_checkpoints"):
            if getattr(self, name) < 1:
                raise ConfigError(p + name, "must be >= 1")
        for name in ("max_steps", "warmup_steps", "checkpoint_every"):
            if getattr(self, name) < 0:
                raise ConfigError(p + name, "must be >= 0")
        if self.lr <= 0:
            raise ConfigError(p + "lr", "must be > 0")
        if len(self.betas) != 2:
            raise ConfigError(p + "betas", "must be two numbers")


# ----------------------------------------------------------------------------- jobs


@dataclass
class SftConfig(TrainConfig):
    """RSFT and DA: prompt -> completion, loss on completion tokens only."""

    max_seq_len: int = 2048
    packing: bool = True  # padding-free packing of each micro-batch; used only where it is exact
    lora: Optional[LoraSpec] = None  # None = full fine-tuning
    merge_lora: bool = True  # final/ holds merged weights (loadable as a plain model)
    # DA's Eq. 2 averages over a problem's k traces (per-problem: each trace weighs 1/k, traces grouped by id);
    # per-trace weighs every trace alike (a problem with 3 traces then counts 1.5x one with 2)
    da_weighting: Literal["per-problem", "per-trace"] = "per-problem"
    logprob_chunk: int = 1024  # positions whose logits exist at once (logprobs.py); 0 = all

    def validate(self, prefix: str = "") -> None:
        super().validate(prefix)
        if self.max_seq_len < 2:
            raise ConfigError("max_seq_len", "must be >= 2")
        if self.lora is not None:
            self.lora.validate("lora")
        if self.logprob_chunk < 0:
            raise ConfigError("logprob_chunk", "must be >= 0")


@dataclass
class PrmConfig(TrainConfig):
    """Process reward model: backbone + scalar head, a step scored at its last token (App. B)."""

    stage: Literal[1, 2] = 1
    init_from: Optional[str] = None  # stage 2: the stage-1 output folder (final/ or a checkpoint)
    loss: Literal["contrastive", "bce"] = "contrastive"
    tau: float = 0.1  # temperature of the contrastive softmax
    step_separator: str = "\n"
    max_seq_len: int = 2048
    lr: float = 1e-5
    # LoRA on the backbone (stage 1: on the last block only), the head trained in full; final/ is merged
    lora: Optional[LoraSpec] = None

    def validate(self, prefix: str = "") -> None:
        super().validate(prefix)
        if self.lora is not None:
            self.lora.validate("lora")
        if self.tau <= 0:
            raise ConfigError("tau", "must be > 0")
        if self.stage == 2 and not self.init_from:
            raise ConfigError("init_from", "stage 2 starts from a stage-1 output: set init_from")
        if self.stage == 1 and self.init_from:
            raise ConfigError("init_from", "only used in stage 2")


@dataclass
class GrpoConfig(TrainConfig):
    """GRPO on the student with the PRM as reward (§3.3.3, Eq. 3-5)."""

    MIN_GROUP: ClassVar[int] = 2

    prm: Optional[str] = None  # PRM output folder; None = verifiable reward only
    group_size: int = 8  # G samples per prompt
    batch_size: int = 4  # prompts per device per micro-batch (each gives G samples)
    max_new_tokens: int = 256
    max_prompt_len: int = 1024
    temperature: float = 1.0
    top_p: float = 1.0
    epsilon: float = 0.2  # clip range of the ratio
    beta: float = 0.04  # KL coefficient (k3 estimator against the frozen reference)
    updates_per_batch: int = 1  # optimisation passes over each batch of samples (mu)
    aggregate: Literal["min", "mean", "last", "softmin"] = "min"
    softmin_temperature: float = 0.1
    prm_weight: float = 1.0
    verifiable_weight: float = 0.0
    adv_eps: float = 1e-4
    generation_batch_size: int = 0  # sequences per generate() call; 0 = all of the step's samples at once
    # rollouts by transformers' generate (static batches), its continuous batching (generate_batch), or an
    # external OpenAI-compatible server (vLLM, or `python -m agentark_trainer serve`) sent the LoRA adapter
    # after each update (rollout_client.py)
    rollout_engine: Literal["generate", "continuous", "openai"] = "generate"
    rollout_url: Optional[str] = None  # openai: the server's base URL, e.g. http://127.0.0.1:8000/v1
    rollout_api_key_env: Optional[str] = None  # openai: the NAME of the env var holding the key, never the key
    rollout_timeout_s: float = 600.0  # openai: per HTTP request (a whole step's completions in one request)
    rollout_model: Optional[str] = None  # openai: the served base model's name; None = the one /models lists
    # Eq. 4: the ratio per token (as in GRPO's reference implementation), or per sequence as written
    # (exp of the sum of the sequence's token log-ratios, the same for each of its tokens)
    ratio: Literal["token", "sequence"] = "token"
    # a completion cut by max_new_tokens: "mask" leaves its tokens out of the loss (its reward still counts in
    # its group's mean and std), "penalize" gives it reward truncated_reward, "keep" treats it as any other
    truncated: Literal["mask", "penalize", "keep"] = "mask"
    truncated_reward: float = 0.0
    lora: Optional[LoraSpec] = None  # None = full fine-tuning; with LoRA the reference is the adapter disabled
    merge_lora: bool = True
    logprob_chunk: int = 1024  # positions whose logits exist at once (logprobs.py); 0 = all

    def validate(self, prefix: str = "") -> None:
        super().validate(prefix)
        if self.lora is not None:
            self.lora.validate("lora")
        if self.logprob_chunk < 0:
            raise ConfigError("logprob_chunk", "must be >= 0")
        if self.rollout_engine == "continuous" and self.parallel == "fsdp":
            raise ConfigError("rollout_engine", "continuous batching runs on a whole model: use generate with fsdp")
        self.validate_rollout_server()
        if self.group_size < self.MIN_GROUP:
            raise ConfigError("group_size", f"must be >= {self.MIN_GROUP}" +
                              (" (advantages are relative within a group)" if self.MIN_GROUP > 1 else ""))
        if self.max_new_tokens < 1:
            raise ConfigError("max_new_tokens", "must be >= 1")
        if self.temperature <= 0:
            raise ConfigError("temperature", "must be > 0 (GRPO samples)")
        if not 0 < self.top_p <= 1:
            raise ConfigError("top_p", "must be in (0, 1]")
        if self.epsilon <= 0:
            raise ConfigError("epsilon", "must be > 0")
        if self.beta < 0:
            raise ConfigError("beta", "must be >= 0")
        if self.updates_per_batch < 1:
            raise ConfigError("updates_per_batch", "must be >= 1")
        if self.prm is None and self.prm_weight != 0:
            raise ConfigError("prm", "prm_weight is non-zero but no PRM is given (set prm or prm_weight: 0)")
        if self.prm_weight == 0 and self.verifiable_weight == 0:
            raise ConfigError("verifiable_weight", "prm_weight and verifiable_weight are both 0: no reward")

    def validate_rollout_server(self) -> None:
        """The openai engine's settings. Only LoRA adapters travel to the server after an update (megabytes;
        the full weights would be the whole model every step), and every rank's policy must be whole to save
        its adapter, hence no fsdp (which the trainer allows only for full fine-tuning anyway)."""
        fields = ("rollout_url", "rollout_api_key_env", "rollout_model")
        if self.rollout_engine != "openai":
            for name in fields:
                if getattr(self, name) is not None:
                    raise ConfigError(name, "only used with rollout_engine openai")
            return
        if self.parallel == "fsdp":
            raise ConfigError("rollout_engine", "the openai engine sends the policy's LoRA adapter to the server; "
                                                "fsdp shards full fine-tuning: use ddp with lora")
        if self.lora is None:
            raise ConfigError("rollout_engine", "the openai engine syncs the policy as a LoRA adapter after each "
                                                "update; full fine-tuning would ship the whole model every step: "
                                                "set lora, or use rollout_engine generate or continuous")
        if not self.rollout_url:
            raise ConfigError("rollout_url", "rollout_engine openai needs the server's base URL "
                                             "(e.g. http://127.0.0.1:8000/v1)")
        if not self.rollout_url.startswith(("http://", "https://")):
            raise ConfigError("rollout_url", f"must start with http:// or https://, got {self.rollout_url!r}")
        key_env = self.rollout_api_key_env
        if key_env is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key_env):
            raise ConfigError("rollout_api_key_env", "must be the name of an environment variable holding the key "
                                                     "(e.g. ROLLOUT_API_KEY), not the key itself")
        if self.rollout_timeout_s <= 0:
            raise ConfigError("rollout_timeout_s", "must be > 0")


@dataclass
class PpoConfig(GrpoConfig):
    """PPO on the student with the same PRM reward and KL as grpo (the paper's ablation, App. B.2, C.2): a value
    head on the policy, advantages by GAE instead of group statistics."""

    MIN_GROUP: ClassVar[int] = 1

    group_size: int = 1  # samples per prompt (PPO needs no group; more than 1 is allowed)
    gamma: float = 1.0  # discount of GAE
    lam: float = 0.95  # lambda of GAE
    vf_coef: float = 0.1  # weight of the value loss
    value_clip: float = 0.2  # clip range of the value update around the behaviour values
    whiten_advantages: bool = True  # advantages normalised to mean 0, std 1 over the step's tokens
    value_lr: float = 0.0  # learning rate of the value head; 0 = lr

    def validate(self, prefix: str = "") -> None:
        super().validate(prefix)
        if not 0 <= self.gamma <= 1:
            raise ConfigError("gamma", "must be in [0, 1]")
        if not 0 <= self.lam <= 1:
            raise ConfigError("lam", "must be in [0, 1]")
        if self.vf_coef < 0:
            raise ConfigError("vf_coef", "must be >= 0")
        if self.value_clip <= 0:
            raise ConfigError("value_clip", "must be > 0")
        if self.value_lr < 0:
            raise ConfigError("value_lr", "must be >= 0")


@dataclass
class GenerateConfig:
    """Batched generation for evaluation sets: {id, prompt} in, {id, sample, completion, finishReason} out."""

    model: ModelSpec
    input: str
    output: str
    num_samples: int = 1
    temperature: float = 0.0  # 0 = greedy
    top_p: float = 1.0
    max_new_tokens: int = 512
    max_prompt_len: int = 2048
    batch_size: int = 8  # prompts per generate() call
    seed: int = 0

    def validate(self, prefix: str = "") -> None:
        self.model.validate("model")
        if self.num_samples < 1:
            raise ConfigError("num_samples", "must be >= 1")
        if self.temperature < 0:
            raise ConfigError("temperature", "must be >= 0")
        if self.temperature == 0 and self.num_samples > 1:
            raise ConfigError("num_samples", "greedy decoding (temperature 0) gives one sample per prompt")
        if self.batch_size < 1:
            raise ConfigError("batch_size", "must be >= 1")
        if self.max_new_tokens < 1:
            raise ConfigError("max_new_tokens", "must be >= 1")


@dataclass
class BenchConfig:
    """Throughput, MFU and peak memory of each job on one model and sequence length."""

    model: ModelSpec
    seq_len: int = 2048
    batch_size: int = 1
    steps: int = 5  # measured steps per job
    warmup: int = 2  # steps not measured
    jobs: list = field(default_factory=lambda: ["sft", "prm1", "prm2", "grpo"])
    compare_trl: bool = False  # also run TRL's SFTTrainer with its default configuration on the same data
    peak_flops: float = 0.0  # per device; 0 = from the device name (known GPUs), else MFU is null
    group_size: int = 4  # grpo: samples per prompt
    prompt_len: int = 0  # grpo: prompt tokens; 0 = seq_len // 2
    max_new_tokens: int = 0  # grpo: 0 = seq_len - prompt_len
    lr: float = 1e-5
    seed: int = 0

    def validate(self, prefix: str = "") -> None:
        self.model.validate("model")
        known = {"sft", "prm1", "prm2", "grpo"}
        for j in self.jobs:
            if j not in known:
                raise ConfigError("jobs", f"unknown job {j!r} (known: {sorted(known)})")
        for name in ("seq_len", "batch_size", "steps", "group_size"):
            if getattr(self, name) < 1:
                raise ConfigError(name, "must be >= 1")
        if self.warmup < 0:
            raise ConfigError("warmup", "must be >= 0")


@dataclass
class ExportConfig:
    """A model written as a Hugging Face folder (weights in model.dtype, tokenizer): e.g. a .gguf
    dequantised once, so that every job after it loads plain safetensors in seconds."""

    model: ModelSpec
    output: str

    def validate(self, prefix: str = "") -> None:
        self.model.validate("model")


JOB_CONFIGS = {
    "sft": SftConfig,
    "prm": PrmConfig,
    "grpo": GrpoConfig,
    "ppo": PpoConfig,
    "generate": GenerateConfig,
    "bench": BenchConfig,
    "export": ExportConfig,
}


# ----------------------------------------------------------------------------- loading


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _convert(value: Any, tp: Any, path: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if origin is Union:
        if value is None and type(None) in args:
            return None
        errors = []
        for a in args:
            if a is type(None):
                continue
            try:
                return _convert(value, a, path)
            except ConfigError as e:
                errors.append(e.message)
        raise ConfigError(path, "; ".join(errors))
    if origin is Literal:
        if value in args and type(value) in {type(a) for a in args}:
            return value
        raise ConfigError(path, f"must be one of {list(args)}, got {value!r}")
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(path, f"must be an object, got {type(value).__name__}")
        return _from_dict(tp, value, path)
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif tp is str:
        if isinstance(value, str):
            return value
    elif tp is dict or origin is dict:
        if isinstance(value, dict):
            return value
    elif tp is list or origin is list:
        if isinstance(value, list):
            return value
    else:
        raise ConfigError(path, f"unsupported type {tp}")
    raise ConfigError(path, f"must be {_type_name(tp)}, got {type(value).__name__} {value!r}")


def _from_dict(cls: type, data: dict, prefix: str = "") -> Any:
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    p = (prefix + ".") if prefix else ""
    for key in data:
        if key not in fields:
            raise ConfigError(p + key, f"unknown key (known: {', '.join(sorted(fields))})")
    kwargs = {}
    for name, f in fields.items():
        if name in data:
            kwargs[name] = _convert(data[name], hints[name], p + name)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:  # type: ignore[misc]
            raise ConfigError(p + name, "is required")
    return cls(**kwargs)


def load_config(cls: type, source: Union[str, dict]) -> Any:
    """Build and validate a job config from a JSON file path or an already parsed dict."""
    if isinstance(source, dict):
        data = source
    else:
        try:
            with open(source, encoding="utf-8") as f:
                data = json.load(f)
        except FileNotFoundError:
            raise ConfigError("--config", f"file not found: {source}") from None
        except json.JSONDecodeError as e:
            raise ConfigError("--config", f"not valid JSON: {e}") from None
    if not isinstance(data, dict):
        raise ConfigError("--config", "the top level must be a JSON object")
    cfg = _from_dict(cls, data)
    cfg.validate()
    return cfg


def to_dict(cfg: Any) -> dict:
    return dataclasses.asdict(cfg)
