"""The sft job's examples as a memory-mapped token cache, so millions of traces never sit in Python lists.

Rank 0 streams the dataset file once, tokenises it in batches and appends to flat files; every rank then
maps them read-only (the page cache holds one copy per machine, however many ranks). The cache folder is
named by a hash of what its contents depend on (the file's bytes, the tokenizer, max_seq_len), so a changed
input builds a new one and a resumed job reuses its own; rank 0 hashes the file and broadcasts the name, so
hashing reads it once, not once per rank. Layout of ``<root>/<hash>/``:

  ids.bin         int32, every example's prompt + completion + EOS ids, one after the other (truncated)
  offsets.bin     int64 [n + 1], where each example starts in ids.bin
  prompt_len.bin  int32 [n], how many of its leading ids are the prompt (labels -100)
  group.bin       int32 [n], the example's problem (records sharing an ``id``), for DA's per-problem weights
  meta.json       {"examples", "tokens", "dropped", "problems"}, written last (the folder is complete)

Examples whose completion is truncated away entirely are dropped (counted in ``dropped``).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from array import array

import numpy as np

from . import data

FORMAT = 1  # bump when the layout or the encoding changes
BATCH = 512  # records tokenised per call


class SftTokens:
    """Read-only view of a built cache: ``len``, ``[i]`` -> {"input_ids", "labels"}, sizes without decoding."""

    def __init__(self, folder: str):
        with open(os.path.join(folder, "meta.json")) as f:
            self.meta = json.load(f)
        n = self.meta["examples"]

        def mapped(name, dtype, count):
            return np.memmap(os.path.join(folder, name), dtype=dtype, mode="r", shape=(count,)) if count else \
                np.zeros(0, dtype)

        self.ids = mapped("ids.bin", np.int32, self.meta["tokens"])
        self.offsets = mapped("offsets.bin", np.int64, n + 1)
        self.prompt_len = mapped("prompt_len.bin", np.int32, n)
        self.group = mapped("group.bin", np.int32, n)
        self.folder = folder

    def __len__(self) -> int:
        return int(self.meta["examples"])

    def __getitem__(self, i: int) -> dict:
        a, b, p = int(self.offsets[i]), int(self.offsets[i + 1]), int(self.prompt_len[i])
        ids = self.ids[a:b].tolist()
        return {"input_ids": ids, "labels": [-100] * p + ids[p:]}

    def length(self, i: int) -> int:
        return int(self.offsets[i + 1] - self.offsets[i])

    def targets(self, i: int) -> int:
        """Labelled positions after the first (what the loss counts: the first token predicts nothing)."""
        return self.length(i) - max(1, int(self.prompt_len[i]))

    def problem_sizes(self) -> np.ndarray:
        """For each example, how many examples share its problem (k of Eq. 2)."""
        return np.bincount(self.group)[self.group] if len(self) else np.zeros(0, np.int64)


def tokenizer_fingerprint(tokenizer) -> str:
    backend = getattr(tokenizer, "backend_tokenizer", None)
    body = backend.to_str() if backend is not None else f"{tokenizer.name_or_path}:{len(tokenizer)}"
    return hashlib.sha256(f"{body}\0{tokenizer.chat_template}\0{tokenizer.eos_token_id}".encode()).hexdigest()


def cache_key(path: str, tokenizer, max_len: int) -> str:
    h = hashlib.sha256(f"{FORMAT}\0{max_len}\0{tokenizer_fingerprint(tokenizer)}\0".encode())
    try:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    except FileNotFoundError:
        raise data.DataError(f"{path}: file not found") from None
    return h.hexdigest()[:24]


def _write(folder: str, path: str, tokenizer, max_len: int) -> None:
    offsets, prompt_len, group = array("q", [0]), array("i"), array("i")
    problems: dict[str, int] = {}
    dropped = 0
    with open(os.path.join(folder, "ids.bin"), "wb") as ids_file:
        pending: list[dict] = []

        def flush():
            nonlocal dropped
            for rec, (ids, p) in zip(pending, data.encode_sft(tokenizer, pending, max_len)):
                if len(ids) - max(1, p) <= 0:  # the completion was truncated away
                    dropped += 1
                    continue
                ids_file.write(np.asarray(ids, dtype=np.int32).tobytes())
                offsets.append(offsets[-1] + len(ids))
                prompt_len.append(min(p, len(ids)))
                group.append(problems.setdefault(rec["id"], len(problems)))
            pending.clear()

        for rec in data.iter_sft(path):
            pending.append(rec)
            if len(pending) >= BATCH:
                flush()
        flush()
    for name, arr in (("offsets.bin", offsets), ("prompt_len.bin", prompt_len), ("group.bin", group)):
        with open(os.path.join(folder, name), "wb") as f:
            arr.tofile(f)
    with open(os.path.join(folder, "meta.json"), "w") as f:
        json.dump({"examples": len(prompt_len), "tokens": offsets[-1], "dropped": dropped,
                   "problems": len(problems), "data": os.path.abspath(path), "max_seq_len": max_len}, f)


def shared_key(rt, path: str, tokenizer, max_len: int) -> str:
    """``cache_key`` as rank 0 computes it, on every rank: hashing reads the whole file, which N ranks of a
    node would otherwise do N times. A missing file fails every rank, not rank 0 alone (the others would wait
    for a key that never comes)."""
    found = None
    if rt.is_main:
        try:
            found = {"key": cache_key(path, tokenizer, max_len)}
        except data.DataError as e:
            found = {"error": str(e)}
    found = rt.broadcast(found)
    if "error" in found:
        raise data.DataError(found["error"])
    return found["key"]


def load(rt, path: str, tokenizer, max_len: int, root: str) -> SftTokens:
    """The cache of ``path`` under ``root``, built by rank 0 if it is not there yet; every rank maps it."""
    folder = os.path.join(root, shared_key(rt, path, tokenizer, max_len))
    if rt.is_main and not os.path.isfile(os.path.join(folder, "meta.json")):
        tmp = folder + ".tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(tmp)
        try:
            _write(tmp, path, tokenizer, max_len)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(tmp, folder)
    rt.barrier()
    tokens = SftTokens(folder)
    if not len(tokens):
        raise data.DataError(f"{path}: no records" if not tokens.meta["dropped"] else
                             f"{path}: every completion was truncated away (max_seq_len={max_len})")
    return tokens
