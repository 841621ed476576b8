"""The grpo job: GRPO on the student with the PRM as reward (PAD, §3.3.3, Eq. 3-5).

One step, top to bottom:
  1. rollout  - G samples per prompt from the behaviour policy (the current weights), temperature T
  2. reward   - the PRM scores each step of a completion, its steps cut by the rule that cut the PRM's
                training data (steps.py, the port of core/steps.ts); the scores are aggregated (min by default),
                optionally mixed with the verifiable reward of the answer checker
  3. advantage- A = (R - mean(R_group)) / (std(R_group) + eps), std over the G samples of the group
                (population std), the same A for every token of a sample
  4. update   - updates_per_batch passes of: ratio = exp(logp - logp_old),
                per-token objective min(ratio A, clip(ratio, 1-eps, 1+eps) A) - beta * KL_k3,
                KL_k3 = exp(ref - logp) - (ref - logp) - 1 against the frozen initial policy;
                loss = -(sum over every completion token of the global batch) / (their number);
                ``ratio: sequence`` uses one ratio per sample, exp(sum of its token log-ratios) (Eq. 4 as written);
                ``truncated: mask`` (default) leaves samples cut by max_new_tokens out of the loss, ``penalize``
                gives them ``truncated_reward``

Generation is decoupled from the training micro-batch: the step's samples are generated in calls of
``generation_batch_size`` sequences, then cut into micro-batches. ``rollout_engine`` picks who samples: the
policy's generate, its continuous batching, or an external OpenAI-compatible server that gets the LoRA adapter
after each update (``openai``, rollout_client.py). With ``lora`` only adapters train and the
reference policy is the same model with its adapter disabled (no second copy of the weights); log-probs
run the LM head in chunks (logprobs.py).

A plain PyTorch loop rather than TRL's GRPOTrainer: the reward needs the PRM's step-level scores of each
completion in the same process, updates_per_batch > 1 needs the behaviour log-probs kept, and all jobs
share one checkpoint/resume/SIGTERM/event path (loop.py). The loss functions are small and tested alone.
"""

from __future__ import annotations

import copy
import logging
import time
from dataclasses import dataclass
from typing import Callable, Optional

import torch

from . import checker, data, logprobs, loop, models, parallel, rollout_client
from .config import GrpoConfig, to_dict
from .runtime import Runtime, seed_everything

log = logging.getLogger(__name__)

RewardFn = Callable[[list[dict], list[str]], list[float]]


# ----------------------------------------------------------------------------- the maths (tested alone)


def group_advantages(rewards: torch.Tensor, group_size: int, eps: float) -> torch.Tensor:
    """(R - mean) / (std + eps) within each consecutive group of ``group_size`` rewards."""
    r = rewards.view(-1, group_size)
    mean = r.mean(dim=1, keepdim=True)
    std = r.std(dim=1, unbiased=False, keepdim=True)
    return ((r - mean) / (std + eps)).view(-1)


def aggregate_steps(scores: list[float], how: str, softmin_temperature: float = 0.1) -> float:
    """One reward from a completion's step scores (each in [0, 1])."""
    s = torch.tensor(scores, dtype=torch.float64)
    if how == "min":
        return float(s.min())
    if how == "mean":
        return float(s.mean())
    if how == "last":
        return float(s[-1])
    if how == "softmin":  # a smooth min: weights softmax(-s / t)
        return float((torch.softmax(-s / softmin_temperature, 0) * s).sum())
    raise ValueError(how)


def k3_kl(logp: torch.Tensor, ref_logp: torch.Tensor) -> torch.Tensor:
    """Per-token k3 estimator of KL(pi || ref): exp(ref - logp) - (ref - logp) - 1 (>= 0)."""
    d = ref_logp - logp
    return torch.exp(d) - d - 1


