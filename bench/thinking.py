"""Thinking tokens, trained for: do [MASK] tokens help once the model learns with them?

Trains four variants through ``lateint.train`` on CPU: what trains (the head alone, or
the top transformer layer and the head) crossed with how queries look in training
(without masks, or with 32 attended [MASK] tokens appended). All use the head recipe
chapter 2b chooses (loss on MaxSim averaged over query tokens, temperature 0.02), 128-d
from the PCA start, all SciFact train queries and 3,000 title pairs, 3 epochs.

Each variant is then measured as chapter 5 measures the shipped head, on SciFact test
and Cranfield: nDCG@10 for 0 to 64 appended masks (re-ranking BM25's and mask-free
MaxSim's top 100), the mask effect per query-length tercile, and the mask-vector report
(8 masks, SciFact). The record goes to ``lateint/experiments/records/thinking.json``,
which chapter 5 reads; one JSON line per variant is printed as it finishes.

Run with ``make bench-thinking`` (SciFact and Cranfield must be present; about 45
minutes on 2 cores, most of it training and re-encoding for the top-layer variants).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import warnings
from dataclasses import asdict, replace
from pathlib import Path

from provenance import begin, provenance, write

from lateint import data, evaluate
from lateint.checkpoints import load_head
from lateint.experiments import augmentation
from lateint.train import TrainConfig

COLLECTIONS = ("scifact", "cranfield")
COUNTS = (0, 1, 2, 4, 8, 16, 32, 64)
TRAINED_MASKS = 32
BASE = TrainConfig(score="mean", temperature=0.02, dev_fraction=0.0, title_pairs=3000, epochs=3)


def variants() -> list[tuple[str, TrainConfig]]:
    masked = {"query_augmentation": True, "query_mask_tokens": TRAINED_MASKS}
    return [
        (f"{trains}, trained {'with' if masks else 'without'} masks", replace(BASE, trains=trains, **masks))
        for trains in ("head", "top")
        for masks in ({}, masked)
    ]


def arguments(config: TrainConfig) -> list[str]:
    """The command-line options that differ from the defaults."""
    default = asdict(TrainConfig())
    return [
        f"--{key.replace('_', '-')}={str(value).lower() if isinstance(value, bool) else value}"
        for key, value in asdict(config).items()
        if value != default[key]
    ]


def measure(folder: Path, collections: dict[str, data.Collection]) -> dict:
    encoder = load_head(folder)
    out = {}
    for name, collection in collections.items():
        vectors = evaluate.encode_collection(encoder, collection)
        pool = augmentation.candidate_pool(encoder, collection)
        points = augmentation.sweep(
            encoder, collection, vectors, pool, counts=COUNTS, unattended=(), timing_queries=0
        )
        out[name] = {
            "sweep": {p["n_masks"]: round(p["nDCG@10"], 4) for p in points},
            "by_length": augmentation.effect_by_length(encoder, collection, points, TRAINED_MASKS),
        }
        if name == "scifact":
            report = augmentation.mask_report(encoder, collection, vectors, pool, n_masks=8)
            out["mask_report"] = {
                "nearest_query_token": report.nearest_query_token.most_common(12),
                "matched_doc_token": report.matched_doc_token.most_common(12),
                "score_share": round(report.score_share, 4),
            }
    return out


def main() -> int:
    started = begin()
    warnings.simplefilter("ignore")
    if not all(data.available(name) for name in COLLECTIONS):
        print(
            json.dumps({"bench": "thinking", "skipped": "SciFact and Cranfield are needed: set LATEINT_DATA"})
        )
        return 0
    collections = {name: data.load(name) for name in COLLECTIONS}
    rows = []
    for label, config in variants():
        with tempfile.TemporaryDirectory() as tmp:
            # a process of its own, so that its wall time and peak memory are its own
            command = [sys.executable, "-m", "lateint.train", *arguments(config), "--skip-test", "--out", tmp]
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
            card = json.loads((Path(tmp) / "card.json").read_text())
            row = {
                "variant": label,
                "command": "python -m lateint.train " + " ".join(arguments(config)),
                "trains": config.trains,
                "trained_masks": config.query_mask_tokens,
                "trainable_parameters": card["trainable_parameters"],
                "train_seconds": card["wall_seconds"],
                "peak_memory_mb": card["peak_memory_mb"],
                "steps": card["steps"],
                **measure(Path(tmp), collections),
            }
        rows.append(row)
        print(json.dumps({k: v for k, v in row.items() if k != "mask_report"}), flush=True)
    record = {
        "bench": "thinking",
        "device": "CPU",
        "train_config": asdict(BASE),
        "trained_masks": TRAINED_MASKS,
        "collections": list(COLLECTIONS),
        "counts": list(COUNTS),
        "rows": rows,
        **provenance("make bench-thinking", started),
    }
    path = write("thinking", record)
    print(json.dumps({"bench": "thinking", "record": str(path), "wall_seconds": record["wall_seconds"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
