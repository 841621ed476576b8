import os

import pytest
import torch

from agentark_trainer import sft
from agentark_trainer.config import SftConfig, load_config
from agentark_trainer.runtime import Runtime


def sft_cfg(model_dir, data_dir, out, **kw):
    base = {"model": {"path": model_dir}, "data": str(data_dir / "rsft.jsonl"), "output_dir": str(out),
            "batch_size": 4, "lr": 1e-2, "max_steps": 8, "warmup_steps": 0, "scheduler": "constant",
            "max_seq_len": 64}
    base.update(kw)
    return load_config(SftConfig, base)


def test_sft_full_finetune_loss_goes_down_and_final_model_loads(tiny_model_dir, data_dir, tmp_path, event_log):
    cfg = sft_cfg(tiny_model_dir, data_dir, tmp_path / "run")
    result = sft.main(cfg, Runtime(), resume=None)
    losses = [e["loss"] for e in event_log.of("progress")]
    assert len(losses) == 8
    assert losses[-1] < 0.7 * losses[0]
    start = event_log.of("start")[0]
    assert start["total"] == 8 and start["packing"] is True
    from transformers import AutoModelForCausalLM

    m = AutoModelForCausalLM.from_pretrained(result["output"])
    assert sum(p.numel() for p in m.parameters()) > 0
    assert os.path.isfile(os.path.join(result["output"], "tokenizer_config.json"))


def test_sft_packed_and_padded_batches_give_the_same_loss_and_gradients(tiny_model_dir, data_dir, tmp_path):
    cfg = sft_cfg(tiny_model_dir, data_dir, tmp_path / "run", packing=True)
    st = sft.setup(cfg, Runtime())
    assert st.packing
    idx = [0, 3, 5, 9]
    lens = {len(st.examples[i]["input_ids"]) for i in idx}
    assert len(lens) > 1, "the examples must differ in length for padding to matter"

    def loss_and_grad(packing):
        st.packing = packing
        st.lm.zero_grad()
        nll, n = sft.CompletionLoss(st.lm)(**sft.make_batch(st, idx))
        (nll / n).backward()
        return float((nll / n).detach()), st.lm.get_input_embeddings().weight.grad.clone()

    packed, g1 = loss_and_grad(True)
    padded, g2 = loss_and_grad(False)
    assert packed == pytest.approx(padded, rel=1e-5)
    assert torch.allclose(g1, g2, atol=1e-6)
    # and packing without position_ids restarts would differ: the check above can fail
    st.packing = True
    b = sft.make_batch(st, idx)
    b["position_ids"] = torch.arange(b["input_ids"].shape[1])[None]
    wrong, _ = sft.CompletionLoss(st.lm)(**b)
    assert float(wrong.detach() / b["labels"][:, 1:].ne(-100).sum()) != pytest.approx(padded, rel=1e-4)


def test_sft_lora_trains_only_adapters_and_loss_goes_down(tiny_model_dir, data_dir, tmp_path, event_log):
    cfg = sft_cfg(tiny_model_dir, data_dir, tmp_path / "run", lora={"r": 4, "alpha": 8}, lr=1e-2)
    st = sft.setup(cfg, Runtime())
    names = [n for n, p in st.lm.named_parameters() if p.requires_grad]
    assert names and all("lora_" in n for n in names)
    result = sft.main(cfg, Runtime(), resume=None)
    losses = [e["loss"] for e in event_log.of("progress")]
    assert losses[-1] < losses[0]
    from transformers import AutoModelForCausalLM

    merged = AutoModelForCausalLM.from_pretrained(result["output"])
    assert not any("lora" in n for n, _ in merged.named_parameters())


def test_sft_lora_unmerged_saves_a_clean_base_and_the_adapter(tiny_model_dir, data_dir, tmp_path):
    cfg = sft_cfg(tiny_model_dir, data_dir, tmp_path / "run", lora={"r": 4, "alpha": 8}, merge_lora=False, max_steps=2)
    result = sft.main(cfg, Runtime(), resume=None)
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM

    keys = load_file(os.path.join(result["output"], "model.safetensors")).keys()
    assert not any("lora_" in k or "base_layer" in k for k in keys)
    base = AutoModelForCausalLM.from_pretrained(result["output"])
    original = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    # LoRA leaves the base weights as they were: the saved base is the original model.
    for (name, a), (_, b) in zip(base.state_dict().items(), original.state_dict().items()):
        assert torch.equal(a, b), name
    assert os.path.isfile(os.path.join(result["output"], "adapter", "adapter_config.json"))