def policy_loss(logp, old_logp, ref_logp, adv, mask, epsilon: float, beta: float, denom: float,
                ratio_level: str = "token"):
    """Clipped-ratio GRPO loss, normalised by ``denom`` (the number of completion tokens of the global batch).

    logp, old_logp, ref_logp, mask: [N, T]; adv: [N] (one per sample) or [N, T] (per token, ppo's GAE).
    ref_logp may be None when beta == 0. ``ratio_level``
    "sequence" uses one ratio per sample, pi(o|q) / pi_old(o|q) = exp(sum of its tokens' log-ratios), at
    each of its tokens. Returns (loss, stats) with stats sums over this micro-batch: kl, clipped tokens, tokens."""
    mask = mask.to(logp.dtype)
    if ratio_level == "sequence":
        ratio = torch.exp(((logp - old_logp) * mask).sum(-1, keepdim=True)).expand_as(logp)
    else:
        ratio = torch.exp(logp - old_logp)
    a = adv.unsqueeze(1) if adv.dim() == 1 else adv
    obj = torch.minimum(ratio * a, torch.clamp(ratio, 1 - epsilon, 1 + epsilon) * a)
    if beta > 0:
        kl = k3_kl(logp, ref_logp)
        per_token = -(obj - beta * kl)
    else:
        kl = torch.zeros_like(logp)
        per_token = -obj
    loss = (per_token * mask).sum() / denom
    clipped = ((ratio < 1 - epsilon) & (a < 0)) | ((ratio > 1 + epsilon) & (a > 0))
    stats = {"kl": float((kl.detach() * mask).sum()), "clipped": float((clipped.to(mask.dtype) * mask).sum()),
             "tokens": float(mask.sum())}
    return loss, stats


def token_logprobs(lm, ids: torch.Tensor, attn: torch.Tensor, n_prompt: int, temperature: float,
                   chunk: int = logprobs.DEFAULT_CHUNK) -> torch.Tensor:
    """log pi(token) of the completion part (positions n_prompt..) under temperature-scaled logits, [N, T].
    The LM head runs on ``chunk`` positions at a time (logprobs.py)."""
    inner = models.inner_model(lm)
    pos = (attn.cumsum(-1) - 1).clamp(min=0)
    h = models.backbone_of(inner)(input_ids=ids, attention_mask=attn, position_ids=pos,
                                  use_cache=False).last_hidden_state
    return logprobs.target_logprobs(inner.get_output_embeddings(), h[:, n_prompt - 1:-1], ids[:, n_prompt:],
                                    temperature, chunk)


class PolicyLogprobs(torch.nn.Module):
    """The policy's forward as one module so that DDP sees it."""

    def __init__(self, lm, chunk: int = logprobs.DEFAULT_CHUNK):
        super().__init__()
        self.lm = lm
        self.chunk = chunk

    def forward(self, ids, attn, n_prompt: int, temperature: float):
        return token_logprobs(self.lm, ids, attn, n_prompt, temperature, self.chunk)

    def generate(self, **kw):
        """The policy's generate, through this module (so a sharded policy gathers its root first)."""
        return self.lm.generate(**kw)

    def param_groups(self, cfg) -> list:
        """What the optimizer trains (loop.build_optimizer): every trainable parameter, at ``lr``."""
        return [p for p in self.parameters() if p.requires_grad]


# ----------------------------------------------------------------------------- the job


@dataclass
class GrpoState:
    cfg: GrpoConfig
    rt: Runtime
    tokenizer: object
    lm: torch.nn.Module
    module: torch.nn.Module  # what trains: PolicyLogprobs (ppo: the policy with its value head)
    policy: torch.nn.Module  # module, DDP-wrapped when distributed
    ref: Optional[torch.nn.Module]  # a frozen copy; None with LoRA (the adapter disabled) or beta 0
    prm: Optional[torch.nn.Module]
    prm_tokenizer: object
    prm_meta: dict
    records: list
    sampler: data.Sampler
    optimizer: torch.optim.Optimizer
    scheduler: object
    total_steps: int
    reward_fn: Optional[RewardFn]
    rollout: Optional[rollout_client.OpenAIRollout] = None  # the openai engine's server connection


