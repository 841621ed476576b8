"""Experiment tracking: the numbers of the ``progress`` and ``metric`` events, as scalars named
``<job>/<field>`` at the event's step, in TensorBoard event files and, where configured, W&B and Trackio.

TensorBoard is always written, to ``<output_dir>/tensorboard/``; a resumed job adds a new event file to
the same folder, whose steps hide whatever an earlier attempt logged from the resume step on. W&B runs
when ``WANDB_API_KEY`` or ``WANDB_MODE`` is set and ``wandb`` imports; Trackio when ``TRACKIO_PROJECT`` is
set and ``trackio`` imports. A sink that fails (to start or later) is logged and dropped: tracking never
fails a job. Only rank 0 tracks.
"""

from __future__ import annotations

import importlib
import logging
import math
import os
from typing import Any, Callable, Optional, Protocol

log = logging.getLogger(__name__)


class Sink(Protocol):
    def log(self, scalars: dict[str, float], step: int) -> None: ...
    def flush(self) -> None: ...
    def close(self) -> None: ...


class TensorBoardSink:
    def __init__(self, log_dir: str, start_step: int):
        from torch.utils.tensorboard import SummaryWriter

        # The first step this run logs is start_step + 1: TensorBoard hides an earlier attempt's
        # events from there on (they were logged after the checkpoint this run resumed from).
        self.writer = SummaryWriter(log_dir=log_dir, purge_step=start_step + 1)

    def log(self, scalars: dict[str, float], step: int) -> None:
        for tag, value in scalars.items():
            self.writer.add_scalar(tag, value, global_step=step)

    def flush(self) -> None:
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


class RunSink:
    """A W&B or Trackio run: both take ``run.log(dict, step=)`` and ``run.finish()``."""

    def __init__(self, run: Any):
        self.run = run

    def log(self, scalars: dict[str, float], step: int) -> None:
        self.run.log(scalars, step=step)

    def flush(self) -> None:
        pass  # both send in the background; finish() waits for them

    def close(self) -> None:
        self.run.finish()


def _wandb(job: str, output_dir: str, start_step: int) -> Optional[Sink]:
    if not (os.environ.get("WANDB_API_KEY") or os.environ.get("WANDB_MODE")):
        return None
    wandb = _optional_import("wandb")
    if wandb is None:
        return None
    # The project comes from WANDB_PROJECT (wandb reads its own environment).
    return RunSink(wandb.init(name=job, dir=output_dir, config={"job": job, "start_step": start_step}))


def _trackio(job: str, output_dir: str, start_step: int) -> Optional[Sink]:  # noqa: ARG001
    project = os.environ.get("TRACKIO_PROJECT")
    if not project:
        return None
    trackio = _optional_import("trackio")
    if trackio is None:
        return None
    return RunSink(trackio.init(project=project, name=job, config={"job": job, "start_step": start_step}))


def _tensorboard(job: str, output_dir: str, start_step: int) -> Sink:  # noqa: ARG001
    return TensorBoardSink(os.path.join(output_dir, "tensorboard"), start_step)


def _optional_import(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError:
        log.warning("tracking: %s is configured in the environment but not installed; skipped", name)
        return None


STARTERS: dict[str, Callable[[str, str, int], Optional[Sink]]] = {
    "tensorboard": _tensorboard, "wandb": _wandb, "trackio": _trackio,
}


def _scalar(value: Any) -> Optional[float]:
    if hasattr(value, "item"):  # numpy / torch scalars
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None  # as the events: no NaN/Infinity


class Tracker:
    def __init__(self, job: str, sinks: dict[str, Sink]):
        self.job = job
        self.sinks = sinks

    def log(self, step: int, values: dict[str, Any]) -> None:
        named = {f"{self.job}/{name}": _scalar(value) for name, value in values.items()}
        scalars = {tag: value for tag, value in named.items() if value is not None}
        if scalars:
            self._each(lambda sink: sink.log(scalars, step))

    def flush(self) -> None:
        self._each(lambda sink: sink.flush())

    def close(self) -> None:
        self._each(lambda sink: sink.close())
        self.sinks = {}

    def _each(self, call: Callable[[Sink], None]) -> None:
        for name, sink in list(self.sinks.items()):
            try:
                call(sink)
            except Exception as e:  # noqa: BLE001 - a tracking failure must not fail the job
                log.warning("tracking: %s failed (%s: %s); it is dropped", name, type(e).__name__, e)
                del self.sinks[name]


def open_tracker(job: str, output_dir: str, start_step: int, main: bool) -> Tracker:
    """The sinks this environment configures (none off rank 0), for a job that starts after ``start_step``."""
    sinks: dict[str, Sink] = {}
    if not main:
        return Tracker(job, sinks)
    for name, start in STARTERS.items():
        try:
            sink = start(job, output_dir, start_step)
        except Exception as e:  # noqa: BLE001 - nor a sink that cannot start
            log.warning("tracking: %s did not start (%s: %s); skipped", name, type(e).__name__, e)
            continue
        if sink is not None:
            sinks[name] = sink
    return Tracker(job, sinks)
