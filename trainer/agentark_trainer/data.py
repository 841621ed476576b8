"""Reading the dataset files of DATA.md (rsft/da/prm/grpo/generate input) and turning them into tensors.

Records are validated on read: a missing or mistyped field fails with the file, the line and the field.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Iterator

import torch

TASKS = ("numeric", "math", "choice", "text")


class DataError(Exception):
    pass


def _require(rec: dict, where: str, name: str, typ: type | tuple, optional: bool = False) -> Any:
    if name not in rec or rec[name] is None:
        if optional:
            return None
        raise DataError(f"{where}: field '{name}' missing")
    v = rec[name]
    if not isinstance(v, typ) or isinstance(v, bool) and typ is not bool:
        raise DataError(f"{where}: field '{name}' has the wrong type ({type(v).__name__})")
    return v


def read_jsonl(path: str) -> Iterator[tuple[str, dict]]:
    try:
        f = open(path, encoding="utf-8")
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    with f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            where = f"{path} line {n}"
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                raise DataError(f"{where}: not valid JSON ({e})") from None
            if not isinstance(rec, dict):
                raise DataError(f"{where}: not a JSON object")
            yield where, rec


def _base(where: str, rec: dict) -> dict:
    out = {k: _require(rec, where, k, str) for k in ("id", "task", "prompt")}
    if out["task"] not in TASKS:
        raise DataError(f"{where}: field 'task' must be one of {TASKS}, got {out['task']!r}")
    return out


def _non_empty(path: str, records: list[dict]) -> list[dict]:
    """A training file with no record is a mistake upstream, not an empty run."""
    if not records:
        raise DataError(f"{path}: no records")
    return records


def iter_sft(path: str) -> Iterator[dict]:
    """rsft.jsonl and da.jsonl, one validated record at a time: {id, task, prompt, completion, answer, ...}."""
    for where, rec in read_jsonl(path):
        r = _base(where, rec)
        r["completion"] = _require(rec, where, "completion", str)
        yield r


def load_sft(path: str) -> list[dict]:
    return _non_empty(path, list(iter_sft(path)))


def load_prm(path: str) -> list[dict]:
    """prm.jsonl: {id, task, prompt, traces: [{agent, correct, steps, labels}], groups: [...]}."""
    out = []
    for where, rec in read_jsonl(path):
        r = _base(where, rec)
        traces = _require(rec, where, "traces", list)
        groups = _require(rec, where, "groups", list)
        r["traces"] = []
        for i, t in enumerate(traces):
            w = f"{where} traces[{i}]"
            if not isinstance(t, dict):
                raise DataError(f"{w}: not an object")
            steps = _require(t, w, "steps", list)
            labels = _require(t, w, "labels", list)
            if not steps or not all(isinstance(s, str) for s in steps):
                raise DataError(f"{w}: field 'steps' must be a non-empty list of strings")
            if len(labels) != len(steps) or any(x not in (0, 1) for x in labels):
                raise DataError(f"{w}: field 'labels' must hold one 0/1 per step")
            r["traces"].append({"correct": bool(_require(t, w, "correct", bool)), "steps": steps,
                                "labels": [int(x) for x in labels]})
        r["groups"] = []
        for g, grp in enumerate(groups):
            w = f"{where} groups[{g}]"
            pos = _require(grp, w, "position", int)
            positive = _require(grp, w, "positive", int)
            negatives = _require(grp, w, "negatives", list)
            for ti in [positive, *negatives]:
                if not isinstance(ti, int) or not 0 <= ti < len(traces):
                    raise DataError(f"{w}: trace index {ti!r} out of range")
                if pos >= len(r["traces"][ti]["steps"]):
                    raise DataError(f"{w}: trace {ti} has no step {pos}")
            if not negatives:
                raise DataError(f"{w}: field 'negatives' is empty")
            r["groups"].append({"position": pos, "positive": positive, "negatives": list(negatives)})
        out.append(r)
    return _non_empty(path, out)


def load_grpo(path: str) -> list[dict]:
    """grpo.jsonl: {id, task, prompt, gold, options?}."""
    out = []
    for where, rec in read_jsonl(path):
        r = _base(where, rec)
        r["gold"] = _require(rec, where, "gold", str)
        r["options"] = _require(rec, where, "options", list, optional=True)
        out.append(r)
    return _non_empty(path, out)


def load_generate(path: str) -> list[dict]:
    """generate input: {id, prompt}."""
    out = [{"id": _require(rec, w, "id", str), "prompt": _require(rec, w, "prompt", str)}
           for w, rec in read_jsonl(path)]
    return _non_empty(path, out)


# ----------------------------------------------------------------------------- order of examples


@dataclass
class Sampler:
    """A deterministic stream of example indices: epoch e is a permutation seeded by (seed, e).

    Optimizer step s uses stream positions [s*G, (s+1)*G) with G the global batch; rank r takes the
    r-th contiguous slice. Resuming at step s therefore needs nothing but s.
    """

    n: int
    global_batch: int
    seed: int

    def steps_per_epoch(self) -> int:
        return math.ceil(self.n / self.global_batch)

    def __post_init__(self) -> None:
        self._epoch, self._order = -1, torch.empty(0, dtype=torch.long)

    def _perm(self, epoch: int) -> torch.Tensor:
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        return torch.randperm(self.n, generator=g)

    def _epoch_order(self, epoch: int) -> torch.Tensor:
        """The permutation of one epoch, built once and kept until the stream moves past it."""
        if epoch != self._epoch:
            self._epoch, self._order = epoch, self._perm(epoch)
        return self._order

    def batch(self, step: int) -> list[int]:
        start, end = step * self.global_batch, (step + 1) * self.global_batch
        out: list[int] = []
        while start < end:  # a batch may run from the end of one epoch into the next
            e, i = divmod(start, self.n)
            take = min(end - start, self.n - i)
            out += self._epoch_order(e)[i:i + take].tolist()
            start += take
        return out

    def rank_micro_batches(self, step: int, rank: int, world: int, micro: int, accum: int) -> list[list[int]]:
        idx = self.batch(step)
        per_rank = micro * accum
        mine = idx[rank * per_rank:(rank + 1) * per_rank]
        return [mine[i * micro:(i + 1) * micro] for i in range(accum)]


# ----------------------------------------------------------------------------- tokenisation


def prompt_ids(tokenizer, prompt: str) -> list[int]:
    """The chat-templated user turn, ending with the assistant header (generation prompt)."""
    out = tokenizer.apply_chat_template([{"role": "user", "content": prompt}], add_generation_prompt=True,
                                        tokenize=True, return_dict=False)
    if isinstance(out, dict) or hasattr(out, "keys"):
        out = out["input_ids"]
    return list(out)


def encode_sft(tokenizer, records: list[dict], max_len: int) -> list[tuple[list[int], int]]:
    """For each record: prompt ids + completion ids + EOS, cut to max_len (the completion's tail goes first),
    and the prompt's length (its labels are -100)."""
    completions = tokenizer([r["completion"] for r in records], add_special_tokens=False)["input_ids"]
    out = []
    for r, c in zip(records, completions):
        p = prompt_ids(tokenizer, r["prompt"])
        out.append(((p + c + [tokenizer.eos_token_id])[:max_len], len(p)))
    return out


def collate_padded(examples: list[dict], pad_id: int) -> dict:
    """Right-padded batch with an attention mask."""
    L = max(len(e["input_ids"]) for e in examples)
    ids = torch.full((len(examples), L), pad_id, dtype=torch.long)
    labels = torch.full((len(examples), L), -100, dtype=torch.long)
    mask = torch.zeros((len(examples), L), dtype=torch.long)
    for i, e in enumerate(examples):
        n = len(e["input_ids"])
        ids[i, :n] = torch.tensor(e["input_ids"])
        labels[i, :n] = torch.tensor(e["labels"])
        mask[i, :n] = 1
    return {"input_ids": ids, "labels": labels, "attention_mask": mask}


def collate_packed(examples: list[dict]) -> dict:
    """Padding-free packing: one row, position_ids restart at every example, no attention mask.

    transformers then builds a block-causal mask from position_ids (sdpa/flex) or uses varlen kernels
    (flash attention), so no token attends across examples. The first label of each example is masked
    so that no token predicts across a boundary."""
    ids, labels, pos = [], [], []
    for e in examples:
        n = len(e["input_ids"])
        ids += e["input_ids"]
        labels += e["labels"]
        pos += list(range(n))
    return {"input_ids": torch.tensor([ids]), "labels": torch.tensor([labels]),
            "position_ids": torch.tensor([pos])}


def encode_trace(tokenizer, prompt: str, steps: list[str], sep: str, max_len: int) -> tuple[list[int], list[int]]:
    """Token ids of prompt + steps joined by ``sep``, and the index of the last token of each step.

    Because the model is causal, the hidden state at a step's last token sees exactly the prompt and the
    trace's steps up to that one: one forward pass scores every step of a trace. Steps that fall beyond
    max_len are given the index -1 (not scored)."""
    ids = prompt_ids(tokenizer, prompt)
    ends = []
    for j, s in enumerate(steps):
        piece = s if j == len(steps) - 1 else s + sep
        ids = ids + tokenizer(piece, add_special_tokens=False)["input_ids"]
        ends.append(len(ids) - 1)
    ends = [e if e < max_len else -1 for e in ends]
    return ids[:max_len], ends


def pad_rows(rows: list[list[int]], pad_id: int, left: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    L = max(len(r) for r in rows)
    ids = torch.full((len(rows), L), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), L), dtype=torch.long)
    for i, r in enumerate(rows):
        if left:
            ids[i, L - len(r):] = torch.tensor(r, dtype=torch.long)
            mask[i, L - len(r):] = 1
        else:
            ids[i, :len(r)] = torch.tensor(r, dtype=torch.long)
            mask[i, :len(r)] = 1
    return ids, mask