def setup(cfg: GrpoConfig, rt: Runtime, reward_fn: Optional[RewardFn] = None,
          trainable: Optional[Callable[[torch.nn.Module], torch.nn.Module]] = None) -> GrpoState:
    """``reward_fn`` replaces the PRM + checker reward (for experiments and tests). ``trainable`` wraps the
    policy into the module that trains (default PolicyLogprobs; ppo adds its value head); the optimizer is
    built on that module's ``param_groups``."""
    seed_everything(cfg.seed)  # the same initial weights on every rank (random init of an arch included)
    records = data.load_grpo(cfg.data)
    # before the models load, so a server that is down or refuses the key fails the job in seconds
    engine = rollout_client.OpenAIRollout.connect(cfg, rt) if cfg.rollout_engine == "openai" else None
    lm, tok = models.load(parallel.master_spec(cfg))
    lm.to(rt.device)
    ref = None
    if cfg.lora is not None:
        lm = models.apply_lora(lm, cfg.lora)
    elif cfg.beta > 0:  # in model.dtype (under FSDP the policy's master copy is float32)
        ref = copy.deepcopy(lm).to(models.DTYPES[cfg.model.dtype]).eval()
        for p in ref.parameters():
            p.requires_grad_(False)
    prm = prm_tok = None
    prm_meta: dict = {}
    if cfg.prm and cfg.prm_weight != 0 and reward_fn is None:
        from . import prm as prm_mod

        prm, prm_tok = prm_mod.load_reward_model(cfg.prm, cfg.model.dtype, cfg.model.attn_implementation)
        prm_meta = prm_mod.read_meta(cfg.prm)
        prm.to(rt.device).eval()
        for p in prm.parameters():
            p.requires_grad_(False)
    sampler = data.Sampler(len(records), cfg.batch_size * cfg.grad_accum * rt.world_size, cfg.seed)
    total = cfg.max_steps or cfg.epochs * sampler.steps_per_epoch()
    module = (trainable or (lambda m: PolicyLogprobs(m, cfg.logprob_chunk)))(lm).to(rt.device)
    policy = parallel.wrap(rt, cfg, module)
    optimizer = loop.build_optimizer(cfg, module.param_groups(cfg))
    scheduler = loop.build_scheduler(cfg, optimizer, total * cfg.updates_per_batch)
    seed_everything(cfg.seed + rt.rank)  # ranks sample different completions
    return GrpoState(cfg, rt, tok, lm, module, policy, ref, prm, prm_tok, prm_meta, records, sampler, optimizer, scheduler,
                     total, reward_fn, engine)


@torch.no_grad()
def rollout(st: GrpoState, idx: list[int]) -> dict:
    """G sampled completions for each prompt of ``idx``: ids [N, P+T], attention, completion mask, texts.

    Generation runs in calls of ``generation_batch_size`` sequences (0 = all at once), whatever the training
    micro-batch: train_step generates the whole step's samples here, then cuts them into micro-batches."""
    cfg, tok, dev = st.cfg, st.tokenizer, st.rt.device
    prompts = [data.prompt_ids(tok, st.records[i]["prompt"])[-cfg.max_prompt_len:] for i in idx]
    rows = [p for p in prompts for _ in range(cfg.group_size)]
    ids, attn = data.pad_rows(rows, tok.pad_token_id, left=True)
    ids, attn = ids.to(dev), attn.to(dev)
    st.lm.eval()
    if cfg.rollout_engine == "continuous":
        comp = continuous_rollout(st, rows)
    elif cfg.rollout_engine == "openai":
        comp = openai_rollout(st, prompts)
    else:
        comp = generate_rollout(st, ids, attn)
    n_prompt = ids.shape[1]
    is_eos = comp == tok.eos_token_id
    # keep tokens up to and including the first EOS
    after_eos = (is_eos.cumsum(-1) - is_eos.long()) > 0
    comp_mask = (~after_eos).long()
    comp = comp.masked_fill(after_eos, tok.pad_token_id)
    full = torch.cat([ids, comp], dim=1)
    full_attn = torch.cat([attn, comp_mask], dim=1)
    texts = [tok.decode(c[m.bool() & (c != tok.eos_token_id)], skip_special_tokens=True)
             for c, m in zip(comp, comp_mask)]
    return {"idx": idx, "ids": full, "attn": full_attn, "mask": comp_mask, "n_prompt": n_prompt, "texts": texts,
            "stopped": is_eos.any(-1)}


