"""Which head to ship, chosen on development data, then reported once on test.

Trains two heads on the frozen MiniLM with the loss on MaxSim averaged over query
tokens (``score="mean"``, temperature 0.02) on SciFact's train split less a dev part
(``dev_fraction`` 0.2, the epoch kept by dev nDCG@10) and 3,000 title pairs, 5 epochs:
128-d from the PCA start and 384-d from the identity (zero-shot) start. Between each
start and its trained head lie weight-space interpolations (WiSE-FT).

Every head is scored exhaustively on development data only:
- SciFact dev: the train-split queries the training held out;
- Cranfield dev: one random half of Cranfield's queries (seed ``CRANFIELD_SEED``).

The rule (chapter 3 states it): Cranfield dev must not fall below the zero-shot start's;
of the heads that hold it, the best on SciFact dev wins. Then, once, the chosen head,
its zero-shot start and the fully trained 384-d head are reported on SciFact test and
on Cranfield's other half. The chosen head is retrained as the shipped default
(``lateint/heads/lateint-minilm-384``) with the command its card records, checked
against the head evaluated here, and its card gets the evaluation. The record is
written to ``lateint/experiments/records/heads.json``, which chapter 3 reads.

Run with ``make bench-heads`` (SciFact and Cranfield must be present; about 35 minutes
on 2 cores, most of it the three trainings).
"""

from __future__ import annotations

import json
import sys
import tempfile
import warnings
from dataclasses import asdict, replace
from pathlib import Path

import torch
from provenance import begin, provenance, write
from safetensors.torch import load_file

from lateint import data, load_encoder
from lateint.checkpoints import DEFAULT, HEADS, minilm_id
from lateint.encoder import Encoder
from lateint.evaluate import run_method
from lateint.train import TrainConfig, frozen_encoder, mix, start_weight, train

CRANFIELD_SEED = 0
MIXES = {384: (0.1, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.75), 128: (0.25, 0.5, 0.75)}
BASE = TrainConfig(score="mean", temperature=0.02, dev_fraction=0.2, title_pairs=3000)
CANDIDATES = (replace(BASE, dim=384, init="identity"), BASE)


def head(frozen: Encoder, weight: torch.Tensor, name: str) -> Encoder:
    projection = torch.nn.Linear(weight.shape[1], weight.shape[0], bias=False)
    projection.weight.data.copy_(weight)
    config = replace(frozen.config, dim=weight.shape[0], mask_punctuation=True)
    return Encoder(frozen.backbone, frozen.tokenizer, projection, config, name, minilm_id())


def metrics(encoder: Encoder, collection: data.Collection) -> dict:
    result = run_method("late", collection, encoder, timing_queries=0)
    return {k: round(v, 4) for k, v in result.metrics.items()}


