import glob
import importlib
import logging
import os
import sys
import textwrap

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from agentark_trainer import sft, tracking
from agentark_trainer.config import SftConfig, load_config
from agentark_trainer.runtime import Runtime


def run_sft(model_dir, data_dir, out, resume=None, **kw):
    raw = {"model": {"path": model_dir}, "data": str(data_dir / "rsft.jsonl"), "output_dir": str(out),
           "batch_size": 4, "lr": 1e-2, "max_steps": 4, "scheduler": "constant", "max_seq_len": 64, **kw}
    return sft.main(load_config(SftConfig, raw), Runtime(), resume)


def tensorboard_scalars(out, tag: str) -> list[tuple[int, float]]:
    acc = EventAccumulator(os.path.join(str(out), "tensorboard"))
    acc.Reload()
    return [(e.step, e.value) for e in acc.Scalars(tag)]


def steps_and(events: list[dict], field: str) -> list[tuple[int, float]]:
    return [(e["step"], e[field]) for e in events]


def assert_series(actual: list[tuple[int, float]], expected: list[tuple[int, float]]) -> None:
    """The same steps in the same order, the same values (TensorBoard keeps float32)."""
    assert [step for step, _ in actual] == [step for step, _ in expected]
    assert [v for _, v in actual] == pytest.approx([v for _, v in expected], rel=1e-6)


def test_tensorboard_holds_the_progress_and_metric_numbers_at_their_steps(tiny_model_dir, data_dir, tmp_path,
                                                                            event_log):
    run_sft(tiny_model_dir, data_dir, tmp_path / "run")
    progress = event_log.of("progress")
    assert [e["step"] for e in progress] == [1, 2, 3, 4]
    for field in ("loss", "lr", "step_time_s", "tokens_per_s", "memory_bytes"):
        assert_series(tensorboard_scalars(tmp_path / "run", f"sft/{field}"), steps_and(progress, field))
    grad_norms = [(e["step"], e["metrics"]["grad_norm"]) for e in event_log.of("metric")]
    assert_series(tensorboard_scalars(tmp_path / "run", "sft/grad_norm"), grad_norms)


def test_a_resumed_job_continues_the_steps_in_the_same_folder(tiny_model_dir, data_dir, tmp_path, event_log):
    out = tmp_path / "run"

    def crash_after_logging_step_3(ev):
        if ev["event"] == "metric" and ev["step"] == 3:
            raise RuntimeError("crash")  # step 3 is logged, the newest checkpoint is step 2

    event_log.hooks.append(crash_after_logging_step_3)
    with pytest.raises(RuntimeError, match="crash"):
        run_sft(tiny_model_dir, data_dir, out, max_steps=5, checkpoint_every=2)
    event_log.hooks.clear()
    first = event_log.of("progress")
    assert [e["step"] for e in first] == [1, 2, 3]

    run_sft(tiny_model_dir, data_dir, out, resume="auto", max_steps=5, checkpoint_every=2)
    resumed = event_log.of("progress")[len(first):]
    assert [e["step"] for e in resumed] == [3, 4, 5]
    assert len(glob.glob(str(out / "tensorboard" / "events.out.tfevents.*"))) == 2
    # step 3 of the crashed attempt is hidden: each step once, the resumed run's value from its start on
    expected = steps_and(first[:2] + resumed, "loss")
    assert_series(tensorboard_scalars(out, "sft/loss"), expected)


def fake_module(folder, name: str, source: str, monkeypatch):
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.py").write_text(textwrap.dedent(source))
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.delitem(sys.modules, name, raising=False)


def test_a_sink_that_fails_to_start_only_warns_and_the_others_still_log(tiny_model_dir, data_dir, tmp_path,
                                                                          event_log, monkeypatch, caplog):
    fakes = tmp_path / "fakes"
    fake_module(fakes, "wandb", """
        def init(**kwargs):
            raise RuntimeError("wandb is unreachable")
    """, monkeypatch)
    fake_module(fakes, "trackio", """
        calls = []

        class Run:
            def log(self, metrics, step=None):
                calls.append((step, dict(metrics)))

            def finish(self):
                calls.append("finish")

        def init(**kwargs):
            calls.append(kwargs)
            return Run()
    """, monkeypatch)
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("TRACKIO_PROJECT", "agentark-test")
    with caplog.at_level(logging.WARNING, logger="agentark_trainer.tracking"):
        result = run_sft(tiny_model_dir, data_dir, tmp_path / "run", max_steps=2)
    assert os.path.isdir(result["output"])
    assert any("wandb did not start" in r.getMessage() and "unreachable" in r.getMessage() for r in caplog.records)

    calls = importlib.import_module("trackio").calls
    assert calls[0]["project"] == "agentark-test" and calls[0]["name"] == "sft"
    assert calls[-1] == "finish"
    logged = [(step, m["sft/loss"]) for step, m in calls[1:-1] if "sft/loss" in m]
    assert logged == steps_and(event_log.of("progress"), "loss")
    assert_series(tensorboard_scalars(tmp_path / "run", "sft/loss"), logged)


class FailingSink:
    def __init__(self):
        self.logged = 0

    def log(self, scalars, step):
        self.logged += 1
        raise OSError("disk full")

    def flush(self):
        pass

    def close(self):
        raise AssertionError("a dropped sink is not closed")


class RecordingSink:
    def __init__(self):
        self.logged: list[tuple[int, dict]] = []
        self.closed = False

    def log(self, scalars, step):
        self.logged.append((step, scalars))

    def flush(self):
        pass

    def close(self):
        self.closed = True


def test_a_sink_that_fails_while_logging_is_dropped_and_the_others_go_on(caplog):
    failing, recording = FailingSink(), RecordingSink()
    tracker = tracking.Tracker("grpo", {"failing": failing, "recording": recording})
    with caplog.at_level(logging.WARNING, logger="agentark_trainer.tracking"):
        tracker.log(1, {"reward": 0.5, "loss": float("nan"), "note": "text"})
        tracker.log(2, {"reward": 0.75})
        tracker.close()
    assert failing.logged == 1
    assert recording.logged == [(1, {"grpo/reward": 0.5}), (2, {"grpo/reward": 0.75})]
    assert recording.closed
    assert any("failing failed" in r.getMessage() and "disk full" in r.getMessage() for r in caplog.records)


def test_only_rank_0_tracks(tmp_path):
    assert tracking.open_tracker("sft", str(tmp_path), 0, main=False).sinks == {}
    assert not os.path.exists(tmp_path / "tensorboard")
    tracker = tracking.open_tracker("sft", str(tmp_path), 0, main=True)
    tracker.close()
    assert glob.glob(str(tmp_path / "tensorboard" / "events.out.tfevents.*"))
