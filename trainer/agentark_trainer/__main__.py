"""python -m agentark_trainer <job> --config <file.json> [--resume auto|none|<checkpoint>]
python -m agentark_trainer check --serve [--timeout-ms N]   (the answer checker server, check_server.py)
python -m agentark_trainer serve --model <path> [--host --port --dtype]   (an OpenAI-compatible rollout server, serve.py)

Exit codes: 0 done, 2 bad config (or bad input data), 75 interrupted and resumable, 1 any other failure.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # no code path fetches from a hub
os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")

EXIT_OK, EXIT_FAILED, EXIT_CONFIG, EXIT_INTERRUPTED = 0, 1, 2, 75
JOBS = ("sft", "prm", "grpo", "ppo", "generate", "bench", "export")

log = logging.getLogger("agentark_trainer")


def run_job(job: str, config_path, resume: str | None) -> dict:
    """Load the config and run one job in this process. Raises ConfigError, DataError, Interrupted."""
    from .config import JOB_CONFIGS, load_config

    cfg = load_config(JOB_CONFIGS[job], config_path)
    if job == "bench":
        from . import bench

        return bench.main(cfg)
    if job == "export":
        from . import models

        return models.export(cfg)
    from .runtime import Runtime

    rt = Runtime()
    try:
        if job == "sft":
            from . import sft as mod
        elif job == "prm":
            from . import prm as mod
        elif job == "grpo":
            from . import grpo as mod
        elif job == "ppo":
            from . import ppo as mod
        else:
            from . import generate as mod
        return mod.main(cfg, rt, resume)
    finally:
        rt.close()


def follow_parent_death() -> None:
    """AGENTARK_PARENT_DEATH_SIGNAL=SIGTERM (set by the gpu worker): when the process that started this
    one dies, even by SIGKILL, get that signal, so an orphaned trainer checkpoints and exits instead of
    holding the GPU. Linux only (prctl PR_SET_PDEATHSIG); elsewhere a no-op."""
    name = os.environ.get("AGENTARK_PARENT_DEATH_SIGNAL")
    if not name or not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    PR_SET_PDEATHSIG = 1
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, int(getattr(signal, name)))
    except (OSError, AttributeError) as e:
        log.warning("cannot follow the parent's death (%s)", e)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["check"]:
        from . import check_server

        follow_parent_death()
        return check_server.main(argv[1:])
    if argv[:1] == ["serve"]:
        from . import serve

        follow_parent_death()
        return serve.main(argv[1:])
    from .config import ConfigError
    from .data import DataError
    from .events import claim_stdout, emit, setup_logging
    from .loop import Interrupted

    parser = argparse.ArgumentParser(prog="python -m agentark_trainer")
    parser.add_argument("job", choices=JOBS)
    parser.add_argument("--config", required=True, help="JSON file with the job's config")
    parser.add_argument("--resume", default="none",
                        help="auto = newest complete checkpoint in output_dir; none; or a checkpoint folder")
    args = parser.parse_args(argv)
    claim_stdout()
    setup_logging()
    follow_parent_death()
    try:
        result = run_job(args.job, args.config, args.resume)
    except ConfigError as e:
        log.error("%s", e)
        emit("error", job=args.job, code=EXIT_CONFIG, kind="config", field=e.field, message=str(e), resumable=False)
        return EXIT_CONFIG
    except DataError as e:
        log.error("%s", e)
        emit("error", job=args.job, code=EXIT_CONFIG, kind="data", message=str(e), resumable=False)
        return EXIT_CONFIG
    except Interrupted as e:
        log.warning("%s", e)
        emit("error", job=args.job, code=EXIT_INTERRUPTED, kind="interrupted", message=str(e),
             checkpoint=os.path.abspath(e.checkpoint_path), step=e.step, resumable=True)
        return EXIT_INTERRUPTED
    except Exception as e:  # noqa: BLE001 - the event stream must say why the process died
        traceback.print_exc(file=sys.stderr)
        emit("error", job=args.job, code=EXIT_FAILED, kind=type(e).__name__, message=str(e), resumable=True)
        return EXIT_FAILED
    emit("done", job=args.job, **(result or {}))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
