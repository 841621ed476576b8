"""The process contract the TypeScript side relies on: JSON lines on stdout, exit codes 0 / 2 / 75."""

import json
import os
import signal
import subprocess
import sys

import pytest

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}


def run_cli(*args, **kw):
    return subprocess.run([sys.executable, "-m", "agentark_trainer", *args], capture_output=True, text=True,
                          env=ENV, timeout=120, **kw)


def events_of(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines()]  # every stdout line must be one JSON object


@pytest.mark.parametrize("patch,field", [
    ({"lr": "fast"}, "lr"),
    ({"learning_rate": 1e-5}, "learning_rate"),
    ({"model": {"path": "/m", "dtype": "float8"}}, "model.dtype"),
    ({"model": {"path": "/m", "gguf": "/x.gguf"}}, "model"),
    ({"data": None}, "data"),
])
def test_bad_config_exits_2_with_a_message_naming_the_field(tmp_path, patch, field):
    cfg = {"model": {"path": "/m"}, "data": "d.jsonl", "output_dir": str(tmp_path)}
    cfg.update(patch)
    if cfg["data"] is None:
        del cfg["data"]
    path = tmp_path / "c.json"
    path.write_text(json.dumps(cfg))
    p = run_cli("sft", "--config", str(path))
    assert p.returncode == 2, p.stderr
    err = events_of(p.stdout)[-1]
    assert err["event"] == "error" and err["code"] == 2 and err["field"] == field
    assert f"'{field}'" in err["message"] and f"'{field}'" in p.stderr


def test_missing_data_file_exits_2_naming_the_file(tmp_path, tiny_model_dir):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"model": {"path": tiny_model_dir}, "data": str(tmp_path / "nope.jsonl"),
                                "output_dir": str(tmp_path)}))
    p = run_cli("sft", "--config", str(path))
    assert p.returncode == 2
    assert "nope.jsonl" in events_of(p.stdout)[-1]["message"]


def test_sigterm_writes_a_checkpoint_and_exits_75_then_resume_finishes(tiny_model_dir, data_dir, tmp_path):
    out = tmp_path / "run"
    cfg = {"model": {"path": tiny_model_dir}, "data": str(data_dir / "rsft.jsonl"), "output_dir": str(out),
           "batch_size": 2, "max_steps": 100000, "max_seq_len": 64}
    path = tmp_path / "c.json"
    path.write_text(json.dumps(cfg))
    proc = subprocess.Popen([sys.executable, "-m", "agentark_trainer", "sft", "--config", str(path)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=ENV)
    lines = []
    for line in proc.stdout:  # wait for real progress, then cancel as the activity would
        lines.append(line)
        if json.loads(line)["event"] == "progress":
            proc.send_signal(signal.SIGTERM)
            break
    rest, _ = proc.communicate(timeout=120)
    assert proc.returncode == 75
    evs = events_of("".join(lines) + rest)
    assert evs[0]["event"] == "start" and evs[0]["total"] == 100000
    ckpt = [e for e in evs if e["event"] == "checkpoint"][-1]
    err = evs[-1]
    assert err["event"] == "error" and err["code"] == 75 and err["resumable"] is True
    assert err["checkpoint"] == ckpt["path"] and os.path.isfile(os.path.join(ckpt["path"], "meta.json"))

    cfg["max_steps"] = ckpt["step"] + 1
    path.write_text(json.dumps(cfg))
    p = run_cli("sft", "--config", str(path), "--resume", "auto")
    assert p.returncode == 0, p.stderr[-2000:]
    evs = events_of(p.stdout)
    assert evs[0]["event"] == "start" and evs[0]["step"] == ckpt["step"]
    assert [e["step"] for e in evs if e["event"] == "progress"] == [ckpt["step"] + 1]
    assert evs[-1]["event"] == "done" and os.path.isdir(evs[-1]["output"])


def test_a_resume_path_that_is_not_a_checkpoint_exits_2_naming_the_flag(tmp_path, tiny_model_dir, data_dir):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"model": {"path": tiny_model_dir}, "data": str(data_dir / "rsft.jsonl"),
                                "output_dir": str(tmp_path / "out")}))
    p = run_cli("sft", "--config", str(path), "--resume", str(tmp_path / "no-such-checkpoint"))
    assert p.returncode == 2, p.stderr[-2000:]
    err = events_of(p.stdout)[-1]
    assert err["kind"] == "config" and err["field"] == "--resume" and not err["resumable"]
    assert "no-such-checkpoint" in err["message"]