def generate_rollout(st: GrpoState, ids: torch.Tensor, attn: torch.Tensor) -> torch.Tensor:
    """Completion ids [N, T] by ``generate`` on the left-padded prompts, ``generation_batch_size`` rows a call."""
    cfg, tok = st.cfg, st.tokenizer
    chunk = cfg.generation_batch_size or ids.shape[0]
    outs = []
    with parallel.generation(st.module):
        for b in range(0, ids.shape[0], chunk):
            outs.append(st.module.generate(
                input_ids=ids[b:b + chunk], attention_mask=attn[b:b + chunk], do_sample=True,
                temperature=cfg.temperature, top_p=cfg.top_p, top_k=0, max_new_tokens=cfg.max_new_tokens,
                pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id, use_cache=True)[:, ids.shape[1]:])
    width = max(o.shape[1] for o in outs)
    return torch.cat([torch.nn.functional.pad(o, (0, width - o.shape[1]), value=tok.pad_token_id) for o in outs])


def continuous_rollout(st: GrpoState, rows: list[list[int]]) -> torch.Tensor:
    """Completion ids [N, T] by transformers' continuous batching (``generate_batch``: a paged KV cache, a
    finished sequence's slot refilled at once); the same tokens as ``generate`` for the same logits
    processing (tested greedy), sampled with its own RNG order."""
    from transformers import GenerationConfig

    cfg, tok = st.cfg, st.tokenizer
    gen = GenerationConfig(do_sample=True, temperature=cfg.temperature, top_p=cfg.top_p, top_k=0,
                           max_new_tokens=cfg.max_new_tokens, eos_token_id=tok.eos_token_id,
                           pad_token_id=tok.pad_token_id)
    out = st.lm.generate_batch(rows, generation_config=gen, warmup=st.rt.device.type == "cuda")
    return right_padded([out[f"req_{i}"].generated_tokens for i in range(len(rows))], tok.pad_token_id,
                        st.rt.device)


