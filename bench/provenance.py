"""Where a bench record came from: command, commit, machine, date, wall time."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import time
from pathlib import Path

import torch

RECORDS = Path(__file__).parents[1] / "lateint" / "experiments" / "records"


COMMIT_AT_START = None  # set by ``begin``: the code that ran, not where HEAD is at the end


def begin() -> float:
    """Call first: notes the commit and returns the start time for :func:`provenance`."""
    global COMMIT_AT_START
    COMMIT_AT_START = _commit()
    return time.perf_counter()


def provenance(command: str, started: float) -> dict:
    """``started``: what :func:`begin` returned."""
    return {
        "command": command,
        "commit": COMMIT_AT_START or _commit(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {torch.get_num_threads()} torch threads",
        "torch": torch.__version__,
        "date": time.strftime("%Y-%m-%d"),
        "wall_seconds": round(time.perf_counter() - started, 1),
    }


def write(name: str, record: dict) -> Path:
    path = RECORDS / f"{name}.json"
    path.write_text(json.dumps(record, indent=1) + "\n")
    return path


def _commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        )
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