def main() -> int:
    started = begin()
    warnings.simplefilter("ignore")
    if not all(data.available(name) for name in ("scifact", "cranfield")):
        print(json.dumps({"bench": "heads", "skipped": "SciFact and Cranfield are needed: set LATEINT_DATA"}))
        return 0
    cranfield_dev, cranfield_test = data.load("cranfield").halves(CRANFIELD_SEED)
    scifact_train, scifact_test = data.load("scifact", split="train"), data.load("scifact")
    frozen = frozen_encoder(BASE)
    hidden = frozen.backbone_corpus(scifact_test.doc_texts, scifact_test.fingerprint())["hidden"]
    rows, weights, dev_ids = [], {}, None

    def emit(label: str, weight: torch.Tensor, config: TrainConfig, alpha: float, **extra) -> None:
        encoder = head(frozen, weight, label)
        scores = {
            "scifact_dev": metrics(encoder, scifact_dev)["nDCG@10"],
            "cranfield_dev": metrics(encoder, cranfield_dev)["nDCG@10"],
        }
        rows.append({"head": label, "dim": config.dim, "init": config.init, "mix": alpha, **scores, **extra})
        weights[label] = (weight, config, alpha)
        print(json.dumps(rows[-1]), flush=True)

    for config in CANDIDATES:
        start = start_weight(config, hidden)
        with tempfile.TemporaryDirectory() as tmp:
            card = train(config, out=Path(tmp), progress=False, evaluate_test=False)
            trained = load_file(Path(tmp) / "head.safetensors")["projection.weight"]
        if dev_ids not in (None, card["data"]["dev_query_ids"]):
            raise RuntimeError("the two candidates held out different dev queries")
        dev_ids = card["data"]["dev_query_ids"]
        scifact_dev = scifact_train.with_queries(dev_ids)
        name = f"{config.dim}-d from {config.init}"
        emit(f"{name}, untrained", start, config, 0.0)
        emit(
            f"{name}, trained",
            trained,
            config,
            1.0,
            best_epoch=card["best_epoch"],
            train_seconds=card["wall_seconds"],
        )
        for alpha in MIXES[config.dim]:
            emit(f"{name}, {alpha:g} of the way to trained", mix(start, trained, alpha), config, alpha)

    zero_shot = next(r for r in rows if r["head"] == "384-d from identity, untrained")
    for r in rows:
        r["holds_cranfield"] = r["cranfield_dev"] >= zero_shot["cranfield_dev"]
    chosen = max(
        (r for r in rows if r["holds_cranfield"]), key=lambda r: (r["scifact_dev"], r["cranfield_dev"])
    )

    # test, once: the chosen head, its zero-shot start, the fully trained 384-d head
    reported = {chosen["head"], zero_shot["head"], "384-d from identity, trained"}
    for r in rows:
        if r["head"] in reported:
            encoder = head(frozen, weights[r["head"]][0], r["head"])
            r["test"] = {
                "scifact": metrics(encoder, scifact_test),
                "cranfield": metrics(encoder, cranfield_test),
            }
            print(json.dumps({"reported": r["head"], **r["test"]}), flush=True)

    n_dev, n_test = len(cranfield_dev.query_ids), len(cranfield_test.query_ids)
    shipped = ship(
        chosen,
        weights,
        {"scifact": scifact_dev, "cranfield dev half": cranfield_dev},
        {"scifact": scifact_test, "cranfield test half": cranfield_test},
    )
    record = {
        "bench": "heads",
        "rule": {
            "cranfield_dev_at_least": zero_shot["cranfield_dev"],
            "text": "Cranfield dev >= the zero-shot start's; of those, the best SciFact dev",
        },
        "splits": {
            "scifact_dev": f"{len(dev_ids)} of SciFact's {len(scifact_train.query_ids)} train queries, "
            f"held out by the training (seed {BASE.seed})",
            "cranfield_dev": f"{n_dev} of Cranfield's {n_dev + n_test} queries (seed {CRANFIELD_SEED})",
            "cranfield_test": f"the other {n_test}",
            "cranfield_seed": CRANFIELD_SEED,
            "scifact_test_queries": len(scifact_test.query_ids),
        },
        "chosen": chosen["head"],
        "shipped": shipped,
        "train_config": {
            k: v
            for k, v in asdict(BASE).items()
            if k in ("score", "temperature", "dev_fraction", "title_pairs", "epochs")
        },
        "rows": rows,
        **provenance("make bench-heads", started),
    }
    path = write("heads", record)
    print(
        json.dumps(
            {k: record[k] for k in ("bench", "rule", "chosen", "shipped", "wall_seconds")}
            | {"record": str(path)}
        )
    )
    return 0


def ship(chosen: dict, weights: dict, dev: dict, test: dict) -> dict:
    """Retrain the chosen head as the default with the command its card keeps, check it
    against the head evaluated here, and write its evaluation on the ``dev`` and
    ``test`` collections (by label) into its card."""
    weight, config, alpha = weights[chosen["head"]]
    out = HEADS / DEFAULT
    args = (
        f"--dim {config.dim} --init {config.init} --score {config.score} "
        f"--temperature {config.temperature:g} --dev-fraction {config.dev_fraction:g} "
        f"--title-pairs {config.title_pairs} --mix {alpha:g}"
    )
    command = f"python -m lateint.train {args} --skip-test --out lateint/heads/{DEFAULT}"
    card = train(replace(config, mix=alpha), out=out, progress=False, evaluate_test=False, command=command)
    shipped = load_file(out / "head.safetensors")["projection.weight"]
    difference = float((shipped - weight).abs().max())
    if difference > 1e-5:
        raise RuntimeError(f"the retrained default differs from the chosen head by {difference:.2e}")
    encoder = load_encoder(out)
    n_dev, n_test = len(dev["cranfield dev half"].query_ids), len(test["cranfield test half"].query_ids)
    card["data"]["never_used"] = f"SciFact test judgments; Cranfield's test half ({n_test} queries)"
    card["data"]["chosen_with"] = (
        f"SciFact dev ({len(dev['scifact'].query_ids)} held-out train queries) and Cranfield's dev half "
        f"({n_dev} queries): `make bench-heads`"
    )
    card["evaluation"] = {
        "dev": {label: metrics(encoder, c) for label, c in dev.items()},
        "test": {label: metrics(encoder, c) for label, c in test.items()},
        "how": "exhaustive MaxSim over every document; nDCG@10, R@100, MRR@10 (ir-measures)",
    }
    (out / "card.json").write_text(json.dumps(card, indent=1) + "\n")
    return {"head": DEFAULT, "max_weight_difference": difference, "command": command}


if __name__ == "__main__":
    sys.exit(main())
