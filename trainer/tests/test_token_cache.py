"""The sft job's memory-mapped token cache, DA's per-problem weights and the chunked log-probs."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from agentark_trainer import data, logprobs, sft, token_cache
from agentark_trainer.config import SftConfig, load_config
from agentark_trainer.runtime import Runtime

from conftest import toy_sft_records, write_jsonl


def test_the_cache_holds_what_the_encoder_gives_and_is_built_once(tokenizer, tmp_path, monkeypatch):
    records = toy_sft_records(40)
    path = write_jsonl(tmp_path / "da.jsonl", records)
    root = str(tmp_path / "cache")
    cache = token_cache.load(Runtime(), path, tokenizer, 48, root)
    assert isinstance(cache.ids, np.memmap) and len(cache) + cache.meta["dropped"] == 40
    expected = [(ids, p) for ids, p in data.encode_sft(tokenizer, records, 48) if len(ids) > p]
    assert len(cache) == len(expected)
    for i, (ids, p) in enumerate(expected):
        assert cache[i] == {"input_ids": ids, "labels": [-100] * p + ids[p:]}
        assert cache.targets(i) == sum(x != -100 for x in cache[i]["labels"][1:])
    # a second job on the same file and tokenizer maps the same folder without building it again
    monkeypatch.setattr(token_cache, "_write", lambda *a: pytest.fail("rebuilt"))
    assert token_cache.load(Runtime(), path, tokenizer, 48, root).folder == cache.folder
    # a changed file or max_seq_len is another cache
    monkeypatch.undo()
    write_jsonl(tmp_path / "da.jsonl", records[:-1])
    assert token_cache.load(Runtime(), path, tokenizer, 48, root).folder != cache.folder
    assert token_cache.load(Runtime(), path, tokenizer, 64, root).folder != cache.folder
    assert len(os.listdir(root)) == 3 and not [f for f in os.listdir(root) if f.endswith(".tmp")]


# One rank of a torchrun job: loads the cache, counting the calls of the hashing function, then asks for a
# missing file; writes what it saw to <out>/rank<r>.json.
RANK_SCRIPT = """
import json, os, sys
from transformers import AutoTokenizer
from agentark_trainer import data, token_cache
from agentark_trainer.runtime import Runtime

model_dir, path, root, out = sys.argv[1:]
hashed = []
real = token_cache.cache_key
token_cache.cache_key = lambda p, *a: hashed.append(p) or real(p, *a)
rt = Runtime()
folder = token_cache.load(rt, path, AutoTokenizer.from_pretrained(model_dir), 48, root).folder
try:
    token_cache.load(rt, path + ".missing", AutoTokenizer.from_pretrained(model_dir), 48, root)
    missing = None
except data.DataError as e:
    missing = str(e)
with open(os.path.join(out, f"rank{rt.rank}.json"), "w") as f:
    json.dump({"hashed": hashed, "folder": folder, "missing": missing}, f)
rt.close()
"""


def test_under_torchrun_only_rank_0_hashes_the_file_and_every_rank_maps_its_folder(tiny_model_dir, tokenizer,
                                                                                    tmp_path):
    path = write_jsonl(tmp_path / "da.jsonl", toy_sft_records(40))
    script, out = tmp_path / "rank.py", tmp_path / "out"
    script.write_text(RANK_SCRIPT)
    out.mkdir()
    p = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                        str(script), tiny_model_dir, path, str(tmp_path / "cache"), str(out)],
                       capture_output=True, text=True, timeout=180,
                       env={**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"})
    assert p.returncode == 0, p.stderr[-3000:]
    r0, r1 = (json.loads((out / f"rank{r}.json").read_text()) for r in (0, 1))
    assert r0["hashed"] == [path, path + ".missing"] and r1["hashed"] == []
    expected = os.path.join(str(tmp_path / "cache"), token_cache.cache_key(path, tokenizer, 48))
    assert r0["folder"] == r1["folder"] == expected
    # a file rank 0 cannot find fails every rank with its message, none is left waiting for a key
    assert r0["missing"] == r1["missing"] == f"{path}.missing: file not found"


def test_a_file_whose_completions_are_all_truncated_away_is_a_data_error(tokenizer, tmp_path):
    path = write_jsonl(tmp_path / "da.jsonl", toy_sft_records(3))
    with pytest.raises(data.DataError, match="truncated away"):
        token_cache.load(Runtime(), path, tokenizer, 4, str(tmp_path / "cache"))


def test_per_problem_weighting_averages_over_a_problems_traces(tiny_model_dir, tmp_path):
    # problem a has three traces, b and c one each
    recs = toy_sft_records(5)
    for r, pid in zip(recs, ["a", "a", "a", "b", "c"]):
        r["id"] = pid
    path = write_jsonl(tmp_path / "da.jsonl", recs)
    cfg = {"model": {"path": tiny_model_dir}, "data": path, "output_dir": str(tmp_path / "out"), "max_seq_len": 64,
           "batch_size": 5, "max_steps": 1}
    st = sft.setup(load_config(SftConfig, cfg), Runtime())
    assert st.weights.tolist() == pytest.approx([1 / 3] * 3 + [1, 1])
    per_example = []
    with torch.no_grad():
        st.lm.get_input_embeddings().weight.mul_(30)  # peaky logits: the examples' losses differ widely
        for i in range(5):
            nll, n = sft.CompletionLoss(st.lm)(**{k: v for k, v in sft.make_batch(st, [i]).items() if k != "weights"})
            per_example.append((float(nll), int(n)))
        for packing in (True, False):
            st.packing = packing
            nll, n = st.loss_module(**sft.make_batch(st, list(range(5))))
            w = st.weights
            expected = sum(w[i] * per_example[i][0] for i in range(5)) / sum(w[i] * per_example[i][1] for i in range(5))
            assert float(nll / n) == pytest.approx(expected, rel=1e-5)
            assert float(n) == pytest.approx(sft.count_targets(st, list(range(5))))
        plain = sum(x for x, _ in per_example) / sum(n for _, n in per_example)
        assert plain != pytest.approx(expected, rel=1e-3)  # the weighting changes the loss: the check can fail
    trace = sft.setup(load_config(SftConfig, {**cfg, "da_weighting": "per-trace"}), Runtime())
    assert trace.weights is None


@pytest.mark.parametrize("chunk", [1, 7, 0])
def test_chunked_logprobs_equal_the_full_computation_with_gradients(chunk):
    torch.manual_seed(0)
    head = torch.nn.Linear(16, 50, bias=False)
    hidden = torch.randn(3, 11, 16, requires_grad=True)
    target = torch.randint(0, 50, (3, 11))

    def run(c):
        head.zero_grad()
        hidden.grad = None
        lp = logprobs.target_logprobs(head, hidden, target, temperature=0.7, chunk=c)
        (lp * torch.linspace(-1, 1, lp.numel()).view_as(lp)).sum().backward()
        return lp.detach(), hidden.grad.clone(), head.weight.grad.clone()

    full = torch.log_softmax(head(hidden).float() / 0.7, -1).gather(-1, target.unsqueeze(-1)).squeeze(-1)
    got, gh, gw = run(chunk)
    assert got.shape == (3, 11) and torch.allclose(got, full.detach(), atol=1e-6)
    ref, rh, rw = run(10_000)
    assert torch.allclose(gh, rh, atol=1e-6) and torch.allclose(gw, rw, atol=1e-6)
