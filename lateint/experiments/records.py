"""Measurements from runs too long for a page build, stored with where they came from.

``make bench-heads`` and ``make bench-thinking`` (``bench/``) train heads and sweep them
for half an hour or more; they write their results here as JSON with the command,
commit, machine, date and wall time. Chapters read them with :func:`load` and say so
with :func:`provenance`; the shipped heads among them are re-evaluated by the tests.
"""

from __future__ import annotations

import json
from pathlib import Path

RECORDS = Path(__file__).parent / "records"


def load(name: str) -> dict:
    """The record ``name`` (``heads``, ``thinking``)."""
    path = RECORDS / f"{name}.json"
    if not path.is_file():
        raise FileNotFoundError(f"no record {path.name} in {RECORDS}: run `make bench-{name}` to make it")
    return json.loads(path.read_text())


def provenance(record: dict) -> str:
    """One sentence saying how, where and when a record was measured."""
    return (
        f"Measured by `{record['command']}` at commit `{record['commit']}` on "
        f"{record.get('device', 'CPU')} ({record['machine']}, torch {record['torch']}) on "
        f"{record['date']}, {record['wall_seconds'] / 60:.0f} minutes in all."
    )