def openai_rollout(st: GrpoState, prompts: list[list[int]]) -> torch.Tensor:
    """Completion ids [N, T] from the external server (rollout_client.py): G samples of each prompt, one request
    per ``generation_batch_size // G`` prompts (0 = one request: the server batches better than we can), the
    request's seed drawn from this rank's RNG (checkpointed: a resumed job sends the same seeds)."""
    cfg, tok = st.cfg, st.tokenizer
    per = max(1, cfg.generation_batch_size // cfg.group_size) if cfg.generation_batch_size else len(prompts)
    comps: list[list[int]] = []
    for b in range(0, len(prompts), per):
        seed = int(torch.randint(0, 2 ** 31 - 1, (1,)))
        comps += st.rollout.complete(prompts[b:b + per], cfg.group_size, cfg.max_new_tokens, cfg.temperature,
                                     cfg.top_p, seed, tok.eos_token_id)
    return right_padded(comps, tok.pad_token_id, st.rt.device)


def sync_rollout(st: GrpoState, version: int) -> float:
    """Seconds spent making the openai engine's server serve the policy after ``version`` optimizer steps (0 and
    nothing to do for the other engines, which sample from the policy itself)."""
    if st.rollout is None:
        return 0.0
    t0 = time.perf_counter()
    st.rollout.sync(st.lm, version, st.rt)
    return time.perf_counter() - t0


def right_padded(comps: list[list[int]], pad_id: int, device) -> torch.Tensor:
    """Completions of any lengths as [N, T] ids right-padded with ``pad_id``, what generate_rollout returns."""
    comp = torch.full((len(comps), max(1, max(len(c) for c in comps))), pad_id, dtype=torch.long)
    for i, c in enumerate(comps):
        comp[i, :len(c)] = torch.tensor(c, dtype=torch.long)
    return comp.to(device)


def split_samples(batch: dict, micro: list[list[int]], group_size: int) -> list[dict]:
    """The step's samples cut into the training micro-batches (prompt order kept), each trimmed of the
    completion columns none of its samples reaches."""
    out, row = [], 0
    for idx in micro:
        n = len(idx) * group_size
        sl = slice(row, row + n)
        width = int(batch["n_prompt"] + batch["mask"][sl].sum(-1).max())
        part = {"idx": idx, "n_prompt": batch["n_prompt"], "texts": batch["texts"][sl]}
        for k in ("ids", "attn"):
            part[k] = batch[k][sl, :width]
        part["mask"] = batch["mask"][sl, :width - batch["n_prompt"]]
        for k in ("stopped", "rewards", "adv", "correct", "prm_reward", "loss_mask"):
            if k in batch:
                part[k] = batch[k][sl]
        if "zero_var" in batch:
            part["zero_var"] = batch["zero_var"][row // group_size:(row + n) // group_size]
        out.append(part)
        row += n
    return out


@torch.no_grad()
def score(st: GrpoState, batch: dict) -> dict:
    """Rewards of every sample: PRM aggregate and/or the checker's verdict; accuracy against gold."""
    cfg = st.cfg
    recs = [st.records[i] for i in batch["idx"] for _ in range(cfg.group_size)]
    correct = []
    for r, text in zip(recs, batch["texts"]):
        # In the training loop's main thread, so the checker's deadline holds; an undecided check earns nothing.
        correct.append(1.0 if checker.check(r["task"], text, r["gold"], r.get("options"))["correct"] else 0.0)
    prm_r = [0.0] * len(recs)
    if st.reward_fn is not None:
        rewards = [float(x) for x in st.reward_fn(recs, batch["texts"])]
    else:
        if st.prm is not None:
            from .prm import score_completions

            scores = score_completions(st.prm, st.prm_tokenizer, [r["prompt"] for r in recs], batch["texts"],
                                       st.prm_meta, st.rt.device)
            # a completion with no step has nothing the PRM could approve of: the lowest score
            prm_r = [aggregate_steps(s, cfg.aggregate, cfg.softmin_temperature) if s else 0.0 for s in scores]
        rewards = [cfg.prm_weight * p + cfg.verifiable_weight * c for p, c in zip(prm_r, correct)]
    stopped = batch["stopped"].cpu()
    if cfg.truncated == "penalize":
        rewards = [r if s else cfg.truncated_reward for r, s in zip(rewards, stopped.tolist())]
    r = torch.tensor(rewards, dtype=torch.float32)
    adv = group_advantages(r, cfg.group_size, cfg.adv_eps)
    zero_var = (r.view(-1, cfg.group_size).std(dim=1, unbiased=False) == 0).float()
    # "mask": a sample cut by max_new_tokens has no end to judge, so none of its tokens enters the loss
    keep = stopped.float() if cfg.truncated == "mask" else torch.ones(len(rewards))
    batch.update(rewards=r, adv=adv.to(st.rt.device), correct=torch.tensor(correct), prm_reward=torch.tensor(prm_r),
                 zero_var=zero_var, loss_mask=batch["mask"] * keep.to(batch["mask"].device).long().unsqueeze(1))
    return batch


@torch.no_grad()
def behaviour_logprobs(st: GrpoState, batch: dict) -> dict:
    """log-probs under the behaviour policy (needed when updates_per_batch > 1) and the reference."""
    cfg = st.cfg
    args = (batch["ids"], batch["attn"], batch["n_prompt"], cfg.temperature)
    st.lm.eval()
    batch["old_logp"] = st.policy(*args) if cfg.updates_per_batch > 1 else None
    batch["ref_logp"] = reference_logprobs(st, batch)
    return batch


@torch.no_grad()
def reference_logprobs(st: GrpoState, batch: dict) -> Optional[torch.Tensor]:
    """log-probs under the frozen initial policy: its copy, or with LoRA the base model (adapter switched off)."""
    cfg = st.cfg
    if cfg.beta == 0:
        return None
    args = (batch["ids"], batch["attn"], batch["n_prompt"], cfg.temperature, cfg.logprob_chunk)
    if st.ref is not None:
        return token_logprobs(st.ref, *args)
    with st.lm.disable_adapter():
        return token_logprobs(st.lm, *args)


def grpo_loss(st: GrpoState, b: dict, denom: float):
    """GRPO's loss of micro-batch ``b`` (one advantage per sample) and its statistics: kl, clipped, tokens."""
    cfg = st.cfg
    logp = st.policy(b["ids"], b["attn"], b["n_prompt"], cfg.temperature)
    old = b["old_logp"] if b["old_logp"] is not None else logp.detach()
    return policy_loss(logp, old, b["ref_logp"], b["adv"], b["loss_mask"], cfg.epsilon, cfg.beta, denom, cfg.ratio)


def grpo_metrics(st: GrpoState, batches: list[dict], totals: dict) -> dict:  # noqa: ARG001
    """What grpo logs beyond step_metrics: the share of groups whose rewards are all equal (no gradient)."""
    return {"zero_std_group_fraction": mean_of(st.rt, batches, "zero_var")}


@dataclass(frozen=True)
class Algorithm:
    """What a policy-gradient job plugs into the step grpo and ppo share (rollout, score, behaviour, updates,
    metrics: train_step and update below), so ppo only adds its value head, GAE, whitening and value loss."""

    behaviour: Callable[[GrpoState, dict], dict]  # a micro-batch's "old" numbers, once before the updates
    prepare: Callable[[GrpoState, list[dict]], None]  # over the step's micro-batches, before the updates
    loss: Callable[[GrpoState, dict, float], tuple]  # (a micro-batch's loss / denom, its stats to sum in totals)
    metrics: Callable[[GrpoState, list[dict], dict], dict]  # what the step logs beyond step_metrics'


GRPO = Algorithm(behaviour_logprobs, lambda st, batches: None, grpo_loss, grpo_metrics)


def update(st: GrpoState, batches: list[dict], loss_fn: Callable = grpo_loss) -> dict:
    """updates_per_batch optimizer steps over the rank's micro-batches; returns summed statistics (the loss
    averaged over the updates, ``grad_norm`` of the last, the sums of what ``loss_fn`` reports)."""
    cfg, rt = st.cfg, st.rt
    denom = max(1.0, rt.all_sum(sum(float(b["loss_mask"].sum()) for b in batches)))
    totals = {"loss": 0.0, "grad_norm": 0.0}
    params = [p for p in st.module.parameters() if p.requires_grad]
    for _ in range(cfg.updates_per_batch):
        st.module.train()
        for i, b in enumerate(batches):
            sync = i == len(batches) - 1
            with parallel.accumulation_context(rt, st.policy, sync):
                loss, stats = loss_fn(st, b, denom)
                loop.backward(rt, loss)
            totals["loss"] += float(loss.detach()) / cfg.updates_per_batch
            for k, v in stats.items():
                totals[k] = totals.get(k, 0.0) + v
        totals["grad_norm"] = loop.optimizer_step(cfg, params, st.optimizer, st.scheduler)
    return totals


def train_step(st: GrpoState, step: int, algo: Algorithm = GRPO) -> loop.StepResult:
    cfg, rt = st.cfg, st.rt
    micro = st.sampler.rank_micro_batches(step, rt.rank, rt.world_size, cfg.batch_size, cfg.grad_accum)
    t0 = time.perf_counter()
    sync_rollout(st, step)  # a no-op but in a resumed job's first step: the server gets the checkpoint's weights
    samples = rollout(st, [i for m in micro for i in m])
    t1 = time.perf_counter()
    batches = split_samples(score(st, samples), micro, cfg.group_size)
    t2 = time.perf_counter()
    batches = [algo.behaviour(st, b) for b in batches]
    algo.prepare(st, batches)
    totals = update(st, batches, algo.loss)
    t3 = time.perf_counter()
    metrics = step_metrics(st, batches, totals, (t0, t1, t2, t3), sync_rollout(st, step + 1))
    metrics.update(algo.metrics(st, batches, totals))
    tokens = sum(int(b["attn"].sum()) for b in batches)
    return loop.StepResult(totals["loss"], tokens, metrics)


def mean_of(rt: Runtime, batches: list[dict], key: str) -> float:
    return rt.all_sum(sum(float(b[key].sum()) for b in batches)) / max(1.0, rt.all_sum(
        sum(b[key].numel() for b in batches)))


def step_metrics(st: GrpoState, batches: list[dict], totals: dict, times: tuple, sync_s: float = 0.0) -> dict:
    """The metrics every policy-gradient step logs (grpo and ppo): rewards, accuracy, KL, clipping, lengths;
    with the openai engine ``sync_s``, the time its server took to get the updated adapter."""
    rt = st.rt
    t0, t1, t2, t3 = times
    n_tokens = rt.all_sum(totals["tokens"])  # tokens in the loss (truncated samples left out under "mask")
    n_samples = rt.all_sum(sum(b["mask"].shape[0] for b in batches))
    extra = {"sync_s": sync_s} if st.rollout is not None else {}
    return {
        "reward": mean_of(rt, batches, "rewards"),
        "prm_reward": mean_of(rt, batches, "prm_reward"),
        "accuracy": mean_of(rt, batches, "correct"),
        "kl": rt.all_sum(totals["kl"]) / max(1.0, n_tokens),
        "clip_fraction": rt.all_sum(totals["clipped"]) / max(1.0, n_tokens),
        "completion_length": rt.all_sum(sum(float(b["mask"].sum()) for b in batches)) / max(1.0, n_samples),
        "stopped_fraction": mean_of(rt, batches, "stopped"),
        "grad_norm": totals["grad_norm"],
        "rollout_s": t1 - t0, "score_s": t2 - t1, "update_s": t3 - t2, **extra,
    }


def write_final(st: GrpoState, folder: str) -> None:
    import json

    models.save_student(st.lm, st.tokenizer, folder, st.cfg.lora is not None, st.cfg.merge_lora)
    with open(folder + "/agentark_job.json", "w") as f:
        json.dump({"job": "grpo", "config": to_dict(st.cfg), "steps": st.total_steps}, f, indent=1)


def main(cfg: GrpoConfig, rt: Runtime, resume: str | None, reward_fn: Optional[RewardFn] = None) -> dict:
    st = setup(cfg, rt, reward_fn)
    final = loop.run("grpo", cfg, rt, st.lm, st.optimizer, st.scheduler, st.total_steps,
                     lambda s: train_step(st, s), lambda d: write_final(st, d), resume,
                     extra_start=start_fields(st), root=st.policy)
    return {"output": final, "steps": st.total_steps}


def start_fields(st: GrpoState) -> dict:
    """What the start event says of a policy-gradient job (grpo and ppo)."""
    reward = "custom" if st.reward_fn else ("prm" if st.prm is not None else "verifiable")
    return {"prompts": len(st.records), "group_size": st.cfg.group_size, "reward": reward,
            "checker": f"{checker.CHECKER} {checker.version()}"}
